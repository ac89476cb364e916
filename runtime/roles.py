"""The registry of roles: every piece of background work a process can run, by a name that says
what it runs, each with the factory that makes its tasks from the built parts (runtime/bootstrap.py)
for the supervisor (runtime/supervisor.py) to run: `projector`, `relays` (every relay the transport
needs), per channel `<channel>_relay` and `<channel>_worker`, the timed jobs (`enroller`,
`follow_ups`, `sweeper`, `daily_reset`, `resealer`, `settlement`, `deliverability_guard`, `sandbox_recipients`,
`gmail_replies`), and `<channel>_channel_process`
and `projector_process` (a child process running that channel's relay and worker while the channel
has work, or the projector).
The command line takes its choices from here: `channel --channel NAME` runs that channel's relay and
worker, `scheduler` runs the timed jobs, and `serve` runs them all, or, with the in-process transport,
each channel and the projector in child processes (runtime/child_processes.py; decision records 13
and 15).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from domain.steps import StepType
from runtime.child_processes import PROJECTOR

# The command line builds its parser from this registry before anything else is loaded (serve sets
# the metrics' folder first: runtime/metrics.py), so what a role runs is imported when it starts.
if TYPE_CHECKING:
    from consumers.channel_worker import ChannelWorker
    from consumers.relay import Relay
    from runtime.bootstrap import Parts
    from runtime.supervisor import Task

CHANNELS: tuple[str, ...] = tuple(channel for kind in StepType if (channel := kind.channel))


@dataclass(frozen=True)
class Role:
    """A named piece of background work: `runs` says what in a few words (the command line's help),
    `tasks` makes what the supervisor runs for it."""

    name: str
    runs: str
    tasks: Callable[[Parts], Sequence[Task]]


def relays(parts: Parts) -> list[Relay]:
    """For Kafka, one relay of every channel's dispatches (the broker keeps what is unhandled,
    so it never waits for a worker) and one of every event to `campaign.events`, apart so that
    sends never wait for the feed; in process one per channel, as each waits until its
    channel's worker handled its batch: a slow provider then holds back only its own channel's
    dispatches. Each starts where the single relay of earlier releases stood, and each takes its
    own copy of what that relay parked."""
    from consumers.relay import RETIRED_RELAY, Relay
    from consumers.transport.kafka import KafkaTransport
    from consumers.transport.messages import SEND_TOPICS

    kafka = isinstance(parts.transport, KafkaTransport)
    heirs = ["relay:sends", "relay:feed"] if kafka else [f"relay:{channel}" for channel in SEND_TOPICS]
    relay = partial(Relay, parts.store, parts.db, parts.transport, resume_from=RETIRED_RELAY, heirs=heirs)
    if kafka:
        return [
            relay(publish_events=False, name="relay:sends"),
            relay(publish_events=True, name="relay:feed", channels=()),
        ]
    return [
        relay(publish_events=False, name=f"relay:{channel}", channels=(channel,)) for channel in SEND_TOPICS
    ]


def channel_worker(parts: Parts, channel: str) -> ChannelWorker:
    """The worker of one channel, wired to these parts' providers, clock, personaliser and email
    tracking."""
    from commands.tracking.tracked_mail import MailTracking
    from consumers.channel_worker import ChannelWorker

    tokens = parts.tracking_tokens
    tracking = MailTracking(tokens, parts.settings.public_url) if tokens is not None else None
    return ChannelWorker(
        channel,
        parts.store,
        parts.db,
        parts.transport,
        parts.providers,
        parts.clock.now,
        parts.personaliser,
        tracking,
    )


def _projector(parts: Parts) -> list[Task]:
    from projections import runner
    from projections.projector import Projector
    from runtime.bootstrap import PROJECTIONS
    from runtime.supervisor import Periodic

    size = parts.settings.batch_size * 2
    runners = [runner.ReadModelRunner(parts.store, parts.db, p, size) for p in PROJECTIONS]
    projector = Projector(parts.store, parts.db, runners, size)
    return [Periodic("projector", projector.run_once, parts.settings.poll_interval)]


def _relays(parts: Parts, channel: str | None = None) -> list[Task]:
    """Every relay the transport needs, or only the one of `channel` (none with Kafka)."""
    from runtime.supervisor import Periodic

    chosen = [r for r in relays(parts) if channel is None or r.channels == {channel}]
    return [Periodic(relay.name, relay.run_once, parts.settings.poll_interval) for relay in chosen]


def _worker(parts: Parts, channel: str) -> list[Task]:
    """The channel's worker; in process, its topic is expected at once, so that a relay started
    before the worker's thread consumes waits for it (consumers/transport/in_process.py)."""
    from consumers.transport.in_process import InProcessTransport
    from consumers.transport.messages import SEND_TOPICS
    from runtime.supervisor import Loop

    worker = channel_worker(parts, channel)
    if isinstance(parts.transport, InProcessTransport):
        parts.transport.expect_consumer(SEND_TOPICS[channel])
    return [Loop(f"{channel}_worker", worker.run_forever)]


