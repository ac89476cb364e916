"""One read of the log for every read model (projections/projector.py), on PostgreSQL.

The shared read must leave every read model exactly as its own reads would; a read model moved
back (as a rebuild does) catches up alone and joins again; one that keeps failing holds no other
back, catches up once its trouble is gone, and is logged in words an operator can act on (database
trouble as a one-line warning, a fault as an error with its traceback).
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
from storage.event_log import events_table
from tests.support import running_service

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
STEPS = [
    Step(id="e0", type=StepType.EMAIL, group=0, order=0, subject="Hi", body="Hello"),
    Step(id="s1", type=StepType.SMS, group=1, order=0, body="Hi again"),
]
TABLES = sorted({table for projection in PROJECTIONS for table in projection.tables})


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
            table: sorted(map(repr, cur.execute(f"SELECT * FROM {table}").fetchall())) for table in TABLES
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
    """What `projections rebuild` prints as it goes: after each batch, the read model's position
    and the log's head, the last report at the head."""
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
