"""The `campaign-service` command line: serve, the single roles, brand creation, replay, db migrations."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from runtime.settings import Settings

if TYPE_CHECKING:  # imported where used at run time: each command loads only what it needs
    import uvicorn

    from runtime.container import Container, SchemaPolicy


def _settings(args: argparse.Namespace, **forced: object) -> Settings:
    overrides = {}
    for name in ("host", "port", "data_dir"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "dev_clock", False):
        overrides["dev_clock"] = True
    return Settings(**{**overrides, **forced})


def _container(args: argparse.Namespace, *, schema: SchemaPolicy = "upgrade", **forced: object) -> Container:
    from runtime.container import build

    settings = _settings(args, **forced)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return build(settings, schema=schema)


def serve(
    args: argparse.Namespace,
    roles: tuple[str, ...] | None = None,
    with_api: bool = True,
    development: bool = False,
) -> int:
    """Run `roles` (default: all) and the API; `development` adds the sandbox outbox and dev clock."""
    import uvicorn

    from runtime.container import ROLES

    # The development routes show sandbox sends and move time: only `serve` passes development=True;
    # a production role (`api`, `worker`, ...) never has them, whatever the environment says.
    # serve and api apply pending migrations before anything reads the tables; the other roles
    # wait for them (SchemaBehind after a while): one deploy step migrates, the rest follow.
    from storage.schema import SchemaBehind

    try:
        container = _container(
            args,
            schema="upgrade" if with_api else "wait",
            development_routes=development,
            **({} if development else {"dev_clock": False}),
        )
    except SchemaBehind as behind:
        print(f"campaign-service: {behind}", file=sys.stderr, flush=True)
        return 1
    try:
        container.start(ROLES if roles is None else roles)
        if not with_api:
            print(f"campaign-service: running {', '.join(roles or ())}", flush=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: container.stop.set())
            container.stop.wait()
            return _exit_status(container)
        settings = container.settings
        config = uvicorn.Config(
            container.http_app(),
            host=settings.host,
            port=settings.port,
            log_level="warning",
            timeout_graceful_shutdown=3,  # a request stuck on a dead database must not hold up SIGTERM
        )
        server = _server_without_signal_capture(config)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: setattr(server, "should_exit", True))

        def announce() -> None:
            while not server.started and not server.should_exit:
                threading.Event().wait(0.05)
            if server.started:
                print(f"Campaign Service ready at http://{settings.host}:{settings.port}", flush=True)

        def stop_serving_when_the_roles_give_up() -> None:
            container.stop.wait()
            server.should_exit = True

        threading.Thread(target=announce, name="announce", daemon=True).start()
        threading.Thread(target=stop_serving_when_the_roles_give_up, name="give-up", daemon=True).start()
        server.run()
        return _exit_status(container) if server.started else 1
    finally:
        container.close()


def _exit_status(container: Container) -> int:
    """0 on a requested stop; 1, with the reason on stderr, when the roles could not go on."""
    if container.fatal is None:
        return 0
    print(f"campaign-service: {container.fatal}", file=sys.stderr, flush=True)
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


def create_brand(args: argparse.Namespace) -> int:
    from commands.credits.brands import create_brand as create
    from domain.credit_ledger import Plan

    container = _container(args)
    try:
        brand = create(container.app, container.db, args.name, Plan(args.plan), container.clock.now())
    finally:
        container.close()
    print(json.dumps({"brand_id": str(brand.brand_id), "api_key": brand.api_key}))
    return 0


def replay(args: argparse.Namespace) -> int:
    from projections.runner import ReadModelRunner, position_of
    from runtime.container import PROJECTIONS

    container = _container(args)
    try:
        chosen = [p for p in PROJECTIONS if args.projection in (None, p.name)]
        if not chosen:
            names = ", ".join(p.name for p in PROJECTIONS)
            print(f"campaign-service: no projection {args.projection!r}; there are: {names}", file=sys.stderr)
            return 2
        for projection in chosen:

            def progress(done: int, total: int, name: str = projection.name) -> None:
                width = 30
                filled = width * done // max(total, 1)
                print(
                    f"\r{name} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
                    end="",
                    file=sys.stderr,
                    flush=True,
                )

            ReadModelRunner(container.app, container.db, projection, 2000).rebuild(progress)
            through = position_of(container.db, projection.name)
            print(f"\n{projection.name}: rebuilt through log position {through}", file=sys.stderr)
    finally:
        container.close()
    return 0


def parked_list(args: argparse.Namespace) -> int:
    from storage import parked

    container = _container(args)
    try:
        rows = parked.listing(container.db, args.follower)
    finally:
        container.close()
    if args.format == "json":
        print(json.dumps(rows, default=str, indent=2))
        return 0
    if not rows:
        print("no parked items" + (f" for {args.follower}" if args.follower else ""))
        return 0
    print(f"{'id':>5}  {'follower':<28} {'item':<38} {'brand':<36} {'status':<8} {'tries':>5}  last seen")
    for row in rows:
        print(
            f"{row['id']:>5}  {row['follower']:<28} {row['item']:<38} {row['brand_id'] or '-'!s:<36} "
            f"{row['status']:<8} {row['attempts']:>5}  {row['last_seen']:%Y-%m-%d %H:%M:%S}\n"
            f"       first seen {row['first_seen']:%Y-%m-%d %H:%M:%S}: {row['error']}"
        )
    return 0


def parked_retry(args: argparse.Namespace) -> int:
    from storage import parked

    if not args.all and args.id is None:
        print("campaign-service: name a parked item's ID, or --all", file=sys.stderr)
        return 2
    container = _container(args)
    try:
        handed = parked.hand_back(container.db, None if args.all else [args.id])
    finally:
        container.close()
    if not handed and not args.all:
        print(f"campaign-service: no parked item {args.id}", file=sys.stderr)
        return 1
    print(f"handed back {handed} item(s); their followers apply them again on their next pass")
    return 0


@contextlib.contextmanager
def _database_url(args: argparse.Namespace) -> Iterator[str]:
    """The database the other commands use (DATABASE_URL, else the embedded one under the data
    dir), without building the rest of the service."""
    from runtime.embedded_postgres import EmbeddedPostgres

    settings = _settings(args)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.data_dir, durable=settings.durable)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def db_upgrade(args: argparse.Namespace) -> int:
    from storage.schema import status, upgrade

    with _database_url(args) as url:
        done = upgrade(url)
        current = [state.id for state in status(url) if state.applied_at is not None]
    for migration_id in done:
        print(f"applied {migration_id}")
    if not done:
        print(f"nothing to apply: the schema is at {current[-1] if current else 'no migration'}")
    return 0


def db_status(args: argparse.Namespace) -> int:
    from storage.schema import status

    with _database_url(args) as url:
        states = status(url)
    width = max([len(state.id) for state in states] + [len("migration")])
    print(f"{'migration':<{width}}  {'state':<8} applied at (UTC)")
    for state in states:
        word = "pending" if state.applied_at is None else "applied"
        when = f"{state.applied_at:%Y-%m-%d %H:%M:%S}" if state.applied_at else "-"
        note = "" if state.known else "  (not in this release: applied by a newer one)"
        print(f"{state.id:<{width}}  {word:<8} {when}{note}")
    return 0


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
    worker = with_data_dir(commands.add_parser("worker", help="one channel's send worker"))
    worker.add_argument("--channel", choices=["email", "sms", "voicemail"], required=True)
    worker.set_defaults(func=lambda a: serve(a, roles=(f"worker:{a.channel}",), with_api=False))
    for role in ("relay", "projector"):
        single = with_data_dir(commands.add_parser(role, help=f"the {role} alone"))
        single.set_defaults(func=lambda a, r=role: serve(a, roles=(r,), with_api=False))
    scheduler = with_data_dir(
        commands.add_parser("scheduler", help="enrollment, follow-ups, sweeping, daily reset and settlement")
    )
    scheduler.set_defaults(
        func=lambda a: serve(
            a, roles=("enroller", "follow_ups", "sweeper", "cron", "settlement"), with_api=False
        )
    )

    brand = commands.add_parser("brand", help="brands and their API keys")
    brand_commands = brand.add_subparsers(dest="brand_command", required=True)
    create = with_data_dir(brand_commands.add_parser("create", help="create a brand with its plan's credits"))
    create.add_argument("name")
    create.add_argument("--plan", choices=["basic", "standard", "premium"], required=True)
    create.set_defaults(func=create_brand)

    rebuild = with_data_dir(commands.add_parser("replay", help="rebuild read models from the event store"))
    rebuild.add_argument("--projection", help="one read model by name (default: all)")
    rebuild.set_defaults(func=replay)

    schema = commands.add_parser("db", help="the database schema's migrations")
    schema_commands = schema.add_subparsers(dest="db_command", required=True)
    upgrading = with_data_dir(schema_commands.add_parser("upgrade", help="apply pending migrations"))
    upgrading.set_defaults(func=db_upgrade)
    listing = with_data_dir(schema_commands.add_parser("status", help="list applied and pending migrations"))
    listing.set_defaults(func=db_status)

    setaside = commands.add_parser("parked", help="items a follower or periodic job could not process")
    setaside_commands = setaside.add_subparsers(dest="parked_command", required=True)
    listed = with_data_dir(setaside_commands.add_parser("list", help="list parked items with their errors"))
    listed.add_argument("--follower", help="only this follower's items (e.g. projection:campaign_summaries)")
    listed.add_argument("--format", choices=["table", "json"], default="table")
    listed.set_defaults(func=parked_list)
    retry = with_data_dir(setaside_commands.add_parser("retry", help="hand parked items back after a fix"))
    retry.add_argument("id", nargs="?", type=int, help="the item's id from `parked list`")
    retry.add_argument("--all", action="store_true", help="every parked item")
    retry.set_defaults(func=parked_retry)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        status: int = args.func(args)  # each subcommand's function (set_defaults above) returns one
        return status
    except KeyboardInterrupt:
        return 130
    except ValueError as bad:
        print(f"campaign-service: {bad}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
