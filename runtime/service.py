"""A running service: the built parts (runtime/bootstrap.py), the supervisor that runs the chosen
roles on them (runtime/roles.py, runtime/supervisor.py), its health (runtime/health.py), and the
HTTP API built on top. `build_service` is what every command and test starts from; `start(roles)`
runs roles by their registered names, and `close` stops them and closes everything in bounded time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import TYPE_CHECKING

from commands.application import CampaignApplication
from commands.clock import Clock
from commands.sending.providers import Provider
from consumers.background import run_periodically
from consumers.providers import sandbox
from consumers.transport import Transport
from runtime import roles
from runtime.bootstrap import PROJECTIONS, Parts, SchemaPolicy, build
from runtime.health import Health
from runtime.metrics import exposition
from runtime.settings import Settings
from runtime.supervisor import Supervisor
from storage import parked
from storage.database import Database

if TYPE_CHECKING:  # the API is imported only by the processes that serve it, not by a channel's
    from fastapi import FastAPI

    from api.deps import Services
    from api.gate import Admission


@dataclass(frozen=True)
class Service:
    """One process's service: its parts, and the supervisor of the roles it runs on them. The parts
    most callers use (settings, event store, database, clock, transport) are read through it."""

    parts: Parts
    supervisor: Supervisor = field(default_factory=Supervisor)

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    @property
    def store(self) -> CampaignApplication:
        return self.parts.store

    @property
    def db(self) -> Database:
        return self.parts.db

    @property
    def clock(self) -> Clock:
        return self.parts.clock

    @property
    def transport(self) -> Transport:
        return self.parts.transport

    @cached_property
    def health(self) -> Health:
        head = self.store.recorder.max_notification_id
        return Health(self.db, self.transport, self.supervisor, lambda: head() or 0)

    def start(self, names: Iterable[str] = roles.IN_PROCESS) -> None:
        """Run the roles of these names (runtime/roles.py), and the embedded server's watchdog."""
        chosen = roles.chosen(names)
        server = self.parts.embedded
        if server is not None and server.owned:
            self.supervisor.watch_database(server, self.settings.embedded_restart_timeout)
        for role in chosen:
            for task in role.tasks(self.parts):
                self.supervisor.run(task)

    def serving_roles(self) -> tuple[str, ...]:
        return roles.serving_roles(self.parts)

    def http_app(self) -> FastAPI:
        from api.app import create_app

        return create_app(self.services())

    def services(self) -> Services:
        from api.deps import Services

        # Development routes show every brand's sandbox sends and move time: only `serve` asks for them.
        development = self.settings.development_routes
        return Services(
            store=self.store,
            db=self.db,
            clock=self.clock,
            admission=self.admission,
            read_outbox=partial(sandbox.outbox, self.db) if development else None,
            dev_clock=self.parts.dev_clock if development else None,
            ready=self.health.readiness,
            metrics=lambda: exposition(self.health.metrics_registry),
            parked=lambda: parked.counts(self.db),
            projections=tuple(p.name for p in PROJECTIONS),
            default_phone_region=self.settings.default_phone_region,
            credential_cipher=self.parts.credential_cipher,
            sending_providers=frozenset(self.parts.providers),
            unsubscribe_tokens=self.parts.unsubscribe_tokens,
            tracking_tokens=self.parts.tracking_tokens,
            public_base_url=self.settings.public_url,
            admin_api_key=key.get_secret_value() if (key := self.settings.admin_api_key) else None,
        )

    @cached_property
    def admission(self) -> Admission:
        """The request gate's parts for every app this process serves, and the watch that keeps its
        memory of keys true (decision record 20): started here, stopped with the roles."""
        from api.gate import Admission
        from api.key_watch import KeyUses, KeyWatch
        from api.known_keys import KnownKeys
        from api.rate_limits import HeavyWork, Rate, TokenBuckets
        from api.suspensions import SuspendedBrands
        from commands.access.key_lookup import key_holder
        from commands.credits.brand_standing import suspended_brands

        settings, stop = self.settings, self.supervisor.stop
        interval = settings.key_check_interval
        known = KnownKeys(trust_for=2.5 * interval)  # a pass may be late by a pass and a half
        rates = {
            plan: Rate(
                getattr(settings, f"rate_limit_{plan}_per_second"),
                getattr(settings, f"rate_limit_{plan}_burst"),
            )
            for plan in ("basic", "standard", "premium")
        }
        uses, buckets = KeyUses(), TokenBuckets(rates)
        watch = KeyWatch(self.db, known, uses, buckets)
        self.supervisor.spawn(
            "key-watch", partial(run_periodically, "key-watch", watch.run_once, stop, interval)
        )
        heavy = HeavyWork(settings.heavy_requests_per_brand)
        suspended = SuspendedBrands(partial(suspended_brands, self.db))
        return Admission(partial(key_holder, self.db), known, uses, buckets, heavy, self.clock.now, suspended)

    def close(self, timeout: float = 5.0) -> None:
        """Stop the roles and close the pools within about `timeout` seconds (see
        `supervisor.stop_within`), then the embedded server."""
        self.supervisor.close(self.parts.close_connections, timeout)
        if self.parts.embedded is not None:
            self.parts.embedded.stop()


def build_service(
    settings: Settings,
    *,
    schema: SchemaPolicy = "upgrade",
    providers: Callable[[Database], Mapping[str, Provider]] | None = None,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> Service:
    """The parts the settings describe (`bootstrap.build`: tests hand in fakes), not yet running."""
    return Service(build(settings, schema=schema, providers=providers, clock=clock, transport=transport))
