"""A campaign's definition: what CampaignCreated records, which definitions are refused and with
which words (they reach the client as the problem detail), the content limits' exact boundaries,
and what the lifecycle events record.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.campaign import Campaign, CampaignStatus
from domain.errors import DomainError, IllegalTransition, InvalidCampaign
from domain.limits import MAX_BODY, MAX_NAME, MAX_SMS_BODY, MAX_SUBJECT, MAX_URL, MAX_WAIT_DAYS
from domain.steps import Step, StepType
from tests.unit.messages import exactly

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
EMAIL = Step("e", StepType.EMAIL, 0, 0, subject="Hi", body="Hello")


def sms(body: str = "Ping", sid: str = "m") -> Step:
    return Step(sid, StepType.SMS, 0, 1, body=body)


def voicemail(audio_url: str | None, sid: str = "v") -> Step:
    return Step(sid, StepType.VOICEMAIL, 1, 0, audio_url=audio_url)


def create(steps: list[Step] | None = None, name: str = "Spring", **options) -> Campaign:
    return Campaign.create(uuid4(), uuid4(), name, [EMAIL] if steps is None else steps, T0, **options)


def test_creating_a_campaign_records_its_whole_definition() -> None:
    campaign_id, brand_id = uuid4(), uuid4()
    window = {"days": ["mon"], "start": "09:00", "end": "17:00"}
    steps = [EMAIL, Step("w", StepType.WAIT, 1, 0, wait_days=2), sms()]
    campaign = Campaign.create(
        campaign_id,
        brand_id,
        "Spring",
        steps,
        T0,
        audience_type="customers",
        ai_personalization=True,
        lead_group_ids=["g1"],
        timezone="Europe/Paris",
        sending_window=window,
    )
    [created] = campaign.collect_events()
    assert isinstance(created, Campaign.CampaignCreated)
    assert (created.originator_id, created.brand_id, created.name) == (campaign_id, brand_id, "Spring")
    assert (created.audience_type, created.ai_personalization, created.lead_group_ids) == (
        "customers",
        True,
        ["g1"],
    )
    assert (created.timezone, created.sending_window, created.created_at) == ("Europe/Paris", window, T0)
    assert created.steps == [step.as_dict() for step in steps]
    assert (campaign.id, campaign.brand_id, campaign.audience_type) == (campaign_id, brand_id, "customers")
    assert (campaign.ai_personalization, campaign.timezone, campaign.created_at) == (True, "Europe/Paris", T0)
    assert campaign.status is CampaignStatus.DRAFT


def test_a_campaign_defined_with_defaults_targets_leads_in_utc_always_open_without_ai() -> None:
    campaign = create()
    assert (campaign.audience_type, campaign.ai_personalization, campaign.timezone) == ("leads", False, "UTC")
    assert (campaign.lead_group_ids, campaign.sending_window) == ([], {})


@pytest.mark.parametrize(
    ("steps", "options", "message"),
    [
        ([EMAIL], {"name": ""}, f"a campaign name has 1 to {MAX_NAME} characters"),
        (
            [EMAIL],
            {"audience_type": "\x00"},
            "the campaign's audience_type contains a NUL character at position 0",
        ),
        ([EMAIL, sms(sid="e")], {}, "step ids must be unique"),
        (
            [Step("e", StepType.EMAIL, 0, 0, subject="Hi")],
            {},
            "step e: an EMAIL step needs a subject and a body",
        ),
        (
            [Step("e", StepType.EMAIL, 0, 0, body="Hello")],
            {},
            "step e: an EMAIL step needs a subject and a body",
        ),
        ([sms(body="")], {}, "step m: an SMS step needs a body"),
        ([voicemail(None)], {}, "step v: a VOICEMAIL step needs an audio_url"),
        ([Step("w", StepType.WAIT, 0, 0, wait_days=-1)], {}, "step w: wait_days must be 0 to 365"),
        ([Step("e", StepType.EMAIL, -1, 0, subject="s", body="b")], {}, "step e: group must be 0 to 365"),
        (
            [EMAIL],
            {"sending_window": {"start": "10:00", "end": "10:00"}},
            "a sending window must end after it starts",
        ),
        (
            [EMAIL],
            {"timezone": "Mars/Olympus_Mons"},
            "unknown time zone 'Mars/Olympus_Mons': use an IANA name such as Europe/Paris",
        ),
        (
            [EMAIL],
            {"timezone": "../etc"},
            "unknown time zone '../etc': use an IANA name such as Europe/Paris",
        ),
    ],
    ids=[
        "empty name",
        "NUL audience",
        "duplicate ids",
        "email without body",
        "email without subject",
        "sms without body",
        "voicemail without audio",
        "negative wait",
        "negative group",
        "empty window",
        "unknown zone",
        "zone path",
    ],
)
def test_a_malformed_definition_is_refused_and_says_why(steps, options, message) -> None:
    with pytest.raises(InvalidCampaign, match=exactly(message)):
        create(steps, **options)


@pytest.mark.parametrize(
    ("steps", "name"),
    [
        ([EMAIL], "Q"),
        ([EMAIL], "n" * MAX_NAME),
        ([EMAIL, Step("w", StepType.WAIT, 1, 0, wait_days=MAX_WAIT_DAYS)], "waits a year"),
        ([EMAIL, Step("w", StepType.WAIT, 1, 0, wait_days=0)], "waits nothing"),
        ([Step("e", StepType.EMAIL, 0, 0, subject="s" * MAX_SUBJECT, body="b" * MAX_BODY)], "longest email"),
        ([Step("e", StepType.EMAIL, 0, 0, subject="s", body="b" * (MAX_SMS_BODY + 1))], "email past an SMS"),
        ([sms(body="b" * MAX_SMS_BODY)], "longest SMS"),
        ([voicemail("https://cdn.example.com/" + "a" * (MAX_URL - 24))], "longest URL"),
        ([voicemail("http://cdn.example.com/a.mp3")], "http"),
        ([voicemail("https://cdn.example.com/a.mp3")], "https"),
        ([voicemail("HTTP://CDN.EXAMPLE.COM/A.MP3")], "upper-case http"),
        ([voicemail("Https://cdn.example.com/a.mp3")], "mixed-case https"),
    ],
)
def test_a_definition_at_a_boundary_is_accepted(steps, name) -> None:
    campaign = create(steps, name=name)
    assert [step.id for step in campaign.steps] == [
        step.id for step in sorted(steps, key=lambda s: (s.group, s.order))
    ]


def test_the_longest_audio_url_is_exactly_at_the_limit() -> None:
    url = "https://cdn.example.com/" + "a" * (MAX_URL - 24)
    assert len(url) == MAX_URL
    with pytest.raises(
        InvalidCampaign, match=exactly(f"step v: audio_url is longer than {MAX_URL} characters")
    ):
        create([voicemail(url + "a")])


def test_a_step_is_found_by_its_id_and_an_unknown_one_is_a_domain_error() -> None:
    campaign = create([EMAIL, sms(), voicemail("https://a/b.mp3")])
    assert campaign.step("m") == sms()
    assert campaign.step("v") == voicemail("https://a/b.mp3")
    with pytest.raises(DomainError, match=exactly(f"campaign {campaign.id} has no step x")):
        campaign.step("x")


def test_a_refused_transition_names_the_action_and_the_status() -> None:
    campaign = create()
    with pytest.raises(IllegalTransition, match=exactly("cannot pause a campaign that is DRAFT")):
        campaign.pause(T0)
    campaign.archive(T0)
    with pytest.raises(IllegalTransition, match=exactly("cannot launch a campaign that is ARCHIVED")):
        campaign.launch(T0, 0)


def test_lifecycle_events_record_when_each_change_happened() -> None:
    campaign = create()
    hour = timedelta(hours=1)
    campaign.launch(launched_at=T0 + hour, credits_reserved=12)
    campaign.pause(T0 + 2 * hour)
    campaign.resume(T0 + 3 * hour)
    campaign.complete(T0 + 4 * hour)
    campaign.archive(T0 + 5 * hour)
    _created, launched, paused, resumed, completed, archived = campaign.collect_events()
    assert (launched.launched_at, launched.credits_reserved) == (T0 + hour, 12)
    assert isinstance(paused, Campaign.CampaignPaused) and paused.paused_at == T0 + 2 * hour
    assert isinstance(resumed, Campaign.CampaignResumed) and resumed.resumed_at == T0 + 3 * hour
    assert completed.completed_at == T0 + 4 * hour
    assert archived.archived_at == T0 + 5 * hour


@pytest.mark.parametrize(
    "step",
    [
        Step("e0", StepType.EMAIL, 0, order=0, subject="Hi", body="Hello"),
        Step("w1", StepType.WAIT, 1, order=0, wait_days=3),
        Step("v2", StepType.VOICEMAIL, 2, order=1, audio_url="https://example.com/a.mp3"),
    ],
)
def test_a_steps_dict_has_every_field_and_reads_back_as_the_same_step(step):
    """`as_dict` is written field by field (it is on the enrollment's hot path): it must keep up with
    the dataclass's fields."""
    assert step.as_dict() == {**dataclasses.asdict(step), "type": step.type.value}
    assert Step.from_dict(step.as_dict()) == step