def _child(kind: str, name: str, parts: Parts) -> list[Task]:
    """The child process of a channel, run only while the channel has work (decision record 30),
    or the projector's, always running."""
    from consumers.channel_demand import ChannelDemand
    from runtime.supervisor import Child

    if kind == PROJECTOR:
        return [Child(name, kind, parts.child_environment())]
    demand = ChannelDemand(parts.store, parts.db, kind)
    idle = parts.settings.channel_idle_seconds
    return [
        Child(name, kind, parts.child_environment(), lambda advance: demand.pending(advance=advance), idle)
    ]


def _timed(
    name: str, runs: str, work: Callable[[Parts], Callable[[], int]], idle: float | Callable[[Parts], float]
) -> Role:
    """A timed job: `work` makes its pass, run again after `idle` seconds without work (on the dev
    clock, or at once when the dev clock is moved)."""

    def tasks(parts: Parts) -> list[Task]:
        from runtime.supervisor import Periodic

        nap = parts.dev_clock.nap if parts.dev_clock else None
        return [Periodic(name, work(parts), idle(parts) if callable(idle) else idle, nap)]

    return Role(name, runs, tasks)


def _enroller(parts: Parts) -> Callable[[], int]:
    from commands.sending.enroll_contacts import enroll_pending_campaigns

    return lambda: enroll_pending_campaigns(parts.store, parts.db, parts.clock.now())


def _follow_ups(parts: Parts) -> Callable[[], int]:
    from consumers.timed_jobs import FollowUpProcessor

    return FollowUpProcessor(parts.store, parts.db, parts.clock.now, parts.settings.batch_size).tick


def _sweeper(parts: Parts) -> Callable[[], int]:
    from consumers.timed_jobs import Sweeper

    return Sweeper(parts.store, parts.db, parts.clock.now, parts.settings.dispatch_lease_seconds).tick


def _daily_reset(parts: Parts) -> Callable[[], int]:
    """The daily quota reset, then the plans' monthly renewals."""
    from consumers.timed_jobs import DailyCron

    return DailyCron(parts.store, parts.db, parts.clock.now).tick


def _resealer(parts: Parts) -> Callable[[], int]:
    """Events stored before sealing, sealed in place (decision record 28)."""
    from consumers.timed_jobs import Resealer

    return Resealer(parts.store, parts.db.url, parts.clock.now).tick


def _settlement(parts: Parts) -> Callable[[], int]:
    from consumers.timed_jobs import Settlement

    return Settlement(parts.store, parts.db, parts.clock.now).tick


def _deliverability_guard(parts: Parts) -> Callable[[], int]:
    from consumers.deliverability_guard import DeliverabilityGuard

    return DeliverabilityGuard(parts.store, parts.db, parts.clock.now).tick


def _sandbox_recipients(parts: Parts) -> Callable[[], int]:
    """The sandbox's `bounce...` and `optout...` recipients; nothing to do without the sandbox."""
    from consumers.providers.sandbox import SandboxProvider
    from consumers.providers.sandbox_recipients import SandboxRecipients

    if "sandbox" not in parts.providers or not isinstance(parts.providers["sandbox"], SandboxProvider):
        return lambda: 0
    return SandboxRecipients(parts.store, parts.db, parts.clock.now).tick


