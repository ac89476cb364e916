"""An erased person imported again is not counted at launch: the suppression that still stops
them keeps only the brand's keyed hash of the address, so the launch's snapshot hashes its
addresses when the brand has erased anyone, and no credit is reserved (then released) for a
contact the send path would withhold anyway. Another brand's contact with the same address is
counted as before."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from fastapi.testclient import TestClient

from tests.support import Client, eventually, running_service

ADMIN_KEY = "admin-reimport-test"
STEP = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
ERASED = "Erased.Person@Example.com"


def read(client: Client, campaign_id: str) -> dict[str, Any]:
    return client.ok(client.get(f"/v1/campaign/{campaign_id}"))


def test_a_person_erased_and_imported_again_is_neither_estimated_nor_reserved_for(database_url):
    key = Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=key, admin_api_key=ADMIN_KEY) as service:
        brand, other = Client(service), Client(service)
        for client in (brand, other):
            client.sender("email", "sales@brand.example")
        first = brand.campaign(brand.lead_group([{"email": ERASED}]), STEP)
        brand.ok(brand.post(f"/v1/campaign/{first}/launch"))
        eventually(lambda: read(brand, first)["status"] == "COMPLETED")

        admin = TestClient(service.http_app())
        admin.headers["Authorization"] = f"Bearer {ADMIN_KEY}"
        erased = admin.post(f"/admin/v1/brands/{brand.brand_id}/erasures", json={"address": ERASED})
        assert erased.status_code == 200, erased.text

        again = brand.campaign(brand.lead_group([{"email": ERASED}, {"email": "cy@example.com"}]), STEP)
        assert read(brand, again)["estimated_credits"] == 1
        launched = brand.ok(brand.post(f"/v1/campaign/{again}/launch"))
        assert launched["credits_reserved"] == 1
        eventually(lambda: read(brand, again)["status"] == "COMPLETED")
        assert [m["to"] for m in brand.outbox(again)] == ["cy@example.com"]
        # Settlement consumes a sent step's credit on its own pass, which may come after the
        # completion is shown: wait for it, then the figures must be exactly these.
        figures = eventually(lambda: (c := read(brand, again)["credits"])["consumed"] == 1 and c)
        assert (figures["reserved"], figures["consumed"], figures["released"]) == (1, 1, 0)

        # The other brand never erased anyone: its contact with the same address is counted and sent to.
        theirs = other.campaign(other.lead_group([{"email": ERASED}]), STEP)
        assert other.ok(other.post(f"/v1/campaign/{theirs}/launch"))["credits_reserved"] == 1
        eventually(lambda: read(other, theirs)["status"] == "COMPLETED")
        assert [m["to"] for m in other.outbox(theirs)] == [ERASED.lower()]
