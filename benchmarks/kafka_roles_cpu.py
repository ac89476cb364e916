"""CPU of each process of Kafka mode while it sends: where Kafka mode's time goes.

Starts an embedded PostgreSQL and a Kafka broker (as the suite does), the roles as `benchmarks.suite`
starts them for Kafka mode (api, relay, projector, scheduler and two email workers, each a
process), launches a one-step EMAIL campaign to N contacts and reads, from /proc before and after,
the CPU of every role's process, of the broker and of PostgreSQL; prints CPU ms per send by process.

    .venv/bin/python -m benchmarks.kafka_roles_cpu [--sends 5000]
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict
from pathlib import Path
from uuid import uuid4

from benchmarks.profile_stages import cpu_seconds
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.sends import launch_to_all_sent
from benchmarks.suite.service_processes import Processes, start_roles


def watched() -> dict[int, str]:
    """Every process of the service, of the broker and of PostgreSQL, named for the report."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            words = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        line = " ".join(words)
        if "campaign-service" in line or "runtime.cli" in line:
            role = next((w for w in words if w in ROLES), "?")
            found[int(entry.name)] = f"{role} {' '.join(words[-2:]) if role == 'worker' else ''}".strip()
        elif "kafka.Kafka" in line:
            found[int(entry.name)] = "kafka broker"
        elif "postgres" in words[0]:
            found[int(entry.name)] = "postgres"
    return found


ROLES = ("api", "relay", "projector", "scheduler", "worker")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=5000)
    n = parser.parse_args().sends
    with Infrastructure() as infra:
        bootstrap = infra.kafka()
        url = infra.fresh_database()
        with Processes(infra.folder / "roles") as processes:
            base_url = start_roles(processes, url, bootstrap, prefix=f"cpu{uuid4().hex[:6]}.")
            before = {pid: cpu_seconds(pid, children=True) for pid in watched()}
            seconds = launch_to_all_sent(base_url, url, processes.folder, n)
            names = watched()
            spent: defaultdict[str, float] = defaultdict(float)
            for pid, name in names.items():
                spent[name] += cpu_seconds(pid, children=True) - before.get(pid, 0.0)
    print(f"{n:,} sends in {seconds:.2f} s: {n / seconds:,.0f} sends/s on {os.cpu_count()} cores")
    print(f"{'process':40} {'CPU s':>7} {'ms/send':>8}")
    for name, cpu in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"{name:40} {cpu:7.2f} {cpu / n * 1000:8.3f}")
    total = sum(spent.values())
    print(f"{'all':40} {total:7.2f} {total / n * 1000:8.3f}")


if __name__ == "__main__":
    main()