def _gmail_replies(parts: Parts) -> Callable[[], int]:
    """Reads the Gmail mailboxes the Gmail adapter sends from; nothing to do without that adapter.
    The adapter, and the Google client it loads (a third of a process's memory), is taken only once
    a brand has a Gmail mailbox to read."""
    from commands.sending.sender_accounts import connected_mailboxes

    if "gmail" not in parts.providers:
        return lambda: 0
    poller: list[Callable[[], int]] = []

    def tick() -> int:
        if not poller:
            if not connected_mailboxes(parts.db, "gmail"):
                return 0
            from consumers.providers import gmail

            adapter = parts.providers["gmail"]
            if not isinstance(adapter, gmail.GmailProvider):
                poller.append(lambda: 0)
            else:
                now = parts.clock.now
                poller.append(
                    gmail.ReplyPoller(parts.store, parts.db, adapter.sessions, adapter.cipher, now).tick
                )
        return poller[0]()

    return tick


TIMED_JOBS_ROLES = [
    _timed("enroller", "enrollment", _enroller, 0.2),
    _timed("follow_ups", "follow-ups", _follow_ups, 1.0),
    _timed("sweeper", "sweeping", _sweeper, 30.0),
    _timed("daily_reset", "daily reset", _daily_reset, 30.0),
    _timed("resealer", "sealing the events stored before sealing", _resealer, 3600.0),
    _timed("settlement", "settlement", _settlement, 0.5),
    _timed("deliverability_guard", "the deliverability guard", _deliverability_guard, 0.5),
    _timed(
        "sandbox_recipients", "the sandbox's bouncing and opting-out recipients", _sandbox_recipients, 0.5
    ),
    _timed("gmail_replies", "Gmail replies", _gmail_replies, lambda p: p.settings.gmail_reply_poll_seconds),
]
TIMED_JOBS: tuple[str, ...] = tuple(role.name for role in TIMED_JOBS_ROLES)  # what `scheduler` runs


def _channel_roles(channel: str) -> list[Role]:
    process = f"{channel}_channel_process"
    return [
        Role(f"{channel}_relay", f"the {channel} relay", partial(_relays, channel=channel)),
        Role(f"{channel}_worker", f"the {channel} send worker", partial(_worker, channel=channel)),
        Role(
            process, f"the {channel} relay and worker, in a child process", partial(_child, channel, process)
        ),
    ]


ROLES: Mapping[str, Role] = {
    role.name: role
    for role in [
        Role("projector", "the projector", _projector),
        Role("relays", "the relay", _relays),
        *TIMED_JOBS_ROLES,
        *(role for channel in CHANNELS for role in _channel_roles(channel)),
        Role(
            "projector_process",
            "the projector, in a child process",
            partial(_child, PROJECTOR, "projector_process"),
        ),
    ]
}
# Every role in this process (tests, and serve with Kafka or the dev clock).
# The workers before the relays: a relay's first pass must find its worker expected.
IN_PROCESS: tuple[str, ...] = ("projector", *(f"{c}_worker" for c in CHANNELS), "relays", *TIMED_JOBS)


def channel_roles(channel: str) -> tuple[str, str]:
    """What `channel --channel NAME` runs: that channel's send worker and relay (in that order:
    the relay's first pass waits for the worker)."""
    return f"{channel}_worker", f"{channel}_relay"


def serving_roles(parts: Parts) -> tuple[str, ...]:
    """What `serve` runs: every role; with the in-process transport and no dev clock (whose time
    lives in this process's memory), each channel's relay and worker, and the projector, as
    processes of their own."""
    from consumers.transport.kafka import KafkaTransport

    if isinstance(parts.transport, KafkaTransport) or parts.dev_clock or not parts.settings.channel_processes:
        return IN_PROCESS
    return (*TIMED_JOBS, *(f"{c}_channel_process" for c in CHANNELS), "projector_process")


def chosen(names: Iterable[str]) -> list[Role]:
    """The roles of these names, or a ValueError naming the unknown one and every known one."""
    names = tuple(names)
    unknown = [name for name in names if name not in ROLES]
    if unknown:
        raise ValueError(f"unknown role {unknown[0]!r}; roles are {', '.join(ROLES)}")
    return [ROLES[name] for name in names]
