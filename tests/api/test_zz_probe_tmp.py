import time
from fastapi.testclient import TestClient
from tests.support import Client, contacts, running_service

def test_probe(database_url):
    with running_service(database_url) as s:
        c = Client(s)
        h = TestClient(s.http_app(), raise_server_exceptions=False)
        h.headers["Authorization"] = f"Bearer {c.api_key}"
        body = {"channel": "sms", "provider": "sandbox", "address": "+14155550000"}
        print("s1", h.post("/v1/sender-accounts", json=body).status_code)
        r = h.post("/v1/sender-accounts", json=body); print("dup", r.status_code, r.headers.get("content-type"), r.text[:200])
        r = h.post("/v1/sender-accounts", json={"channel": "sms", "provider": "sandbox", "address": "hello"}); print("badaddr", r.status_code, r.text[:200])
        r = h.post("/v1/sender-accounts", json={"channel": "email", "provider": "sandbox", "address": "a@b.co", "daily_limit": 50, "warmup": {"enabled": True, "start_limit": 10, "daily_increment": 5}, "credentials": {"password": "s3cret"}}); print("warm", r.status_code, r.text)
        r = h.post("/v1/sender-accounts", json={"channel": "sms", "provider": "twilio", "address": "+14155550001"}); print("twilio", r.status_code, r.text[:200])
        g = c.lead_group(contacts(2))
        r = h.post("/v1/campaign/", json={"name": "tz", "lead_group_ids": [g], "timezone": "Mars/Base", "steps": [{"type": "SMS", "body": "x"}]}); print("tz", r.status_code, r.text[:300])
        if r.status_code == 201:
            r2 = h.post(f"/v1/campaign/{r.json()['id']}/launch"); print("tz launch", r2.status_code, r2.text[:300])
            time.sleep(2)
            print(h.get(f"/v1/campaign/{r.json()['id']}").json()["metrics"])
            print(h.get("/readyz").text)
        r = h.post("/v1/campaign/", json={"name": "w", "lead_group_ids": [g], "sending_window": {"days": [], "start": "10:00", "end": "09:00"}, "steps": [{"type": "SMS", "body": "x"}]}); print("window", r.status_code, r.text[:300])
        r = h.post("/v1/campaign/", json={"name": "w", "lead_group_ids": [g, g], "steps": [{"type": "SMS", "body": "x"}]}); print("dupgroup", r.status_code, r.text[:100])
        r = h.post("/v1/campaign/", json={"name": "w", "lead_group_ids": [g], "template_id": "00000000-0000-0000-0000-000000000000", "steps": []}); print("tmpl", r.status_code, r.text[:200])
        r = h.post("/v1/campaign/", json={"name": "x"}, headers={"Idempotency-Key": "k1"}); print("k1", r.status_code)
        cid = r.json()["id"]
        r = h.post(f"/v1/campaign/{cid}/launch", headers={"Idempotency-Key": "k1"}); print("k1 launch", r.status_code, r.text[:200])
        r = h.post(f"/v1/campaign/{cid}/archive"); print("archive", r.status_code, r.text)
        r = h.post(f"/v1/campaign/{cid}/archive"); print("archive2", r.status_code, r.text)
        r = h.get(f"/v1/campaign/{cid}"); print(r.json())
        r = h.post(f"/v1/campaign/", headers={"Idempotency-Key": "x"*300}, json={"name":"y"}); print("longkey", r.status_code, r.text[:200])
        r = h.post("/v1/lead-groups/00000000-0000-0000-0000-000000000000/contacts", json={"contacts": []}); print("lg missing", r.status_code, r.text[:200])
        r = h.post(f"/v1/lead-groups/{g}/contacts", json={"contacts": [{"email": "A@x.io"}, {"email": "a@x.io", "phone": "+1 (415) 555-0100"}, {"phone": "0014155550100"}]}); print("dupes in batch", r.status_code, r.text[:300])
        r = h.post(f"/v1/lead-groups/{g}/contacts", json={"contacts": [{"email": "lead0@example.com", "phone": "+14155550001"}]}); print("merge conflict", r.status_code, r.text[:300])
