"""Stored templates, placeholder checks, launch validation and the launch estimate, over HTTP.

A template is a brand's named step list; `template_id` copies it into a new campaign. Placeholders
that do not parse are refused when a campaign or template is created; a launch lists every reason
a campaign cannot run, including the contacts that lack a field with no fallback. A DRAFT shows
what its launch would reserve now, and the launch then reserves exactly that. A model-backed
personaliser that fails never stops a send: the template text goes out and StepSent says so.
"""

from __future__ import annotations

from uuid import UUID

from cryptography.fernet import Fernet

from commands.sending.personalisation import Personalised
from consumers.providers.sandbox import SandboxProvider
from domain.enrollment import Enrollment
from tests.support import Client, contacts, eventually, running_service

EMAIL = {"type": "EMAIL", "group": 0, "subject": "Hi {{first_name|there}}", "body": "Hello {{company|}}"}
SMS = {"type": "SMS", "group": 1, "body": "Text from us, {{first_name|friend}}"}
WAIT = {"type": "WAIT", "group": 1, "wait_days": 2}
TEMPLATE_STEPS = [EMAIL, WAIT, SMS]
MODEL_CALLS: list[str] = []


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def _template(client: Client, name: str = "Onboarding", steps=TEMPLATE_STEPS) -> dict:
    return client.ok(client.post("/v1/templates", {"name": name, "steps": steps}), 201)


def _contact_ids(client: Client) -> dict[str, str]:
    rows = client.container.db.fetch_all(
        "SELECT id, email FROM contacts WHERE brand_id = %s", (client.brand_id,)
    )
    return {row["email"]: str(row["id"]) for row in rows}


def _launch(client: Client, campaign_id: str):
    return client.post(f"/v1/campaign/{campaign_id}/launch")


def test_a_stored_template_is_read_listed_in_pages_and_copied_into_a_new_campaign(database_url):
    with running_service(database_url) as service:
        client, stranger = Client(service), Client(service)
        created = _template(client)
        assert set(created) == {"id", "name", "steps", "created_at"}
        assert [(s["type"], s["group"], s["subject"], s["body"]) for s in created["steps"]] == [
            (s["type"], s["group"], s.get("subject"), s.get("body")) for s in TEMPLATE_STEPS
        ]
        assert client.ok(client.get(f"/v1/templates/{created['id']}")) == created
        for name in ("second", "third"):
            _template(client, name)
        first = client.ok(client.get("/v1/templates", params={"limit": 2}))
        rest = client.ok(client.get("/v1/templates", params={"limit": 2, "cursor": first["next_cursor"]}))
        assert [t["name"] for t in first["items"] + rest["items"]] == ["Onboarding", "second", "third"]
        assert rest["next_cursor"] is None
        _problem(client.get("/v1/templates", params={"cursor": "bm90LW91cnM="}), 400)

        group = client.lead_group(contacts(2))
        body = {"name": "from template", "lead_group_ids": [group], "template_id": created["id"]}
        campaign = client.ok(client.post("/v1/campaign/", body), 201)
        assert [(s["type"], s["group"], s["order"], s["subject"], s["body"]) for s in campaign["steps"]] == [
            ("EMAIL", 0, 0, EMAIL["subject"], EMAIL["body"]),
            ("WAIT", 1, 0, None, None),
            ("SMS", 1, 1, None, SMS["body"]),
        ]

        both = _problem(client.post("/v1/campaign/", {**body, "steps": [EMAIL]}), 422)
        assert "either steps or template_id" in both["detail"]
        _problem(client.post("/v1/campaign/", {**body, "template_id": str(UUID(int=7))}), 404)
        assert stranger.get(f"/v1/templates/{created['id']}").status_code == 404
        assert stranger.ok(stranger.get("/v1/templates"))["items"] == []
        _problem(stranger.post("/v1/campaign/", {"name": "theirs", "template_id": created["id"]}), 404)


