"""Each text field has the limit of what it is: the HELP answer is a text message, so it may be as
long as an SMS body (1,600 characters) and not one character more, however much shorter than an
email body's 100 KB that is; an SMS step's body has the same limit, an email step's body its own."""

from __future__ import annotations

from tests.api.api_support import EMAIL_STEP, SMS_STEP, assert_problem
from tests.support import Client

SERVICE_ROLES = ("projector",)
SMS_LIMIT, EMAIL_LIMIT = 1600, 100 * 1024


def _settings(help_text: str) -> dict:
    return {"allowed_from": "08:00", "allowed_until": "21:00", "help_text": help_text}


def _fields(problem: dict) -> set[str]:
    return {error["field"] for error in problem.get("errors", [])}


def test_a_help_text_at_the_sms_limit_is_kept_and_one_character_over_is_refused(service):
    client = Client(service)
    longest = "h" * SMS_LIMIT

    assert (
        client.ok(client.http.put("/v1/messaging-settings", json=_settings(longest)))["help_text"] == longest
    )
    for too_long in ("h" * (SMS_LIMIT + 1), "h" * EMAIL_LIMIT):
        problem = assert_problem(client.http.put("/v1/messaging-settings", json=_settings(too_long)), 422)
        assert "body.help_text" in _fields(problem)

    assert client.ok(client.get("/v1/messaging-settings"))["help_text"] == longest


def test_a_step_body_is_bounded_by_its_own_channels_limit(service):
    client = Client(service)

    def create(step: dict):
        return client.post("/v1/campaign/", {"name": "limits", "steps": [step]})

    client.ok(create({**SMS_STEP, "body": "b" * SMS_LIMIT}), 201)
    client.ok(create({**EMAIL_STEP, "body": "b" * EMAIL_LIMIT}), 201)
    assert "body.steps.0.body" in _fields(
        assert_problem(create({**SMS_STEP, "body": "b" * (SMS_LIMIT + 1)}), 422)
    )
    assert "body.steps.0.body" in _fields(
        assert_problem(create({**EMAIL_STEP, "body": "b" * (EMAIL_LIMIT + 1)}), 422)
    )
