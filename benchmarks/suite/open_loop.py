"""An open-loop load generator: requests leave at a fixed arrival rate whatever the answers do, and
each latency counts from the moment its request was due (so a stalled server is charged for the
queue it builds, not hidden by a client that waits). Latencies of failed or timed-out requests
count as their timeout."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

TIMEOUT = 2.0


@dataclass(frozen=True)
class Percentiles:
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int


async def _at_rate(
    base_url: str, path: str, headers: dict[str, str], rate: float, seconds: float
) -> Percentiles:
    count = max(int(rate * seconds), 1)
    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=TIMEOUT, limits=limits) as http:
        await http.get(path)  # a connection open and the route warm before the clock starts

        async def one(due: float) -> None:
            nonlocal errors
            try:
                response = await http.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            errors += not ok
            latencies.append(time.perf_counter() - due if ok else TIMEOUT)

        started = time.perf_counter()
        tasks = []
        for i in range(count):
            due = started + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(one(due)))
        await asyncio.gather(*tasks)
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return Percentiles(rate, cuts[49] * 1000, cuts[98] * 1000, errors)


def at_rate(base_url: str, path: str, headers: dict[str, str], rate: float, seconds: float) -> Percentiles:
    return asyncio.run(_at_rate(base_url, path, headers, rate, seconds))


def ladder(
    base_url: str, path: str, headers: dict[str, str], rates: list[float], seconds: float, p99_ms: float
) -> tuple[list[Percentiles], float]:
    """Each rate in turn until p99 reaches `p99_ms` (or a request fails); the highest rate below it
    (0 when even the first is too much)."""
    steps, best = [], 0.0
    for rate in rates:
        # at least 100 requests a step, so its p99 is not just its slowest request
        step = at_rate(base_url, path, headers, rate, max(seconds, 100 / rate))
        steps.append(step)
        if step.errors or step.p99_ms >= p99_ms:
            break
        best = rate
    return steps, best
