"""Fair shares over HTTP on real PostgreSQL: each brand's requests through a token bucket of its own.

A brand may make its plan's burst of requests at once, then is refused with a 429 problem and a
`Retry-After` until its bucket refills; every answer to a brand carries `RateLimit-Limit`,
`RateLimit-Remaining` and `RateLimit-Reset`; another brand meanwhile is served as if alone; and a
brand may have only a few contact imports in flight (more answer 429 at once). Routes without a
brand key (probes, unsubscribe, tracking) are not limited.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from domain.credit_ledger import Plan
from tests.api.api_support import assert_problem, service_on_own_database
from tests.served import loopback_socket
from tests.support import Client, contacts, eventually

BURST, PER_SECOND = 6, 0.5  # slow refill: a test's few milliseconds give back no request


@pytest.fixture(scope="module")
def service(server_url):
    limits = {
        "rate_limit_basic_per_second": PER_SECOND,
        "rate_limit_basic_burst": BURST,
        "rate_limit_premium_per_second": PER_SECOND,
        "rate_limit_premium_burst": 3 * BURST,
        "heavy_requests_per_brand": 2,
    }
    with service_on_own_database(server_url, roles=(), **limits) as running:
        yield running


def test_a_brand_gets_its_burst_then_429_with_retry_after(service):
    brand = Client(service)
    answers = [brand.get("/v1/credits") for _ in range(BURST)]

    assert [a.status_code for a in answers] == [200] * BURST
    assert [int(a.headers["RateLimit-Remaining"]) for a in answers] == list(range(BURST - 1, -1, -1))
    assert {a.headers["RateLimit-Limit"] for a in answers} == {str(BURST)}
    assert 0 < int(answers[-1].headers["RateLimit-Reset"]) <= BURST / PER_SECOND

    refused = brand.get("/v1/credits")
    problem = assert_problem(refused, 429)
    assert problem["type"].endswith("/too-many-requests") and problem["title"] == "Too Many Requests"
    assert problem["detail"] == f"this brand may make {BURST} requests at once, refilled at its plan's rate"
    assert 1 <= int(refused.headers["Retry-After"]) <= 1 / PER_SECOND
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Limit"] == str(BURST)
    assert BURST / PER_SECOND - 2 <= int(refused.headers["RateLimit-Reset"]) <= BURST / PER_SECOND  # empty


def test_a_refused_brand_is_let_through_again_after_retry_after(service):
    brand = Client(service)
    for _ in range(BURST):
        brand.get("/v1/credits")
    refused = brand.get("/v1/credits")
    assert refused.status_code == 429

    time.sleep(1.05)  # half a request back at 0.5 a second: still refused, for the one second left
    half_way = brand.get("/v1/credits")
    assert half_way.status_code == 429 and half_way.headers["Retry-After"] == "1"
    time.sleep(int(half_way.headers["Retry-After"]))

    assert brand.get("/v1/credits").status_code == 200


def test_a_brand_at_its_limit_does_not_slow_another_brand(service):
    greedy, other = Client(service), Client(service)
    for _ in range(BURST + 5):
        greedy.get("/v1/credits")
    assert greedy.get("/v1/credits").status_code == 429

    answers = [other.get("/v1/credits") for _ in range(BURST)]
    assert [a.status_code for a in answers] == [200] * BURST
    assert answers[0].headers["RateLimit-Remaining"] == str(BURST - 1)


def test_the_limit_follows_the_brands_plan(service):
    premium = Client(service, plan=Plan.PREMIUM)
    answers = [premium.get("/v1/credits") for _ in range(BURST + 1)]
    assert [a.status_code for a in answers] == [200] * (BURST + 1)
    assert answers[0].headers["RateLimit-Limit"] == str(3 * BURST)


def test_every_answer_to_a_brand_carries_the_limit_headers(service):
    brand = Client(service)
    answers = [
        brand.get("/v1/campaign/00000000-0000-0000-0000-000000000000"),  # 404
        brand.post("/v1/lead-groups", {"name": ""}),  # 422
        brand.post("/v1/lead-groups", {"name": "x"}),  # 201
    ]
    assert [a.status_code for a in answers] == [404, 422, 201]
    for answer in answers:
        for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"):
            assert answer.headers.get(name, "").isdigit(), (answer.status_code, name)


def test_routes_without_a_brand_key_are_not_limited(service):
    brand = Client(service)
    for _ in range(BURST + 1):
        brand.get("/v1/credits")
    for path in ("/healthz", "/u/not-a-token", "/t/o/not-a-token"):
        for _ in range(BURST + 1):
            answer = brand.http.get(path)
            assert answer.status_code != 429, path
            assert "RateLimit-Limit" not in answer.headers, path


@pytest.fixture(scope="module")
def live_url(service) -> Iterator[str]:
    """The service's API on a loopback socket: an import held open needs a real connection."""
    sock = loopback_socket()
    server = uvicorn.Server(uvicorn.Config(service.http_app(), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    eventually(lambda: server.started, timeout=20)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


class HeldUpload:
    """A CSV import whose body is sent until `release()`: the import stays in flight meanwhile."""

    def __init__(self, url: str, api_key: str, group_id: str) -> None:
        self.release_event, self.answer = threading.Event(), None
        self.sent_first_chunk = threading.Event()

        def body() -> Iterator[bytes]:
            yield b"email,first_name\n"
            self.sent_first_chunk.set()
            self.release_event.wait(20)
            yield b"held@example.com,Held\n"

        def upload() -> None:
            headers = {"Authorization": f"Bearer {api_key}", "content-type": "text/csv"}
            with httpx.Client(base_url=url, timeout=30) as http:
                self.answer = http.post(
                    f"/v1/lead-groups/{group_id}/contacts", content=body(), headers=headers
                )

        self.thread = threading.Thread(target=upload, daemon=True)
        self.thread.start()
        assert self.sent_first_chunk.wait(10)

    def release(self) -> httpx.Response:
        self.release_event.set()
        self.thread.join(20)
        assert self.answer is not None
        return self.answer


def test_a_brand_may_run_only_a_few_imports_at_once_and_others_are_unaffected(service, live_url):
    brand, other = Client(service), Client(service)
    group = brand.ok(brand.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    other_group = other.ok(other.post("/v1/lead-groups", {"name": "leads"}), 201)["id"]
    held = [HeldUpload(live_url, brand.api_key, group) for _ in range(2)]
    time.sleep(0.2)  # both requests are in the gate's count once their first bytes are read

    with httpx.Client(base_url=live_url, headers={"Authorization": f"Bearer {brand.api_key}"}) as http:
        third = http.post(f"/v1/lead-groups/{group}/contacts", json={"contacts": contacts(1)})
        problem = assert_problem(third, 429)
        assert problem["detail"] == "this brand may run 2 contact imports at once"
        assert third.headers["Retry-After"] == "5"  # an import takes a while: asking at once is no use
        assert third.headers["RateLimit-Limit"] == str(BURST)  # the bucket's figures, as on any answer
        assert http.get("/v1/credits").status_code == 200  # light requests still pass
    imported = other.post(f"/v1/lead-groups/{other_group}/contacts", {"contacts": contacts(1)})
    assert imported.status_code == 200, imported.text

    assert [upload.release().status_code for upload in held] == [200, 200]
    again = brand.post(f"/v1/lead-groups/{group}/contacts", {"contacts": contacts(1)})
    assert again.status_code == 200, again.text
