"""`GET /v1/campaign/{id}?as_of=` gives that one campaign's credits and metrics: a second campaign of
the same brand, launched, sent, settled and archived meanwhile, changes nothing in the first's
figures, at any moment."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support import Client, contacts, eventually

STEPS = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
TWO_STEPS = [*STEPS, {"type": "EMAIL", "group": 1, "subject": "Again", "body": "Hello again"}]


def _settled(client: Client, campaign_id: str, consumed: int) -> dict:
    return eventually(
        lambda: (
            (d := client.ok(client.get(f"/v1/campaign/{campaign_id}")))["credits"]["consumed"] == consumed
            and d
        )
    )


def _as_of(client: Client, campaign_id: str, moment: datetime) -> dict:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}", params={"as_of": moment.isoformat()}))


def test_a_second_campaign_of_the_brand_changes_nothing_in_the_first_ones_figures_as_of_any_moment(service):
    client = Client(service)
    client.sender("email", "sales@brand.example")
    first = client.campaign(client.lead_group(contacts(2, phones=False)), STEPS, name="first")
    client.ok(client.post(f"/v1/campaign/{first}/launch"))
    alone = _settled(client, first, 2)
    before_the_second = datetime.now(UTC)

    second = client.campaign(client.lead_group(contacts(3, phones=False, start=10)), TWO_STEPS, name="second")
    client.ok(client.post(f"/v1/campaign/{second}/launch"))
    _settled(client, second, 3)
    client.ok(client.post(f"/v1/campaign/{second}/archive"))
    eventually(lambda: client.ok(client.get(f"/v1/campaign/{second}"))["credits"]["outstanding"] == 0)
    now = datetime.now(UTC)

    for moment in (before_the_second, now):
        figures = _as_of(client, first, moment)
        assert (
            figures["credits"]
            == alone["credits"]
            == {
                "reserved": 2,
                "consumed": 2,
                "released": 0,
                "outstanding": 0,
            }
        )
        assert figures["metrics"]["sent"]["email"] == 2 and figures["metrics"]["enrolled"] == 2
    live = client.ok(client.get(f"/v1/campaign/{first}"))
    assert _as_of(client, first, now)["metrics"] == live["metrics"]
    assert _as_of(client, second, now)["credits"] == {
        "reserved": 6,
        "consumed": 3,
        "released": 3,
        "outstanding": 0,
    }
