"""Benchmark: the memory an idle `serve` holds, per process, beside the floor of one process that
imports the service.

Starts `campaign-service serve` as a user does (the embedded default: no DATABASE_URL, a data
folder of its own in a temporary folder), waits until it answers and its processes are idle, and
prints per Python process (serve's own and each child's) RSS, PSS and USS from
/proc/PID/smaps_rollup, and their sums; the embedded PostgreSQL's processes on a line of their own,
not counted. PSS counts a page shared by N processes as 1/N in each, so its sum is what the machine
spends; the RSS sum counts a shared page once per process. Then one campaign of one email is
launched twice (the email channel's process started by the work, then already running): the time
from launch to the sandbox's send of each, and the same table once the service is idle again
(after CHANNEL_IDLE_SECONDS, which this benchmark sets to `--idle-seconds`). The anchor, in the
same run: one Python process that imports what serve imports and does nothing else.

    .venv/bin/python -m benchmarks.memory_at_rest [--idle-seconds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from benchmarks.suite.infrastructure import NotMeasured
from benchmarks.suite.service_processes import CLI, UNLIMITED, Processes, ServiceProcess, descendants
from runtime.embedded_postgres import free_ports

# What `serve` imports before it serves (the CLI, the composition root, the API, a worker, the
# projector): the floor every Python process of the service stands on.
FLOOR = (
    "import runtime.cli, runtime.service, runtime.bootstrap, api.app, consumers.channel_worker, "
    "consumers.relay, projections.projector; print('imported', flush=True); import time; time.sleep(3600)"
)
FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty")


def memory_kb(pid: int) -> dict[str, int]:
    """RSS, PSS and USS (private clean + dirty) of one process, in kB, from smaps_rollup."""
    values = dict.fromkeys(FIELDS, 0)
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in values:
            values[name] = int(rest.split()[0])
    return {
        "rss": values["Rss"],
        "pss": values["Pss"],
        "uss": values["Private_Clean"] + values["Private_Dirty"],
    }


def role_of(pid: int, root: int, root_name: str) -> str | None:
    """What a process of serve's tree is: serve, a channel, the projector, or None (PostgreSQL)."""
    command = [part.decode() for part in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if part]
    if pid == root:
        return root_name
    if not any("python" in Path(part).name or part == "runtime.cli" for part in command[:3]):
        return None
    if "--channel" in command:
        return f"channel {command[command.index('--channel') + 1]}"
    if "projector" in command:
        return "projector"
    return " ".join(command[1:4])


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            total += sum(
                int(v) for v in Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[11:13]
            )
        except OSError:
            continue
    return total


