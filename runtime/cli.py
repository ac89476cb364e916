"""The `campaign-service` command line: its parser, `serve` and the single roles; the operators'
commands (brands, replay, parked items, schema migrations) are in runtime/operations.py and
runtime/account_commands.py (a brand's account: plan, standing, purchases), and
`gmail authorize` in runtime/gmail_authorization.py."""

from __future__ import annotations

import argparse
import contextlib
import gc
import signal
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING
from uuid import UUID

from domain.errors import NotFound, ServiceError
from runtime import (
    account_commands,
    gmail_authorization,
    health_command,
    history_commands,
    key_commands,
    operations,
)
from runtime.child_processes import stop_when_orphaned
from runtime.cli_settings import missing_settings, service_for, settings_for
from runtime.logs import configure_logging
from runtime.roles import CHANNELS, ROLES, TIMED_JOBS, channel_roles

if TYPE_CHECKING:  # imported where used at run time: each command loads only what it needs
    import uvicorn

    from runtime.service import Service


def serve(
    args: argparse.Namespace,
    roles: tuple[str, ...] | None = None,
    with_api: bool = True,
    development: bool = False,
    parent: int | None = None,
) -> int:
    """Run `roles` (by their names in runtime/roles.py; default: all, as `roles.serving_roles` places
    them) and the API;
    `development` adds the sandbox outbox and dev clock; `parent`: stop when that process is gone."""
    import uvicorn

    # The development routes show sandbox sends and move time: only `serve` passes development=True;
    # a production role (`api`, `worker`, ...) never has them, whatever the environment says.
    # serve and api apply pending migrations before anything reads the tables; the other roles
    # wait for them (SchemaBehind after a while): one deploy step migrates, the rest follow.
    from storage.schema import SchemaBehind

    if parent is None and (missing := missing_settings(args)):  # a child takes what serve resolved
        print(f"campaign-service: {missing}", file=sys.stderr, flush=True)
        return 2
    if development:  # serve: its child processes' counts are shown by its /metrics (runtime/metrics.py)
        from runtime.metrics import count_across_processes

        count_across_processes(settings_for(args).data_dir)
    try:
        service = service_for(
            args,
            schema="upgrade" if with_api else "wait",
            development_routes=development,
            **({} if development else {"dev_clock": False}),
        )
    except SchemaBehind as behind:
        print(f"campaign-service: {behind}", file=sys.stderr, flush=True)
        return 1
    try:
        port = service.settings.metrics_port
        if port is not None and parent is None:  # before the roles start: a port taken stops nothing running
            from runtime.metrics import serve_metrics

            try:
                health = service.health
                serve_metrics(service.settings.host, port, health.metrics_registry, health.readiness)
            except OSError as taken:
                print(f"campaign-service: METRICS_PORT {port}: {taken}", file=sys.stderr, flush=True)
                return 2
        service.start(service.serving_roles() if roles is None else roles)
        if not with_api:
            gc.freeze()  # as below for the API: what the role built stays; a collection skips it
            if parent is None:  # a child's process is announced by the serve that started it
                print(f"campaign-service: running {', '.join(roles or ())}", flush=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: service.supervisor.stop.set())
            if parent is not None:
                orphaned = partial(stop_when_orphaned, parent, service.supervisor.stop)
                threading.Thread(target=orphaned, name="parent-watch", daemon=True).start()
            service.supervisor.stop.wait()
            return _exit_status(service)
        settings = service.settings
        config = uvicorn.Config(
            service.http_app(),
            host=settings.host,
            port=settings.port,
            log_config=None,  # runtime/logs.py set logging up: the access log goes out as every line does
            log_level=None,
            access_log=True,
            timeout_graceful_shutdown=3,  # a request stuck on a dead database must not hold up SIGTERM
        )
        server = _server_without_signal_capture(config)
        # Everything built so far (the modules, the SDKs' schemas, the app) lives as long as the
        # process: out of the collector's sight, a full collection no longer walks it, which took
        # 80 ms every few seconds under steady requests (bench reads, p99).
        gc.freeze()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: setattr(server, "should_exit", True))

        def announce() -> None:
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                print(f"Campaign Service ready at http://{settings.host}:{settings.port}", flush=True)

        def stop_serving_when_the_roles_give_up() -> None:
            service.supervisor.stop.wait()
            server.should_exit = True

        threading.Thread(target=announce, name="announce", daemon=True).start()
        threading.Thread(target=stop_serving_when_the_roles_give_up, name="give-up", daemon=True).start()
        server.run()
        return _exit_status(service) if server.started else 1
    finally:
        service.close()