def test_repeating_a_template_or_sender_account_create_with_the_same_key_creates_one(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        key = {"Idempotency-Key": "create-once"}
        first = client.ok(client.post("/v1/templates", {"name": "t", "steps": [EMAIL]}, headers=key), 201)
        again = client.ok(client.post("/v1/templates", {"name": "t", "steps": [EMAIL]}, headers=key), 201)
        assert again == first and len(client.ok(client.get("/v1/templates"))["items"]) == 1
        account = {"channel": "email", "provider": "sandbox", "address": "s@brand.example"}
        key = {"Idempotency-Key": "account-once"}
        made = client.ok(client.post("/v1/sender-accounts", account, headers=key), 201)
        assert client.ok(client.post("/v1/sender-accounts", account, headers=key), 201) == made


def test_malformed_placeholders_are_refused_when_a_campaign_or_template_is_created(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        steps = [
            {"type": "EMAIL", "group": 0, "subject": "Hi {{ first name }}", "body": "ok {{company|}}"},
            {"type": "SMS", "group": 0, "body": "Hi {{first_name"},
        ]
        problem = _problem(client.post("/v1/campaign/", {"name": "bad", "steps": steps}), 422)
        assert "step 1 subject: malformed placeholder '{{ first name }}'" in problem["detail"]
        assert "step 2 body: '{{' at character 3 is never closed" in problem["detail"]
        template = _problem(client.post("/v1/templates", {"name": "bad", "steps": steps}), 422)
        assert template["title"] == "Invalid template" and "malformed placeholder" in template["detail"]
        no_subject = [{"type": "EMAIL", "group": 0, "body": "b"}]
        _problem(client.post("/v1/templates", {"name": "bad", "steps": no_subject}), 422)
        _problem(client.post("/v1/templates", {"name": "empty", "steps": []}), 422)
        assert client.ok(client.get("/v1/templates"))["items"] == []


def test_a_launch_lists_every_problem_including_each_contact_lacking_a_field(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(
            [
                {"email": "a@example.com", "phone": "+14155550101", "company": "Acme"},
                {"email": "b@example.com", "fields": {"company": "Beta"}},
                {"email": "c@example.com"},
                {"email": "d@example.com", "company": ""},
                {"phone": "+14155550105"},  # gets no EMAIL step, so needs no company
            ]
        )
        steps = [{"type": "EMAIL", "group": 0, "subject": "For {{company}}", "body": "Hi"}, SMS]
        campaign_id = client.campaign(group, steps)
        ids = _contact_ids(client)

        problems = _problem(_launch(client, campaign_id), 422)["problems"]
        assert problems[0] == "no active sender account for channel sms"
        lacking = problems[1]
        assert len(problems) == 2 and "'company'" in lacking and "2 contact(s)" in lacking, problems
        assert ids["c@example.com"] in lacking and ids["d@example.com"] in lacking
        assert ids["a@example.com"] not in lacking and ids["b@example.com"] not in lacking

        client.sender("sms", "+14155550000")
        problems = _problem(_launch(client, campaign_id), 422)["problems"]
        assert len(problems) == 1 and "'company'" in problems[0]
        fixed = [{"email": "c@example.com", "company": "Cee"}, {"email": "d@example.com", "company": "Dee"}]
        client.ok(client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": fixed}))
        assert client.ok(_launch(client, campaign_id))["status"] == "ACTIVE"


def test_many_contacts_lacking_a_field_are_capped_in_the_listing_with_the_total(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group(contacts(25, phones=False))
        campaign_id = client.campaign(
            group, [{"type": "EMAIL", "group": 0, "subject": "s", "body": "{{title}}"}]
        )
        (problem,) = _problem(_launch(client, campaign_id), 422)["problems"]
        assert "25 contact(s)" in problem and problem.endswith("and 5 more")
        assert sum(contact_id in problem for contact_id in _contact_ids(client).values()) == 20


def test_a_channel_whose_accounts_use_a_provider_without_an_adapter_cannot_launch(database_url):
    def sandbox_only(db):  # a build without the Twilio adapter
        return {"sandbox": SandboxProvider(db)}

    key = Fernet.generate_key().decode()
    with running_service(database_url, providers=sandbox_only, credentials_key=key) as service:
        client = Client(service)
        twilio = {"account_sid": "AC" + "1" * 32, "auth_token": "t"}
        body = {"channel": "sms", "provider": "twilio", "address": "+14155550100", "credentials": twilio}
        client.ok(client.post("/v1/sender-accounts", body), 201)
        campaign_id = client.campaign(client.lead_group(contacts(2)), [{**SMS, "group": 0}])
        (problem,) = _problem(_launch(client, campaign_id), 422)["problems"]
        assert "channel sms" in problem and "provider this build can send through (sandbox)" in problem


def test_a_draft_shows_the_credits_its_launch_would_reserve_and_launch_reserves_exactly_that(database_url):
    with running_service(database_url) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        client.sender("sms", "+14155550000")
        group = client.lead_group(contacts(3) + contacts(2, phones=False, start=10))
        steps = [EMAIL, SMS, WAIT, {**EMAIL, "group": 1}]  # 2 x 5 emails + 1 x 3 phones
        created = client.ok(
            client.post("/v1/campaign/", {"name": "q", "lead_group_ids": [group], "steps": steps}), 201
        )
        assert created["estimated_credits"] == 13
        client.ok(
            client.post(f"/v1/lead-groups/{group}/contacts", {"contacts": [{"email": "late@example.com"}]})
        )
        detail = client.ok(client.get(f"/v1/campaign/{created['id']}"))
        assert detail["estimated_credits"] == 15 and detail["credits"]["reserved"] == 0

        launched = client.ok(_launch(client, created["id"]))
        assert launched["credits_reserved"] == detail["estimated_credits"]
        after = client.ok(client.get(f"/v1/campaign/{created['id']}"))
        assert after["estimated_credits"] is None and after["credits"]["reserved"] == 15


class FailingModel:
    def personalise(self, step, contact_values) -> Personalised:
        MODEL_CALLS.append(step.id)
        raise RuntimeError("model down")


def failing_model() -> FailingModel:
    return FailingModel()


def test_a_failing_personaliser_still_sends_the_escaped_template_text_and_step_sent_says_so(database_url):
    plugin, _ = f"{__name__}:failing_model", MODEL_CALLS.clear()
    with running_service(database_url, personaliser=plugin, personaliser_timeout=2) as service:
        client = Client(service)
        client.sender("email", "sales@brand.example")
        group = client.lead_group([{"email": "ann@example.com", "first_name": "<Ann>"}])
        html = {
            "type": "EMAIL",
            "group": 0,
            "subject": "Hi {{first_name}}",
            "body": "<p>Hi {{first_name}}</p>",
        }
        body = {"name": "ai", "lead_group_ids": [group], "steps": [html], "ai_personalization": True}
        ai_campaign = client.ok(client.post("/v1/campaign/", body), 201)["id"]
        plain = client.ok(
            client.post("/v1/campaign/", {**body, "name": "plain", "ai_personalization": False}), 201
        )
        for campaign_id in (ai_campaign, plain["id"]):
            client.ok(_launch(client, campaign_id))

        notes = {}
        for campaign_id in (ai_campaign, plain["id"]):
            (sent,) = eventually(lambda c=campaign_id: client.outbox(c), timeout=60)
            assert (sent["subject"], sent["body"]) == ("Hi <Ann>", "<p>Hi &lt;Ann&gt;</p>")
            enrollment_id = Enrollment.create_id(UUID(campaign_id), UUID(sent["contact_id"]))

            def step_sent(enrollment_id=enrollment_id):
                events = service.store.repository.event_store.get(enrollment_id)
                return [e for e in events if type(e).__name__ == "StepSent"]

            notes[campaign_id] = eventually(step_sent, timeout=30)[0].personalisation
        assert notes[ai_campaign] == "template (personaliser failed: RuntimeError: model down)"
        assert notes[plain["id"]] == "template"
        assert len(MODEL_CALLS) == 1  # consulted for the AI campaign only