def wait_until_idle(root: int, timeout: float = 60.0) -> float:
    """Until serve's tree kept the same processes and used under half a core for three seconds
    running (it polls the log even at rest); the share of a core it used in the last of them."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        pids = [root, *descendants(root)]
        before = cpu_ticks(pids)
        time.sleep(1.0)
        used = (cpu_ticks(pids) - before) / os.sysconf("SC_CLK_TCK")
        quiet = quiet + 1 if used < 0.5 and set(pids) == {root, *descendants(root)} else 0
        if quiet >= 3:
            return used
    raise NotMeasured(f"serve was not idle within {timeout:.0f} s")


def postgres_of(data: Path | None) -> list[int]:
    """The embedded PostgreSQL's processes (pg_ctl detaches them from serve): the server whose
    command line names the data folder, and its children."""
    if data is None:
        return []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and str(data) in (entry / "cmdline").read_bytes().decode(errors="replace")
                and "postgres" in (entry / "comm").read_text()
            ):
                return [int(entry.name), *descendants(int(entry.name))]
        except OSError:
            continue
    return []


def table(title: str, root: int, root_name: str = "serve", data: Path | None = None) -> str:
    rows, postgres = [], dict.fromkeys(("rss", "pss", "uss"), 0)
    postgres_pids = set(postgres_of(data))
    for pid in [root, *sorted(descendants(root)), *postgres_pids]:
        try:
            role, kb = role_of(pid, root, root_name) if pid not in postgres_pids else None, memory_kb(pid)
        except OSError:
            continue  # it ended while we looked
        if role is None:
            postgres = {k: postgres[k] + kb[k] for k in postgres}
        else:
            rows.append((f"{role} ({pid})", kb))
    lines = [title, f"  {'process':<34} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8}"]
    for name, kb in rows:
        lines.append(
            f"  {name:<34} {kb['rss'] / 1024:>8.1f} {kb['pss'] / 1024:>8.1f} {kb['uss'] / 1024:>8.1f}"
        )
    sums = {k: sum(kb[k] for _, kb in rows) / 1024 for k in ("rss", "pss", "uss")}
    lines.append(
        f"  {f'sum of {len(rows)} Python processes':<34} {sums['rss']:>8.1f} {sums['pss']:>8.1f} {sums['uss']:>8.1f}"
    )
    lines.append(
        f"  {'(its embedded PostgreSQL, apart)':<34} {postgres['rss'] / 1024:>8.1f} "
        f"{postgres['pss'] / 1024:>8.1f} {postgres['uss'] / 1024:>8.1f}"
    )
    return "\n".join(lines)


def first_send_seconds(http: httpx.Client, group: str, name: str) -> float:
    """Launch a campaign of one email to the group; seconds until the sandbox sent it."""
    steps = [{"type": "EMAIL", "group": 0, "subject": "Hi", "body": "Hello"}]
    campaign = http.post(
        "/v1/campaign/", json={"name": name, "lead_group_ids": [group], "steps": steps}
    ).json()
    started = time.monotonic()
    assert http.post(f"/v1/campaign/{campaign['id']}/launch").status_code == 200
    while not http.get("/v1/sandbox/outbox", params={"campaign_id": campaign["id"]}).json()["items"]:
        if time.monotonic() - started > 60:
            raise NotMeasured("the email was not sent within 60 s")
        time.sleep(0.02)
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    options.add_argument("--idle-seconds", type=float, default=3.0, help="CHANNEL_IDLE_SECONDS of the run")
    args = options.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="memory-at-rest-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_URL", "METRICS_"))}
    env.update(UNLIMITED, LOG_LEVEL="WARNING", CHANNEL_IDLE_SECONDS=str(args.idle_seconds))
    (port,) = free_ports(1)
    data = folder / "data"
    with Processes(folder) as processes:
        floor = processes.start("floor", [], env, program=[sys.executable, "-c", FLOOR])
        floor.wait_for_output("imported")
        print(
            table("anchor: one Python process that imports the service", floor.process.pid, "floor"),
            flush=True,
        )
        floor.stop()
        serve: ServiceProcess = processes.start(
            "serve", ["serve", "--data-dir", str(data), "--port", str(port)], env
        )
        serve.wait_for_output("Campaign Service ready at")
        used = wait_until_idle(serve.process.pid)
        print(
            table(f"serve, idle after its start ({used:.0%} of a core)", serve.process.pid, data=data),
            flush=True,
        )
        created = subprocess.run(
            [str(CLI), "brand", "create", "bench", "--plan", "basic", "--data-dir", str(data)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        key = json.loads(created.stdout)["api_key"]
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}", timeout=10, headers={"Authorization": f"Bearer {key}"}
        ) as http:
            http.post(
                "/v1/sender-accounts",
                json={"channel": "email", "provider": "sandbox", "address": "s@b.example"},
            )
            group = http.post("/v1/lead-groups", json={"name": "leads"}).json()["id"]
            http.post(f"/v1/lead-groups/{group}/contacts", json={"contacts": [{"email": "ann@example.com"}]})
            cold = first_send_seconds(http, group, "first")
            warm = first_send_seconds(http, group, "second")
        print(
            f"launch to sent, one email: {cold:.2f} s the first, {warm:.2f} s the next one at once",
            flush=True,
        )
        time.sleep(args.idle_seconds)
        used = wait_until_idle(serve.process.pid)
        title = f"serve, idle again after the sends (CHANNEL_IDLE_SECONDS={args.idle_seconds:g}; {used:.0%} of a core)"
        print(table(title, serve.process.pid, data=data))
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