def _exit_status(service: Service) -> int:
    """0 on a requested stop; 1, with the reason on stderr, when the roles could not go on."""
    fatal = service.supervisor.fatal
    if fatal is None:
        return 0
    print(f"campaign-service: {fatal}", file=sys.stderr, flush=True)
    return 1


def _server_without_signal_capture(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn's server, minus its signal capture: that re-raises SIGTERM after shutdown and would
    kill the process before the background roles and the embedded PostgreSQL are stopped."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield

    return Server(config)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="campaign-service", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    def with_data_dir(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
        return p

    run = with_data_dir(commands.add_parser("serve", help="everything in one process"))
    run.add_argument("--host")
    run.add_argument("--port", type=int)
    run.add_argument("--dev-clock", action="store_true", help="expose /v1/dev/clock to move time forward")
    run.set_defaults(func=lambda a: serve(a, development=True))

    api = with_data_dir(commands.add_parser("api", help="the HTTP API alone"))
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(func=lambda a: serve(a, roles=()))
    # The single roles' commands run roles of the registry (runtime/roles.py) by name.
    worker = with_data_dir(commands.add_parser("worker", help="one channel's send worker"))
    worker.add_argument("--channel", choices=CHANNELS, required=True)
    worker.set_defaults(func=lambda a: serve(a, roles=(f"{a.channel}_worker",), with_api=False))
    channel = with_data_dir(
        commands.add_parser(
            "channel", help="one channel's relay and send worker, in process (serve starts one per channel)"
        )
    )
    channel.add_argument("--channel", choices=CHANNELS, required=True)
    channel.add_argument("--parent", type=int, help="stop when the process with this id is gone")
    channel.set_defaults(
        func=lambda a: serve(a, roles=channel_roles(a.channel), with_api=False, parent=a.parent)
    )
    for command, role in (("relay", "relays"), ("projector", "projector")):
        single = with_data_dir(commands.add_parser(command, help=f"{ROLES[role].runs} alone"))
        single.add_argument("--parent", type=int, help="stop when the process with this id is gone")
        single.set_defaults(func=lambda a, r=role: serve(a, roles=(r,), with_api=False, parent=a.parent))
    timed_jobs = ", ".join(ROLES[name].runs for name in TIMED_JOBS)
    scheduler = with_data_dir(commands.add_parser("scheduler", help=timed_jobs))
    scheduler.set_defaults(func=lambda a: serve(a, roles=TIMED_JOBS, with_api=False))

    brand = commands.add_parser("brand", help="brands and their API keys")
    brand_commands = brand.add_subparsers(dest="brand_command", required=True)
    create = with_data_dir(brand_commands.add_parser("create", help="create a brand with its plan's credits"))
    create.add_argument("name")
    create.add_argument("--plan", choices=["basic", "standard", "premium"], required=True)
    create.set_defaults(func=operations.create_brand)
    keys = brand_commands.add_parser("keys", help="a brand's API keys")
    brand_key_commands = keys.add_subparsers(dest="keys_command", required=True)
    issuing = with_data_dir(brand_key_commands.add_parser("create", help="a new key, printed once as JSON"))
    issuing.add_argument("brand_id", type=UUID, metavar="ID")
    issuing.add_argument("--name", default="command line", help="what the key is for")
    issuing.set_defaults(func=operations.create_key)
    listing_keys = with_data_dir(
        brand_key_commands.add_parser("list", help="the brand's keys, never a secret")
    )
    listing_keys.add_argument("brand_id", type=UUID, metavar="ID")
    listing_keys.set_defaults(func=operations.list_keys)
    revoking = with_data_dir(
        brand_key_commands.add_parser("revoke", help="revoke a key (never the last one)")
    )
    revoking.add_argument("brand_id", type=UUID, metavar="ID")
    revoking.add_argument("key_id", type=UUID, metavar="KEY_ID")
    revoking.set_defaults(func=operations.revoke_key)
    keeping = with_data_dir(
        brand_commands.add_parser(
            "retention", help="how many days message bodies and provider payloads are kept (default 90)"
        )
    )
    keeping.add_argument("brand_id", type=UUID, metavar="ID")
    keeping.add_argument("--message-days", type=int, metavar="N", help="set it (1..3650); without: show it")
    keeping.set_defaults(func=operations.message_retention)
    account_commands.add_commands(commands, brand_commands, with_data_dir)
    people = commands.add_parser("contacts", help="a brand's contacts as persons")
    people_commands = people.add_subparsers(dest="contacts_command", required=True)
    erasing = with_data_dir(
        people_commands.add_parser(
            "erase", help="erase a person: their data unreadable everywhere, history intact, still suppressed"
        )
    )
    erasing.add_argument("--brand", type=UUID, metavar="ID", required=True)
    erasing.add_argument("--address", metavar="EMAIL_OR_PHONE", required=True)
    erasing.set_defaults(func=operations.erase_contact)

    rebuild = with_data_dir(commands.add_parser("replay", help="rebuild read models from the event store"))
    rebuild.add_argument("--projection", help="one read model by name (default: all)")
    rebuild.set_defaults(func=operations.replay)
    history_commands.add_commands(commands)

    schema = commands.add_parser("db", help="the database schema's migrations")
    schema_commands = schema.add_subparsers(dest="db_command", required=True)
    upgrading = with_data_dir(schema_commands.add_parser("upgrade", help="apply pending migrations"))
    upgrading.set_defaults(func=operations.db_upgrade)
    listing = with_data_dir(schema_commands.add_parser("status", help="list applied and pending migrations"))
    listing.set_defaults(func=operations.db_status)

    setaside = commands.add_parser("parked", help="items a follower or periodic job could not process")
    setaside_commands = setaside.add_subparsers(dest="parked_command", required=True)
    listed = with_data_dir(setaside_commands.add_parser("list", help="list parked items with their errors"))
    listed.add_argument("--follower", help="only this follower's items (e.g. projection:campaign_summaries)")
    listed.add_argument("--format", choices=["table", "json"], default="table")
    listed.set_defaults(func=operations.parked_list)
    retry = with_data_dir(setaside_commands.add_parser("retry", help="hand parked items back after a fix"))
    retry.add_argument("id", nargs="?", type=int, help="the item's id from `parked list`")
    retry.add_argument("--all", action="store_true", help="every parked item")
    retry.set_defaults(func=operations.parked_retry)

    gmail_authorization.add_commands(commands)
    key_commands.add_commands(commands)
    health_command.add_commands(commands)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = settings_for(args)
        configure_logging(settings.log_level, settings.log_format)
        status: int = args.func(args)  # each subcommand's function (set_defaults above) returns one
        return status
    except KeyboardInterrupt:
        return 130
    except ValueError as bad:
        print(f"campaign-service: {bad}", file=sys.stderr)
        return 2
    except ServiceError as refused:  # a use case's refusal: an unknown brand or key, the last key
        missing = " does not exist" if isinstance(refused, NotFound) else ""
        print(f"campaign-service: {refused}{missing}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
