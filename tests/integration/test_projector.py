"""One read of the log for every read model (projections/projector.py), on PostgreSQL.

The shared read must leave every read model exactly as its own reads would; a read model moved
back (as a rebuild does) catches up alone and joins again; one that keeps failing holds no other
back, catches up once its trouble is gone, and is logged in words an operator can act on (database
trouble as a one-line warning, a fault as an error with its traceback, its recovery once). What a
pass and a catch-up report as applied is the number of events the read models were given.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import psycopg
from psycopg import sql

from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.steps import Step, StepType
from projections.projector import Projector, positions
from projections.runner import ReadModelRunner
from runtime.bootstrap import PROJECTIONS
from storage.event_log import events_table, read_log
from tests.support import running_service

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s1", type=StepType.SMS, group=1, order=0, body="Hi again"),
]
TABLES = sorted({table for projection in PROJECTIONS for table in projection.tables})
# A checkpoint per campaign and batch: other reads cut other batches, so what must be the same is
# every counted event's time and figures, whichever checkpoint holds it.
WHAT_ROWS_HOLD = {
    "campaign_checkpoints": "SELECT campaign_id, moment FROM campaign_checkpoints, jsonb_array_elements(moments) AS moment",
    # The funnel's minutes list their times in the order batches brought them: the same set.
    "step_funnel_moments": "SELECT campaign_id, width, bucket, step_id, enrolled, sent, delivered, opened, clicked,"
    " replied, bounced, unsubscribed, ARRAY(SELECT unnest(added) ORDER BY 1) AS added,"
    " ARRAY(SELECT unnest(removed) ORDER BY 1) AS removed FROM step_funnel_moments",
}


def history(service: Any, brands: int = 3, contacts: int = 4) -> None:
    """Ledgers, reservations, enrollments with a step dispatched and sent: most read models' events."""
    for _ in range(brands):
        brand, campaign = uuid4(), uuid4()
        ledger = CreditLedger.open(brand, Plan.BASIC, NOW)
        ledger.reserve(campaign, contacts, NOW)
        enrollments = []
        for _ in range(contacts):
            address = {"email": "ann@example.com", "sms": "+14155550100"}
            enrollment = Enrollment.enroll(campaign, brand, uuid4(), address, STEPS, NOW)
            for step in enrollment.dispatch_due(NOW):
                enrollment.attempt(step.id, str(uuid4()), NOW)
                enrollment.record_sent(step.id, f"m-{uuid4()}", 1, NOW)
            enrollments.append(enrollment)
        service.store.save_all([ledger, *enrollments])


def tables(service: Any) -> dict[str, list[tuple[Any, ...]]]:
    with service.db.pool.connection() as conn, conn.cursor(row_factory=psycopg.rows.tuple_row) as cur:
        return {
            table: sorted(
                map(repr, cur.execute(WHAT_ROWS_HOLD.get(table, f"SELECT * FROM {table}")).fetchall())
            )
            for table in TABLES
        }


def runners(service: Any, projections: list[Any] = PROJECTIONS) -> list[ReadModelRunner]:
    return [ReadModelRunner(service.store, service.db, projection, 7) for projection in projections]


def until_idle(projector: Projector, passes: int = 200) -> None:
    for _ in range(passes):
        if not projector.run_once() and not projector.apart:
            return
    raise AssertionError(f"still busy after {passes} passes; apart: {projector.apart}")


def reset(service: Any, names: list[str]) -> None:
    with service.db.transaction() as cur:
        cur.execute("DELETE FROM projection_positions WHERE projection = ANY(%s)", (names,))
        for projection in PROJECTIONS:
            if projection.name in names:
                projection.reset(cur)


def test_the_shared_read_leaves_every_read_model_as_its_own_reads_would(database_url):
    with running_service(database_url, roles=()) as service:
        history(service)
        for runner in runners(service):
            runner.catch_up()
        alone = tables(service)
        head = service.store.recorder.max_notification_id()
        assert all(alone[table] for table in ("step_executions", "campaign_leads", "credit_ledger_entries"))

        reset(service, [p.name for p in PROJECTIONS])
        projector = Projector(service.store, service.db, runners(service), 7)  # small reads: many passes
        until_idle(projector)

        assert tables(service) == alone
        assert set(positions(service.db, [p.name for p in PROJECTIONS]).values()) == {head}


