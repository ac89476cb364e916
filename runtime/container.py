"""The composition root: builds every part from the settings and runs the background roles.

Nothing is built at import time. `Container.start(roles)` runs the chosen roles on threads: the
projector, the relay, the enrollment process and one worker per channel; the API is built on top.
`serving_roles` is what `serve` runs: the same, except that with the in-process transport each
channel's relay and worker, and the projector, run in child processes of their own
(runtime/child_processes.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from commands.application import CampaignApplication
from commands.audience.unsubscribe_tokens import UnsubscribeTokens, signing_secret
from commands.clock import Clock, DevClock, SystemClock
from commands.sending.credentials import CredentialCipher, cipher_for, decrypt_credentials, load_or_create_key
from commands.sending.enroll_contacts import enroll_pending_campaigns
from commands.sending.personalisation import Personaliser, load_personaliser
from commands.sending.providers import Provider
from commands.tracking.tracked_mail import MailTracking
from commands.tracking.tracking_tokens import TrackingTokens
from consumers.background import run_periodically
from consumers.channel_worker import ChannelWorker
from consumers.providers import gmail, sandbox, twilio
from consumers.relay import Relay
from consumers.timed_jobs import DailyCron, FollowUpProcessor, Settlement, Sweeper
from consumers.transport import Transport
from consumers.transport.in_process import InProcessTransport
from consumers.transport.kafka import KafkaTransport
from consumers.transport.messages import SEND_TOPICS
from projections import runner
from projections.campaign_leads import CampaignLeads
from projections.campaign_summaries import CampaignSummaries
from projections.credit_ledger_entries import CreditLedgerEntries
from projections.due_steps import DueSteps
from projections.projector import Projector
from projections.step_executions import StepExecutions
from runtime.child_processes import PROJECTOR, ChildProcess
from runtime.database_watchdog import watch_embedded_postgres
from runtime.embedded_postgres import EmbeddedPostgres
from runtime.lifecycle import readiness_checks, stop_within
from runtime.metrics import exposition, registry_for
from runtime.settings import Settings
from storage import parked
from storage.database import Database, event_store_env
from storage.schema import upgrade as upgrade_schema
from storage.schema import wait_until_current

if TYPE_CHECKING:  # the API is imported only by the processes that serve it, not by a channel's
    from fastapi import FastAPI

    from api.deps import Services
    from api.gate import Admission
    from commands.sending.providers import Provider

log = logging.getLogger(__name__)

ROLES = (
    "projector",
    "relay",
    "enroller",
    "follow_ups",
    "sweeper",
    "cron",
    "settlement",
    "gmail_replies",
    "worker:email",
    "worker:sms",
    "worker:voicemail",
)
PROJECTIONS: list[runner.ReadModel] = [
    CampaignSummaries(),
    DueSteps(),
    StepExecutions(),
    CampaignLeads(),
    CreditLedgerEntries(),
]
SchemaPolicy = Literal["upgrade", "wait", "skip"]


@dataclass
class Container:
    settings: Settings
    app: CampaignApplication
    db: Database
    clock: Clock
    transport: Transport
    providers: Mapping[str, Provider]
    embedded: EmbeddedPostgres | None = None
    # CREDENTIALS_KEY; else, embedded only, a key kept in the data dir; else none (nothing stored).
    credential_cipher: CredentialCipher | None = None
    unsubscribe_tokens: UnsubscribeTokens | None = None  # signs and reads the /u/{token} links
    tracking_tokens: TrackingTokens | None = None  # signs and reads the /t/o and /t/c links (same secret)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    fatal: str | None = None  # why the roles stopped on their own (serve exits non-zero with it)
    # Passes begun and passes completed per periodic role (one thread per name writes each).
    begun: Counter[str] = field(default_factory=Counter)
    passes: Counter[str] = field(default_factory=Counter)
    # What a child process gets to run as this one does: these settings with the database and keys
    # this process resolved (the embedded server's URL, the key files of its data folder).
    child_settings: Settings | None = None
    children: list[ChildProcess] = field(default_factory=list)

    @property
    def dev_clock(self) -> DevClock | None:
        return self.clock if isinstance(self.clock, DevClock) else None

    @cached_property
    def personaliser(self) -> Personaliser:
        return load_personaliser(self.settings.personaliser, self.settings.personaliser_timeout)

    def services(self) -> Services:
        from api.deps import Services

        # Development routes show every brand's sandbox sends and move time: only `serve` asks for them.
        development = self.settings.development_routes
        return Services(
            app=self.app,
            db=self.db,
            clock=self.clock,
            admission=self.admission,
            read_outbox=partial(sandbox.outbox, self.db) if development else None,
            dev_clock=self.dev_clock if development else None,
            ready=self.readiness,
            metrics=lambda: exposition(self.metrics_registry),
            parked=lambda: parked.counts(self.db),
            projections=tuple(p.name for p in PROJECTIONS),
            default_phone_region=self.settings.default_phone_region,
            credential_cipher=self.credential_cipher,
            sending_providers=frozenset(self.providers),
            unsubscribe_tokens=self.unsubscribe_tokens,
            tracking_tokens=self.tracking_tokens,
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

        interval = self.settings.key_check_interval
        known = KnownKeys(trust_for=2.5 * interval)  # a pass may be late by a pass and a half
        rates = {
            plan: Rate(
                getattr(self.settings, f"rate_limit_{plan}_per_second"),
                getattr(self.settings, f"rate_limit_{plan}_burst"),
            )
            for plan in ("basic", "standard", "premium")
        }
        uses, buckets = KeyUses(), TokenBuckets(rates)
        watch = KeyWatch(self.db, known, uses, buckets)
        self._spawn("key-watch", partial(run_periodically, "key-watch", watch.run_once, self.stop, interval))
        heavy = HeavyWork(self.settings.heavy_requests_per_brand)
        suspended = SuspendedBrands(partial(suspended_brands, self.db))
        return Admission(partial(key_holder, self.db), known, uses, buckets, heavy, self.clock.now, suspended)

    def http_app(self) -> FastAPI:
        from api.app import create_app

        return create_app(self.services())

    def readiness(self) -> dict[str, bool]:
        return readiness_checks(
            self.db,
            self.transport,
            self.threads,
            gave_up=self.fatal is not None,
            children_alive=all(child.running() for child in self.children),
        )

    @cached_property
    def metrics_registry(self) -> CollectorRegistry:
        """What /metrics shows (runtime/metrics.py): this process's counts and the database's figures."""
        return registry_for(self.db, lambda: self.app.recorder.max_notification_id() or 0)

    def start(self, roles: tuple[str, ...] = ROLES) -> None:
        interval = self.settings.poll_interval
        server = self.embedded
        if server is not None and server.owned:
            after = self.settings.embedded_restart_timeout
            self._spawn(
                "database-watchdog", partial(watch_embedded_postgres, server, self.stop, self._give_up, after)
            )
        for role in roles:
            if role == "projector":
                size = self.settings.batch_size * 2
                runners = [runner.ReadModelRunner(self.app, self.db, p, size) for p in PROJECTIONS]
                projector = Projector(self.app, self.db, runners, size)
                self._spawn(role, self._periodic(role, projector.run_once, interval))
            elif role == "relay" or role.startswith("relay:"):
                wanted = None if role == "relay" else role.split(":", 1)[1]
                for relay in self.relays():
                    if wanted is None or relay.channels == {wanted}:
                        self._spawn(relay.name, self._periodic(relay.name, relay.run_once, interval))
            elif role.startswith("process:"):
                child = ChildProcess(role.split(":", 1)[1], self.child_environment(), self.stop)
                self.children.append(child)
                self._spawn(role, child.supervise)
            elif role in self.periodic_jobs():
                work, period = self.periodic_jobs()[role]
                nap = self.dev_clock.nap if self.dev_clock else None
                self._spawn(role, self._periodic(role, work, period, nap))
            elif role.startswith("worker:"):
                worker = self.channel_worker(role.split(":", 1)[1])
                self._spawn(role, partial(worker.run_forever, self.stop))
            else:
                raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)}")

    def serving_roles(self) -> tuple[str, ...]:
        """Every role; with the in-process transport and no dev clock (whose time lives in this
        process's memory), each channel's relay and worker, and the projector, as processes of
        their own."""
        if (
            isinstance(self.transport, KafkaTransport)
            or self.dev_clock
            or not self.settings.channel_processes
        ):
            return ROLES
        kept = tuple(r for r in ROLES if r not in ("relay", PROJECTOR) and not r.startswith("worker:"))
        return kept + tuple(f"process:{role}" for role in (*SEND_TOPICS, PROJECTOR))

    def child_environment(self) -> dict[str, str]:
        if self.child_settings is None:
            raise ValueError("this container was not built from settings a child process can take")
        # METRICS_PORT is serve's alone: a child's counts reach serve's /metrics (runtime/metrics.py)
        inherited = {name: value for name, value in os.environ.items() if name != "METRICS_PORT"}
        return {**inherited, **self.child_settings.environment()}

    def relays(self) -> list[Relay]:
        """For Kafka, one relay of every channel's dispatches (the broker keeps what is unhandled,
        so it never waits for a worker) and one of every event to `campaign.events`, apart so that
        sends never wait for the feed; in process one per channel, as each waits until its
        channel's worker handled its batch: a slow provider then holds back only its own channel's
        dispatches. Each starts where the single relay of earlier releases stood, and each takes its
        own copy of what that relay parked."""
        kafka = isinstance(self.transport, KafkaTransport)
        heirs = ["relay:sends", "relay:feed"] if kafka else [f"relay:{channel}" for channel in SEND_TOPICS]
        relay = partial(Relay, self.app, self.db, self.transport, resume_from="relay", heirs=heirs)
        if kafka:
            return [
                relay(publish_events=False, name="relay:sends"),
                relay(publish_events=True, name="relay:feed", channels=()),
            ]
        return [
            relay(publish_events=False, name=f"relay:{channel}", channels=(channel,))
            for channel in SEND_TOPICS
        ]

    def channel_worker(self, channel: str) -> ChannelWorker:
        """The worker of one channel, wired to this container's providers, clock, personaliser and
        email tracking."""
        tokens = self.tracking_tokens
        tracking = MailTracking(tokens, self.settings.public_url) if tokens is not None else None
        return ChannelWorker(
            channel,
            self.app,
            self.db,
            self.transport,
            self.providers,
            self.clock.now,
            self.personaliser,
            tracking,
        )

    def periodic_jobs(self) -> dict[str, tuple[Callable[[], int], float]]:
        """The timed roles: what each does per pass, and its idle period in seconds."""
        now = self.clock.now
        return {
            "enroller": (lambda: enroll_pending_campaigns(self.app, self.db, now()), 0.2),
            "follow_ups": (FollowUpProcessor(self.app, self.db, now, self.settings.batch_size).tick, 1.0),
            "sweeper": (Sweeper(self.app, self.db, now, self.settings.dispatch_lease_seconds).tick, 30.0),
            "cron": (DailyCron(self.app, self.db, now).tick, 30.0),
            "settlement": (Settlement(self.app, self.db, now).tick, 0.5),
            "gmail_replies": (self._gmail_replies(), self.settings.gmail_reply_poll_seconds),
        }

    def _gmail_replies(self) -> Callable[[], int]:
        """Reads the Gmail mailboxes the Gmail adapter sends from; nothing to do without that adapter."""
        adapter = self.providers.get("gmail")
        if not isinstance(adapter, gmail.GmailProvider):
            return lambda: 0
        return gmail.ReplyPoller(self.app, self.db, adapter.sessions, adapter.cipher, self.clock.now).tick

    def _periodic(
        self,
        name: str,
        work: Callable[[], int],
        interval: float,
        nap: Callable[[float], None] | None = None,
    ) -> Callable[[], None]:
        def counted() -> int:
            self.begun[name] += 1
            return work()

        def passed() -> None:
            self.passes[name] += 1

        return partial(run_periodically, name, counted, self.stop, interval, nap, passed)

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _give_up(self, reason: str) -> None:
        log.critical("stopping: %s", reason)
        self.fatal = reason
        self.stop.set()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the roles and close the pools within about `timeout` seconds (see `stop_within`),
        then the embedded server."""
        self.stop.set()
        stop_within(self.threads, self._close_connections, timeout)
        if self.embedded is not None:
            self.embedded.stop()

    def _close_connections(self) -> None:
        self.transport.close()
        self.app.close()
        self.db.close()


