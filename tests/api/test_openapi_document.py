"""The OpenAPI document at /openapi.json describes every route of the contract this service serves.

Each contract route is present with its method (path parameters may be named freely), the create
and launch routes document the Idempotency-Key header, and the list and detail answers are described
by schemas holding the contract's fields.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from tests.api.api_support import service_on_own_database

ROUTES = {
    ("post", "/v1/campaign/"),
    ("get", "/v1/campaign/"),
    ("get", "/v1/campaign/{}"),
    ("post", "/v1/campaign/{}/launch"),
    ("post", "/v1/campaign/{}/pause"),
    ("post", "/v1/campaign/{}/resume"),
    ("post", "/v1/campaign/{}/archive"),
    ("post", "/v1/lead-groups"),
    ("get", "/v1/lead-groups"),
    ("get", "/v1/lead-groups/{}"),
    ("post", "/v1/lead-groups/{}/contacts"),
    ("post", "/v1/sender-accounts"),
    ("get", "/v1/sender-accounts"),
    ("post", "/v1/sender-accounts/{}/resume"),
    ("get", "/v1/deliverability-settings"),
    ("put", "/v1/deliverability-settings"),
    ("get", "/v1/credits"),
    ("get", "/v1/credits/ledger"),
    ("post", "/v1/api-keys"),
    ("get", "/v1/api-keys"),
    ("delete", "/v1/api-keys/{}"),
    ("get", "/v1/campaign/{}/executions"),
    ("get", "/v1/campaign/{}/leads"),
    ("get", "/v1/campaign/{}/events"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/webhooks/twilio/sms"),
    ("post", "/webhooks/twilio/status"),
    ("post", "/webhooks/twilio/voice"),
    ("get", "/t/o/{}"),
    ("get", "/t/c/{}"),
    ("get", "/u/{}"),
    ("post", "/u/{}"),
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


@pytest.fixture(scope="module")
def service(server_url):
    with service_on_own_database(server_url, roles=()) as running:
        yield running


@pytest.fixture
def document(service):
    """Made again for each test (a fraction of a second): mutmut runs a mutant of the code that
    makes it only against the tests it saw reach that code, and it sees a module fixture's work
    as the first test's alone, so the other tests of the document would never judge such a mutant."""
    response = TestClient(service.http_app()).get("/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def test_openapi_describes_every_contract_route_served_here(document):
    served = {
        (method, _shape(path))
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }
    assert served >= ROUTES, sorted(ROUTES - served)


def test_openapi_documents_the_idempotency_key_on_create_and_launch(document):
    operations = {
        (method, _shape(path)): operation
        for path, ops in document["paths"].items()
        for method, operation in ops.items()
    }
    for route in [("post", "/v1/campaign/"), ("post", "/v1/campaign/{}/launch")]:
        headers = {
            p["name"].lower() for p in operations[route].get("parameters", []) if p.get("in") == "header"
        }
        assert "idempotency-key" in headers, route


def test_openapi_schemas_hold_the_contract_fields(document):
    schemas = document["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert fields("CampaignOut") >= {
        "id",
        "name",
        "status",
        "audience_type",
        "ai_personalization",
        "lead_group_ids",
        "steps",
        "created_at",
        "launched_at",
        "completed_at",
        "metrics",
        "credits",
        "pause",
    }
    assert fields("PauseOut") == {"by", "reason", "at"}
    assert (
        fields("DeliverabilitySettingsIn")
        == fields("DeliverabilitySettingsOut")
        == {
            "max_bounce_rate",
            "max_opt_out_rate",
            "min_sends",
            "window_sends",
        }
    )
    assert fields("CampaignPage") >= {"items", "next_cursor"}
    assert fields("LaunchOut") >= {"id", "status", "credits_reserved"}
    assert fields("LeadGroupOut") >= {"id", "name", "contact_count"}
    assert fields("ImportOut") >= {"added", "updated", "invalid"}
    assert fields("SenderAccountOut") >= {
        "id",
        "channel",
        "provider",
        "address",
        "daily_limit",
        "limit_today",
        "sends_today",
        "status",
    }
    assert fields("CreditsOut") >= {"plan", "balance", "reserved_outstanding"}
    assert fields("ExecutionOut") >= {
        "contact_id",
        "step_id",
        "type",
        "status",
        "sender_account_id",
        "provider_message_id",
        "scheduled_for",
        "sent_at",
        "opened_at",
        "replied_at",
        "error",
    }
    assert fields("LeadOut") >= {
        "contact_id",
        "state",
        "current_group",
        "next_due_at",
        "replied",
        "unsubscribed",
    }
    assert fields("CampaignEventOut") >= {
        "position",
        "type",
        "aggregate_id",
        "version",
        "occurred_at",
        "data",
    }
    assert fields("LedgerEntryOut") >= {
        "position",
        "occurred_at",
        "type",
        "amount",
        "balance_after",
        "campaign_id",
        "reason",
    }
    assert fields("ApiKeyCreated") >= {"id", "name", "prefix", "api_key", "created_at"}
    assert fields("ApiKeyOut") == {"id", "name", "prefix", "created_at", "last_used_at"}  # no secret
    for page in ("ExecutionPage", "LeadPage", "CampaignEventPage", "LedgerPage", "ApiKeyPage"):
        assert fields(page) >= {"items", "next_cursor"}


PAGES = {
    "CampaignPage": "CampaignSummary",
    "ExecutionPage": "ExecutionOut",
    "LeadPage": "LeadOut",
    "CampaignEventPage": "CampaignEventOut",
    "TemplatePage": "TemplateOut",
    "LeadGroupPage": "LeadGroupOut",
    "SuppressionPage": "SuppressionOut",
    "SenderAccountPage": "SenderAccountOut",
    "LedgerPage": "LedgerEntryOut",
    "ApiKeyPage": "ApiKeyOut",
}


def test_every_list_answers_one_page_shape_under_its_own_name(document):
    """Items and the next page's cursor, both always present (null on the last page)."""
    schemas = document["components"]["schemas"]
    for page, item in PAGES.items():
        assert set(schemas[page]["properties"]) == {"items", "next_cursor"}, page
        assert set(schemas[page]["required"]) == {"items", "next_cursor"}, page
        assert schemas[page]["properties"]["items"]["items"] == {"$ref": f"#/components/schemas/{item}"}


def test_statuses_types_and_channels_list_their_values(document):
    schemas = document["components"]["schemas"]

    def values(model: str, field: str) -> set[str]:
        prop = schemas[model]["properties"][field]
        if "$ref" in prop:
            prop = schemas[prop["$ref"].rsplit("/", 1)[-1]]
        return set(prop["enum"])

    statuses = {"DRAFT", "ACTIVE", "PAUSED", "COMPLETED", "ARCHIVED"}
    for model in ("CampaignSummary", "CampaignOut", "StatusOut", "LaunchOut"):
        assert values(model, "status") == statuses, model
    for model in ("StepOut", "ExecutionOut"):
        assert values(model, "type") == {"EMAIL", "SMS", "VOICEMAIL", "WAIT"}, model
    assert {"CampaignCreated", "ContactEnrolled", "StepSent"} <= values("CampaignEventOut", "type")
    assert (
        values("SenderAccountOut", "channel")
        == values("SenderAccountIn", "channel")
        == {"email", "sms", "voice"}
    )
    assert values("SenderAccountOut", "status") == {"active", "reconnect_required", "paused_deliverability"}
    assert values("OutboxItem", "channel") == {"email", "sms", "voicemail"}
    assert values("CreditsOut", "plan") == {"basic", "standard", "premium"}


def _operations(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def test_openapi_documents_every_error_as_a_problem(document):
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "errors"} <= set(problem["properties"])
    for method, path, operation in _operations(document):
        responses = operation["responses"]
        expected = {"500"}
        if path.startswith("/v1"):
            expected |= {"401", "429"}
            for status, response in responses.items():
                headers = set(response.get("headers", {}))
                limits = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
                assert status in ("401", "500") or limits <= headers, (method, path, status)
            assert "Retry-After" in responses["429"]["headers"], (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            expected |= {"422"}  # where it takes input
        if "{" in path:
            expected |= {"404"}
        if operation.get("requestBody"):
            expected |= {"413"}
        assert expected <= set(responses), (method, path, sorted(responses))
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                assert "application/problem+json" in response.get("content", {}), (method, path, status)


def test_openapi_documents_the_idempotency_key_on_every_create(document):
    for method, path, operation in _operations(document):
        if method == "post" and (path.endswith("/launch") or path.rstrip("/") in CREATES):
            headers = {p["name"].lower() for p in operation.get("parameters", []) if p.get("in") == "header"}
            assert "idempotency-key" in headers, path
            assert "409" in operation["responses"], path


CREATES = {
    "/v1/campaign",
    "/v1/templates",
    "/v1/lead-groups",
    "/v1/sender-accounts",
    "/v1/suppressions",
    "/v1/api-keys",
}


def test_openapi_request_bodies_refuse_unknown_fields_as_the_server_does(document):
    schemas = document["components"]["schemas"]
    for name in ["CampaignIn", "StepIn", "SendingWindowIn", "TemplateIn", "LeadGroupIn"]:
        assert schemas[name].get("additionalProperties") is False, name
    for name in ["SuppressionIn", "SenderAccountIn", "Warmup"]:
        assert schemas[name].get("additionalProperties") is False, name
    upload = next(op for m, path, op in _operations(document) if path.endswith("/contacts"))
    contacts = upload["requestBody"]["content"]["application/json"]["schema"]
    assert contacts.get("additionalProperties") is False
    assert contacts["properties"]["contacts"]["items"].get("additionalProperties") is False
    # inlined whole: a "$ref" or "$defs" left in it would point into a document that has no such place
    assert "$ref" not in json.dumps(contacts) and "$defs" not in json.dumps(contacts)


def test_openapi_documents_the_as_of_time_on_the_campaign_detail(document):
    (as_of,) = [
        p
        for p in document["paths"]["/v1/campaign/{campaign_id}"]["get"]["parameters"]
        if p["name"] == "as_of"
    ]
    assert as_of["in"] == "query" and not as_of.get("required")
    assert "date-time" in str(as_of["schema"])


def test_the_twilio_webhooks_document_their_form_and_the_403_of_a_bad_signature(document):
    for kind in ("sms", "status", "voice"):
        operation = document["paths"][f"/webhooks/twilio/{kind}"]["post"]
        assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
        assert operation["responses"]["403"]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
        assert "security" not in operation  # no bearer key: the signature proves the caller


def test_the_tracking_links_document_the_pixel_the_redirect_and_the_404_of_a_bad_token(document):
    pixel, click = document["paths"]["/t/o/{token}"]["get"], document["paths"]["/t/c/{token}"]["get"]
    assert "image/gif" in pixel["responses"]["200"]["content"]
    assert "Location" in click["responses"]["302"]["headers"]
    for operation in (pixel, click):
        assert operation["responses"]["404"]["content"] == {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
        assert "security" not in operation  # no bearer key: the signed token is the credential


def test_openapi_text_fields_say_which_characters_they_take(document):
    name = document["components"]["schemas"]["CampaignIn"]["properties"]["name"]
    assert name["pattern"] == "^[^\\u0000]*$" and name["minLength"] == 1  # any text but NUL
    listing = document["paths"]["/v1/campaign/"]["get"]["parameters"]
    cursor = next(parameter for parameter in listing if parameter["name"] == "cursor")
    assert "^[A-Za-z0-9_=-]*$" in str(cursor["schema"])  # base64url, as handed out


def test_openapi_maps_say_what_their_keys_and_their_values_take(document):
    text = {"minLength": 0, "pattern": "^[^\\u0000]*$"}
    credentials = document["components"]["schemas"]["SenderCredentialsIn"]["properties"]["credentials"]
    assert "patternProperties" not in credentials  # keys are checked like any text: propertyNames
    assert credentials["propertyNames"] == {**text, "maxLength": 200}
    assert credentials["additionalProperties"] == {**text, "type": "string", "maxLength": 10000}
    upload = next(op for m, path, op in _operations(document) if path.endswith("/contacts"))
    contact = upload["requestBody"]["content"]["application/json"]["schema"]["properties"]["contacts"][
        "items"
    ]
    fields = contact["properties"]["fields"]
    assert "patternProperties" not in fields and fields["propertyNames"] == {
        **text,
        "minLength": 1,
        "maxLength": 100,
    }
    assert {"type": "boolean"} in fields["additionalProperties"]["anyOf"]


LIMITS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"]


def _answers(document, path: str, method: str) -> dict[str, tuple[str, list[str], list[str]]]:
    """Each status an operation documents: its description, its headers and its media types."""
    responses = document["paths"][path][method]["responses"]
    return {
        status: (answer["description"], sorted(answer.get("headers", {})), list(answer.get("content", {})))
        for status, answer in responses.items()
    }


def test_openapi_lists_exactly_what_each_kind_of_route_can_answer_with_the_headers_it_carries(document):
    problem, ok = ["application/problem+json"], ["application/json"]
    limited = (LIMITS, problem)
    assert _answers(document, "/v1/campaign/", "get") == {
        "200": ("Successful Response", LIMITS, ok),
        "400": ("Bad Request", *limited),  # a cursor
        "401": ("Unauthorized", [], problem),  # no brand yet: no limits
        "403": ("Forbidden", *limited),  # a suspended brand
        "422": ("Validation Error", *limited),
        "429": ("Too Many Requests", [*LIMITS, "Retry-After"], problem),
        "500": ("Internal Server Error", [], problem),  # a crash, outside the gate
    }
    create = _answers(document, "/v1/campaign/", "post")
    assert sorted(create) == ["201", "400", "401", "403", "404", "409", "413", "422", "429", "500"]
    assert create["409"] == ("Conflict", *limited)  # the Idempotency-Key's request under way
    assert create["413"][1:] == limited
    assert sorted(_answers(document, "/v1/campaign/{campaign_id}", "get")) == [
        "200", "401", "403", "404", "422", "429", "500"
    ]  # fmt: skip
    assert _answers(document, "/healthz", "get") == {
        "200": ("Successful Response", [], ok),
        "500": ("Internal Server Error", [], problem),
    }
    assert sorted(_answers(document, "/u/{token}", "post")) == ["200", "400", "404", "413", "422", "500"]
    operations = document["paths"]
    assert operations["/v1/campaign/"]["get"]["security"] == [{"bearer": []}]
    assert (
        "security" not in operations["/healthz"]["get"] and "security" not in operations["/u/{token}"]["post"]
    )
    assert document["components"]["securitySchemes"] == {
        "bearer": {"type": "http", "scheme": "bearer", "description": "the brand's API key"},
        "admin": {"type": "http", "scheme": "bearer", "description": "the operators' ADMIN_API_KEY"},
    }


def test_openapi_names_its_problem_schema_and_drops_fastapis_validation_shapes(document):
    schemas = document["components"]["schemas"]
    assert schemas["Problem"]["title"] == "Problem"
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail"]
    assert schemas["Problem"]["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }
    assert set(schemas["FieldError"]["properties"]) == {"field", "error"}
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    assert "HTTPValidationError" not in json.dumps(document)
