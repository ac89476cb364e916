"""The deliverability guard's routes: a brand's settings (the contract's defaults until changed,
limits out of range a 422 problem that changes nothing, one brand's settings not another's), the
`pause` a campaign shows (who, why, when; none once resumed), and the resume of a sender account
that is not paused (a 409)."""

from __future__ import annotations

from datetime import datetime

from tests.api.api_support import assert_problem, launchable_campaign
from tests.support import Client

SERVICE_ROLES = ("projector",)
DEFAULTS = {"max_bounce_rate": 0.05, "max_opt_out_rate": 0.02, "min_sends": 50, "window_sends": 500}
SETTINGS = "/v1/deliverability-settings"


def _fields(problem: dict) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


def test_a_brand_starts_with_the_contracts_defaults(service):
    client = Client(service)
    assert client.ok(client.get(SETTINGS)) == DEFAULTS


def test_changed_settings_are_the_brands_own(service):
    client, other = Client(service), Client(service)
    chosen = {"max_bounce_rate": 0.1, "max_opt_out_rate": 0.0, "min_sends": 1, "window_sends": 1}

    assert client.ok(client.http.put(SETTINGS, json=chosen)) == chosen
    assert client.ok(client.get(SETTINGS)) == chosen
    assert other.ok(other.get(SETTINGS)) == DEFAULTS


def test_settings_out_of_range_are_refused_and_change_nothing(service):
    client = Client(service)
    refused = [
        ({"max_bounce_rate": 1.01}, "body.max_bounce_rate"),
        ({"max_opt_out_rate": -0.01}, "body.max_opt_out_rate"),
        ({"min_sends": 0}, "body.min_sends"),
        ({"window_sends": 10_001}, "body.window_sends"),
        ({"min_sends": 100, "window_sends": 99}, "body.window_sends"),  # a window smaller than min_sends
        ({"max_opt_out_rate": False}, "body.max_opt_out_rate"),  # a boolean is no rate
        ({"min_sends": True}, "body.min_sends"),
        ({"window_sends": "500"}, "body.window_sends"),
    ]
    for change, field in refused:
        problem = assert_problem(client.http.put(SETTINGS, json={**DEFAULTS, **change}), 422)
        assert field in _fields(problem), (change, problem)
    assert client.ok(client.get(SETTINGS)) == DEFAULTS


def test_a_users_pause_shows_who_paused_and_when_until_the_resume(service):
    client = Client(service)
    campaign = launchable_campaign(client, 1)
    assert client.ok(client.get(f"/v1/campaign/{campaign}"))["pause"] is None  # a DRAFT
    client.ok(client.post(f"/v1/campaign/{campaign}/launch"))
    client.ok(client.post(f"/v1/campaign/{campaign}/pause"))

    shown = client.ok(client.get(f"/v1/campaign/{campaign}"))
    assert shown["status"] == "PAUSED"
    assert (shown["pause"]["by"], shown["pause"]["reason"]) == ("user", None)
    events = client.ok(client.get(f"/v1/campaign/{campaign}/events"))["items"]
    [paused] = [e for e in events if e["type"] == "CampaignPaused"]
    assert datetime.fromisoformat(shown["pause"]["at"]) == datetime.fromisoformat(paused["occurred_at"])
    assert paused["data"]["by"] == "user"

    client.ok(client.post(f"/v1/campaign/{campaign}/resume"))
    assert client.ok(client.get(f"/v1/campaign/{campaign}"))["pause"] is None


def test_resuming_another_brands_sender_account_is_a_404(service):
    owner, stranger = Client(service), Client(service)
    account = owner.sender("email", "sales@owner.example")
    assert_problem(stranger.post(f"/v1/sender-accounts/{account['id']}/resume"), 404)
    assert_problem(owner.post(f"/v1/sender-accounts/{account['id']}/resume"), 409)  # not paused