def test_a_read_model_moved_back_catches_up_alone_and_joins_the_shared_read_again(database_url):
    with running_service(database_url, roles=()) as service:
        history(service)
        projector = Projector(service.store, service.db, runners(service), 7)
        until_idle(projector)
        whole = tables(service)

        reset(service, ["step_executions"])  # as a rebuild starting from zero
        history(service, brands=1)  # the others move on meanwhile
        projector.run_once()
        assert set(projector.apart) == {"step_executions"}
        until_idle(projector)

        assert projector.apart == {}
        assert (
            len(tables(service)["step_executions"]) == len(whole["step_executions"]) * 4 // 3
        )  # a brand more
        head = service.store.recorder.max_notification_id()
        assert set(positions(service.db, [p.name for p in PROJECTIONS]).values()) == {head}


PROJECTOR_LOG = "projections.projector"
LOCKED = "the read model's table is locked"


class Failing:
    """A read model whose database trouble lasts while `failing` is set."""

    def __init__(self, projection: Any) -> None:
        self.projection, self.failing = projection, True
        self.name, self.tables, self.events = projection.name, projection.tables, projection.events

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        if self.failing:
            raise psycopg.OperationalError(LOCKED)
        self.projection.apply(cur, events)

    def reset(self, cur: Any) -> None:
        self.projection.reset(cur)


def test_a_failing_read_model_holds_no_other_back_and_catches_up_when_its_trouble_ends(database_url, caplog):
    with running_service(database_url, roles=()) as service, caplog.at_level(logging.WARNING):
        failing = Failing(next(p for p in PROJECTIONS if p.name == "campaign_leads"))
        models = [failing if p.name == "campaign_leads" else p for p in PROJECTIONS]
        # The pauses are measured on a clock of the test's own: forty passes on a busy machine take
        # longer than the first pause (0.5 s) of real time, and a retry among them is no failure.
        now = [0.0]
        projector = Projector(service.store, service.db, runners(service, models), 7, lambda: now[0])
        history(service)
        head = service.store.recorder.max_notification_id()

        for _ in range(40):
            projector.run_once()
        reached = positions(service.db, [p.name for p in PROJECTIONS])
        assert reached.pop("campaign_leads") == 0
        assert set(reached.values()) == {head}  # every other read model is level with the log
        assert projector.apart["campaign_leads"] == 1  # not tried again at every pass: after a pause
        now[0] += 0.4
        projector.run_once()
        assert projector.apart["campaign_leads"] == 1  # the first pause is half a second
        now[0] += 0.2
        projector.run_once()
        assert projector.apart["campaign_leads"] == 2
        # Database trouble is no bug: the operator reads which read model waits, how long, and why,
        # on one line without a traceback.
        told = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records if r.name == PROJECTOR_LOG]
        assert told == [
            ("WARNING", f"projection:campaign_leads waits {pause} s: OperationalError: {LOCKED}", None)
            for pause in ("0.5", "1.0")
        ]

        failing.failing = False
        now[0] += 1.1  # past the second pause (1 s)
        deadline = time.monotonic() + 10
        while projector.apart and time.monotonic() < deadline:
            projector.run_once()
            time.sleep(0.05)
        assert projector.apart == {}
        assert set(positions(service.db, [p.name for p in PROJECTIONS]).values()) == {head}
        assert len(tables(service)["campaign_leads"]) == 3 * 4


