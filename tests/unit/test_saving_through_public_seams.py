"""`CampaignApplication.save_all` saves through the library's public seams only: its events go to the
event store's `put` (our recorder writes them), and no module of ours calls a private method of the
library's application or repository, so a library upgrade that renames or reshapes one cannot break
a save silently. What the library's own `save` does is pinned here: if an upgrade adds a step to it,
a test names the step to review in `save_all`.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent, Repository
from eventsourcing.persistence import EventStore

from commands.application import CampaignApplication
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger, Plan
from domain.steps import Step, StepType

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b")
POPO = {"PERSISTENCE_MODULE": "eventsourcing.popo"}


def _called_attributes(tree: ast.AST) -> set[str]:
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }


def _private_methods(*classes: type) -> set[str]:
    return {
        name
        for cls in classes
        for name in vars(cls)
        if name.startswith("_") and not name.startswith("__") and callable(getattr(cls, name))
    }


def _our_sources() -> list[Path]:
    """Every Python file of the project (the service, benchmarks, scripts, tests), not the venv."""
    return [
        path
        for path in sorted(ROOT.rglob("*.py"))
        if not any(part.startswith(".") or part == "mutants" for part in path.relative_to(ROOT).parts)
    ]


def _calls_in(function: object) -> set[str]:
    return _called_attributes(ast.parse(textwrap.dedent(inspect.getsource(function))))


def test_no_module_of_ours_calls_a_private_method_of_the_library_application() -> None:
    private = _private_methods(Application, Repository, ProcessingEvent, EventStore)
    assert {"_record", "_take_snapshots", "_notify"} <= private  # what save_all once called
    found = [
        f"{path.relative_to(ROOT)}: .{name}("
        for path in _our_sources()
        for name in sorted(_called_attributes(ast.parse(path.read_text())) & private)
    ]
    assert found == []


def test_the_library_save_takes_only_the_steps_save_all_stands_in_for() -> None:
    """`save_all` puts the events in the event store; the library's save also snapshots, fills the
    aggregate cache and notifies, none of which this application uses. A new step here needs a look."""
    assert _calls_in(Application.save) == {
        "collect_events",
        "_record",
        "_take_snapshots",
        "_notify",
        "notify",
    }
    assert _calls_in(Application._record) == {"put", "items"}  # the event store's put, the cache's
    overridden = {"save", "notify", "_notify", "_record", "_take_snapshots"} & set(vars(CampaignApplication))
    assert overridden == set()


def _campaign_and_ledger() -> tuple[Campaign, CreditLedger]:
    campaign = Campaign.create(UUID(int=1), UUID(int=2), "Spring", [EMAIL], T0)
    return campaign, CreditLedger.open(UUID(int=2), Plan.BASIC, T0)


def _stored(store: Application[UUID]) -> list[tuple[UUID, int, str, bytes]]:
    return [
        (n.originator_id, n.originator_version, n.topic, n.state)
        for n in store.recorder.select_notifications(start=1, limit=100)
    ]


def test_save_all_stores_what_the_library_save_stores() -> None:
    by_library, by_save_all = CampaignApplication(env=POPO), CampaignApplication(env=POPO)
    by_library.save(*_campaign_and_ledger())
    last = by_save_all.save_all(_campaign_and_ledger())
    assert _stored(by_save_all) == _stored(by_library) and len(_stored(by_library)) >= 2
    assert last == by_save_all.recorder.max_notification_id()
    assert by_save_all.save_all([]) is None


def test_save_all_fills_the_aggregate_cache_when_one_is_configured() -> None:
    """The library keeps saved aggregates in its cache (without fast-forward); so does save_all."""
    store = CampaignApplication(
        env={**POPO, "AGGREGATE_CACHE_MAXSIZE": "10", "AGGREGATE_CACHE_FASTFORWARD": "n"}
    )
    campaign, ledger = _campaign_and_ledger()
    store.save_all([campaign, ledger])
    assert store.repository.cache is not None
    assert store.repository.cache.get(campaign.id) is campaign
    assert store.campaign(campaign.id).name == "Spring"
