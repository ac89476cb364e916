"""The application's typed loaders: a campaign (of a brand), a brand's ledger, one enrollment or a
batch of them. A missing aggregate, another brand's campaign, or an id that holds another kind of
aggregate is NotFound (or, in a batch, left out), never an object of the wrong type."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commands.application import CampaignApplication
from domain.campaign import Campaign
from domain.credit_ledger import CreditLedger, Plan
from domain.enrollment import Enrollment
from domain.errors import NotFound
from domain.steps import Step, StepType

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = Step("e0", StepType.EMAIL, 0, order=0, subject="s", body="b")


@pytest.fixture
def store() -> CampaignApplication:
    return CampaignApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})


def saved_campaign(store: CampaignApplication) -> Campaign:
    campaign = Campaign.create(uuid4(), uuid4(), "Spring", [EMAIL], T0)
    store.save_all([campaign])
    return campaign


def test_a_campaign_loads_for_its_brand_and_not_for_another(store: CampaignApplication) -> None:
    campaign = saved_campaign(store)
    assert store.campaign(campaign.id).id == campaign.id
    assert store.campaign(campaign.id, campaign.brand_id).name == "Spring"
    with pytest.raises(NotFound, match=f"campaign {campaign.id}"):
        store.campaign(campaign.id, uuid4())
    with pytest.raises(NotFound):
        store.campaign(uuid4())


def test_an_id_holding_another_kind_of_aggregate_is_not_found(store: CampaignApplication) -> None:
    ledger = CreditLedger.open(uuid4(), Plan.BASIC, T0)
    store.save_all([ledger])
    with pytest.raises(NotFound):
        store.campaign(ledger.id)
    with pytest.raises(NotFound):
        store.enrollment(ledger.id)
    assert store.enrollments([ledger.id]) == {}


def test_a_brands_ledger_loads_by_the_brand(store: CampaignApplication) -> None:
    brand_id = uuid4()
    store.save_all([CreditLedger.open(brand_id, Plan.BASIC, T0)])
    assert store.ledger(brand_id).brand_id == brand_id
    with pytest.raises(NotFound):
        store.ledger(uuid4())


def test_a_batch_of_enrollments_leaves_out_the_missing(store: CampaignApplication) -> None:
    campaign = saved_campaign(store)
    enrollment = Enrollment.enroll(campaign.id, campaign.brand_id, uuid4(), {"email": "a@b.c"}, [EMAIL], T0)
    assert enrollment is not None
    store.save_all([enrollment])
    missing = uuid4()
    loaded = store.enrollments([enrollment.id, missing])
    assert list(loaded) == [enrollment.id] and loaded[enrollment.id].contact_id == enrollment.contact_id
    assert store.enrollment(enrollment.id).campaign_id == campaign.id
    with pytest.raises(NotFound):
        store.enrollment(missing)