def test_a_catch_up_reports_its_progress_rising_to_the_head_of_the_log(database_url):
    """After each batch, the read model's position and the log's head, the last report at the head
    (only tests call `ReadModelRunner.catch_up`; the rebuild command replays through
    projections/shadow_rebuild.py)."""
    with running_service(database_url, roles=()) as service:
        history(service, brands=2, contacts=3)
        head = service.store.recorder.max_notification_id()
        reports: list[tuple[int, int]] = []
        runner = ReadModelRunner(service.store, service.db, PROJECTIONS[0], 7)
        assert runner.catch_up(progress=lambda at, of: reports.append((at, of))) > 0
        assert len(reports) > 1 and {of for _, of in reports} == {head}
        assert [at for at, _ in reports] == sorted({at for at, _ in reports})  # each batch further on
        assert reports[-1] == (head, head)


def test_a_read_model_that_meets_an_event_it_cannot_read_logs_the_traceback_and_holds_no_other_back(
    database_url, caplog
):
    """Not database trouble but a fault (here a stored event altered by hand, met by a rebuild):
    logged as an error with its traceback, saying which read model failed and when it tries again."""
    with running_service(database_url, roles=()) as service:
        history(service)
        projector = Projector(service.store, service.db, runners(service), 7, lambda: 0.0)
        until_idle(projector)
        head = service.store.recorder.max_notification_id()
        with service.db.transaction() as cur:
            cur.execute(
                sql.SQL(
                    """UPDATE {events} SET state = convert_to('{{"step_id": ', 'UTF8')
                       WHERE notification_id = (SELECT min(notification_id) FROM {events}
                                                WHERE topic LIKE '%%StepSent')"""
                ).format(events=events_table(service.store))
            )
        reset(service, ["step_executions"])  # a rebuild from zero meets the altered event

        with caplog.at_level(logging.WARNING, logger=PROJECTOR_LOG):
            projector.run_once()

        [(level, message, exc_info)] = [
            (r.levelname, r.getMessage(), r.exc_info) for r in caplog.records if r.name == PROJECTOR_LOG
        ]
        assert (level, message) == ("ERROR", "projection:step_executions failed; retrying in 0.5 s")
        assert exc_info is not None and not isinstance(exc_info[1], psycopg.OperationalError)
        assert projector.apart == {"step_executions": 1}
        reached = positions(service.db, [p.name for p in PROJECTIONS])
        assert reached.pop("step_executions") < head and set(reached.values()) == {head}


class Tally:
    """A read model of no tables that counts the events it is given: every event class the log holds."""

    name, tables = "tally", ()

    def __init__(self, events: tuple[type, ...]) -> None:
        self.events, self.applied = events, 0

    def apply(self, cur: Any, events: list[tuple[int, Any]]) -> None:
        self.applied += len(events)

    def reset(self, cur: Any) -> None:
        self.applied = 0


def tally_of_the_log(service: Any) -> Tally:
    events, _ = read_log(service.store, 0, 10**6)
    return Tally(tuple({type(event) for _, event in events}))


def move(service: Any, name: str, position: int) -> None:
    with service.db.transaction() as cur:
        cur.execute(
            """INSERT INTO projection_positions (projection, position) VALUES (%s, %s)
               ON CONFLICT (projection) DO UPDATE SET position = EXCLUDED.position""",
            (name, position),
        )


def step_executions() -> Any:
    return next(p for p in PROJECTIONS if p.name == "step_executions")


def test_a_read_model_catching_up_alone_reports_how_many_events_it_applied_pass_by_pass(database_url):
    """What the projector's loop reads as progress: each pass, the events the read model that
    catches up alone applied in it, several reads of them."""
    with running_service(database_url, roles=()) as service:
        history(service)
        tally = tally_of_the_log(service)
        projector = Projector(service.store, service.db, runners(service, [step_executions(), tally]), 7)
        until_idle(projector)
        head = service.store.recorder.max_notification_id()
        assert tally.applied == head

        move(service, "tally", 0)  # as a rebuild starting from zero
        tally.applied = 0
        reported: list[int] = []
        while projector.apart or not reported or positions(service.db, ["tally"])["tally"] < head:
            before = tally.applied
            reported.append(projector.run_once())
            assert reported[-1] == tally.applied - before
        assert reported[0] == 4 * 7  # four reads alone in a pass
        assert sum(reported) == tally.applied == head


