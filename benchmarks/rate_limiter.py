"""Benchmark: what the per-brand rate limiter costs a request, beside the same gate without it.

The request gate (api/gate.py) in this process, called as uvicorn calls it (an ASGI scope, a
receive and a send) in front of an app that answers 200 at once, with the key already known
(no query: the cost measured is the gate's own). Alternately, in the same run: the gate with
the limiter as the service builds it (a token bucket per brand, rates no request reaches, so
every request is let through and carries the RateLimit-* headers) and the same gate with no
buckets (`Admission.buckets = None`: no limit, no headers). Requests come from one brand, then round-robin from many
brands (a bucket per brand in the dictionary). The table gives the median of the repeats: requests
per second through the gate, microseconds per request, and the difference: the limiter's cost.

    .venv/bin/python -m benchmarks.rate_limiter [--requests 50000] [--brands 1,10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from uuid import uuid4

from api.gate import Admission, RequestGate
from api.key_watch import KeyUses
from api.known_keys import KnownKeys
from api.rate_limits import HeavyWork, Rate, TokenBuckets
from commands.access.api_keys import digest
from commands.access.key_lookup import KeyHolder

RATES = {plan: Rate(1e9, 10**9) for plan in ("basic", "standard", "premium")}  # never reached


async def _ok(scope: object, receive: object, send: Callable[[dict[str, object]], object]) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})  # type: ignore[misc]
    await send({"type": "http.response.body", "body": b"{}"})  # type: ignore[misc]


def _gate(buckets: TokenBuckets | None, keys: list[str]) -> RequestGate:
    known = KnownKeys()  # trusted without a watch: no query, no revocation in this measure
    for key in keys:
        known.put(digest(key), KeyHolder(uuid4(), uuid4(), "basic"), known.generation)
    now = datetime.now(UTC)
    admission = Admission(lambda _: None, known, KeyUses(), buckets, HeavyWork(2), lambda: now)
    return RequestGate(_ok, admission)  # type: ignore[arg-type]


def _scopes(keys: list[str]) -> list[dict[str, object]]:
    return [
        {
            "type": "http",
            "method": "GET",
            "path": "/v1/credits",
            "headers": [(b"authorization", f"Bearer {key}".encode()), (b"host", b"127.0.0.1")],
        }
        for key in keys
    ]


async def _seconds(gate: RequestGate, scopes: list[dict[str, object]], requests: int) -> float:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, object]) -> None:
        return None

    count = len(scopes)
    started = time.perf_counter()
    for i in range(requests):
        await gate(scopes[i % count], receive, send)  # type: ignore[arg-type]
    return time.perf_counter() - started


def measure(requests: int, brands: int, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds per request with and without the limiter, `repeat` times each, alternating."""
    keys = [f"cs_bench_{i}" for i in range(brands)]
    scopes = _scopes(keys)
    limited, unlimited = _gate(TokenBuckets(RATES), keys), _gate(None, keys)
    with_limiter: list[float] = []
    without: list[float] = []
    for run in range(repeat):
        order = [(limited, with_limiter), (unlimited, without)]
        for gate, into in order if run % 2 == 0 else reversed(order):
            asyncio.run(_seconds(gate, scopes, requests // 10))  # warm up
            into.append(asyncio.run(_seconds(gate, scopes, requests)) / requests)
    return with_limiter, without


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.rate_limiter", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--brands", default="1,10000", help="comma-separated: brands sending round-robin")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"{args.requests:,} requests through the request gate per run, median of {args.repeat} runs")
    print(f"{'brands':>7}  {'gate':<16} {'requests/s':>11} {'us/request':>11} {'limiter us':>11}")
    for brands in (int(b) for b in args.brands.split(",")):
        with_limiter, without = measure(args.requests, brands, args.repeat)
        on, off = statistics.median(with_limiter), statistics.median(without)
        print(f"{brands:>7}  {'without limiter':<16} {1 / off:>11,.0f} {off * 1e6:>11.2f} {'-':>11}")
        print(
            f"{brands:>7}  {'with limiter':<16} {1 / on:>11,.0f} {on * 1e6:>11.2f} {(on - off) * 1e6:>11.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