def build(
    settings: Settings,
    *,
    schema: SchemaPolicy = "upgrade",
    providers: Callable[[Database], Mapping[str, Provider]] | None = None,
    clock: Clock | None = None,
    transport: Transport | None = None,
) -> Container:
    """Everything the settings describe; tests hand in fakes for the providers, clock or transport.

    `schema`: "upgrade" applies pending migrations (serve, api, tests); "wait" waits for another
    process to apply them and fails with SchemaBehind after a while (worker, relay, projector,
    scheduler); "skip" leaves the schema alone. `providers` builds the delivery adapters from the
    database (the sandbox keeps its outbox there); by default the sandbox, Gmail and Twilio.
    """
    embedded = None
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if url is None:
        embedded = EmbeddedPostgres(settings.data_dir, durable=settings.durable)
        url = embedded.start()
    # The plain tables: serve, api and the operator commands migrate; the other roles wait for it.
    try:
        if schema == "upgrade":
            upgrade_schema(url)
        elif schema == "wait":
            wait_until_current(url)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    db = Database(url)
    with db.transaction() as cur:  # one starter at a time creates the event store's own tables
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('campaign-service: event store tables'))")
        app = CampaignApplication(env=event_store_env(url, lock_timeout_s=settings.postgres_lock_timeout))
    transport = transport or (
        KafkaTransport(
            settings.kafka_bootstrap_servers,
            settings.batch_size,
            settings.kafka_topic_prefix,
            settings.kafka_start_timeout,
        )
        if settings.kafka_bootstrap_servers
        else InProcessTransport(settings.batch_size)
    )
    clock = clock or (DevClock() if settings.dev_clock else SystemClock())
    key, secret = settings.credentials_key, settings.unsubscribe_secret
    key_folder = settings.data_dir if embedded is not None else None
    cipher = cipher_for(key.get_secret_value() if key else None, key_folder)
    signing = signing_secret(
        secret.get_secret_value() if secret else None, key.get_secret_value() if key else None, key_folder
    )
    tokens = UnsubscribeTokens(signing) if signing is not None else None
    adapters = (providers or _default_providers(settings, cipher, tokens))(db)
    tracking = TrackingTokens(signing) if signing is not None else None
    container = Container(settings, app, db, clock, transport, adapters, embedded, cipher, tokens, tracking)
    container.child_settings = settings_for_a_child(settings, url, key_folder, signing)
    return container