def test_a_read_model_exactly_one_batch_behind_the_others_after_its_reads_alone_rejoins_the_shared_read(
    database_url,
):
    """And one moved back by a little more than a batch catches up in one pass and rejoins. The
    projector's clock reads zero here, as a monotonic clock may: a read model that never failed
    has no pause to wait out."""
    with running_service(database_url, roles=()) as service:
        history(service)
        tally = tally_of_the_log(service)
        projector = Projector(
            service.store, service.db, runners(service, [step_executions(), tally]), 7, lambda: 0.0
        )
        until_idle(projector)
        head = service.store.recorder.max_notification_id()
        assert head > 5 * 7

        move(service, "tally", head - 5 * 7)  # four reads alone leave it one batch behind
        assert projector.run_once() == 4 * 7
        assert positions(service.db, ["tally"]) == {"tally": head - 7}
        assert projector.apart == {}  # the next shared read covers it
        assert projector.run_once() == 7
        assert positions(service.db, ["tally", "step_executions"]) == {"tally": head, "step_executions": head}

        move(service, "tally", head - 10)
        assert projector.run_once() == 10
        assert projector.apart == {}
        assert positions(service.db, ["tally"]) == {"tally": head}


def test_a_read_model_that_recovers_says_so_once_and_its_next_failure_starts_the_count_afresh(
    database_url, caplog
):
    """The operator reads one line when a failing read model runs again, naming how many passes
    failed, not one a pass while it catches up; a failure after that waits the first pause again
    (0.5 s), not a longer one. A read model waiting out its pause is no progress: the projector's
    loop idles meanwhile instead of spinning."""
    with running_service(database_url, roles=()) as service:
        history(service)
        failing = Failing(step_executions())
        failing.failing = False
        leads = next(p for p in PROJECTIONS if p.name == "campaign_leads")
        now = [0.0]
        projector = Projector(
            service.store, service.db, runners(service, [failing, leads]), 7, lambda: now[0]
        )
        until_idle(projector)
        head = service.store.recorder.max_notification_id()
        rows = len(tables(service)["step_executions"])
        reset(service, ["step_executions"])  # far behind: more than a pass of reads alone
        failing.failing = True

        with caplog.at_level(logging.INFO, logger=PROJECTOR_LOG):
            assert projector.run_once() == 0  # fails: 0.5 s
            assert projector.run_once() == 0  # waits
            now[0] = 0.5
            projector.run_once()  # tried again as soon as its pause is over: fails, 1 s
            failing.failing = False
            now[0] = 1.5
            assert projector.run_once() == 4 * 7  # runs again, not level yet
            assert projector.apart == {"step_executions": 0}
            failing.failing = True
            projector.run_once()  # fails again: the first pause again
            failing.failing = False
            now[0] = 2.0
            for _ in range(20):
                projector.run_once()
                if not projector.apart:
                    break

        assert projector.apart == {}
        assert positions(service.db, ["step_executions"]) == {"step_executions": head}
        assert len(tables(service)["step_executions"]) == rows
        told = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == PROJECTOR_LOG]
        waits = "WARNING", "projection:step_executions waits {} s: OperationalError: " + LOCKED
        again = "INFO", "projection:step_executions is running again after {} failed passes"
        assert told == [
            (waits[0], waits[1].format("0.5")),
            (waits[0], waits[1].format("1.0")),
            (again[0], again[1].format(2)),
            (waits[0], waits[1].format("0.5")),
            (again[0], again[1].format(1)),
        ]


def test_a_catch_up_returns_the_number_of_events_it_applied(database_url):
    """Every event the read model was given, over all its batches; none for a read model already
    at the head of the log."""
    with running_service(database_url, roles=()) as service:
        history(service)
        tally = tally_of_the_log(service)
        runner = ReadModelRunner(service.store, service.db, tally, 7)
        head = service.store.recorder.max_notification_id()
        assert head > 7  # several batches
        assert runner.catch_up() == tally.applied == head
        assert runner.catch_up() == 0