def settings_for_a_child(
    settings: Settings, url: str, key_folder: Path | None, signing: bytes | None
) -> Settings:
    """The settings a channel's child process is built from: this process's database, and the keys
    of the embedded data folder given outright (the child has no embedded server, so no folder)."""
    resolved: dict[str, object] = {
        "database_url": SecretStr(url),
        "dev_clock": False,
        "development_routes": False,
        "channel_processes": False,
        "metrics_port": None,
    }
    if key_folder is not None and settings.credentials_key is None:
        resolved["credentials_key"] = SecretStr(load_or_create_key(key_folder))
        if settings.unsubscribe_secret is None and signing is not None:
            resolved["unsubscribe_secret"] = SecretStr(signing.decode())
    return settings.model_copy(update=resolved)


def _default_providers(
    settings: Settings, cipher: CredentialCipher | None, tokens: UnsubscribeTokens | None
) -> Callable[[Database], Mapping[str, Provider]]:
    """The sandbox (with the latency `SANDBOX_DELAY_MS` asks for), Gmail at GMAIL_API_BASE_URL and
    Twilio at TWILIO_API_BASE_URL; accounts' credentials are opened only when a send needs them."""
    sessions = gmail.MailboxSessions(
        settings.gmail_api_base_url, settings.gmail_token_uri, settings.gmail_timeout
    )
    return lambda db: {
        "sandbox": sandbox.SandboxProvider(db, settings.sandbox_delay_ms / 1000),
        "gmail": gmail.GmailProvider(db, cipher, sessions, tokens, settings.public_url),
        "twilio": twilio.TwilioProvider(
            db,
            lambda account_id: decrypt_credentials(db, cipher, account_id),
            settings.twilio_api_base_url,
            settings.public_url,
            settings.twilio_timeout,
        ),
    }
