"""Profile of the send pipeline and of a launch, as docs/performance-profile.md reports them: an
embedded PostgreSQL (with pg_stat_statements) and `campaign-service serve` on loopback; for
`sends` a one-step EMAIL campaign to N contacts (sandbox provider) from launch until the API shows
every send, for `launch` a campaign to N contacts whose window opens on another day, until all are
enrolled. py-spy (`pip install py-spy`; needs ptrace) samples `serve` and its channel processes
(--subprocesses) with --threads, --gil and without --idle into collapsed stacks (`--format raw`,
which speedscope also opens); the CPU of every thread of `serve`, of its channel processes and of
every PostgreSQL process is read from /proc before and after; the report gives CPU ms per send or
contact by role, each role's top functions by own and cumulative samples, and PostgreSQL's top
statements.

    .venv/bin/python -m benchmarks.profile_stages [sends|launch|both] [--sends 5000] [--contacts 20000]
        [--spy nonblocking|blocking|off] [--no-gil] [--rate 100] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.suite.brand_client import EMAIL_STEP, BrandClient, wait_until
from benchmarks.suite.infrastructure import Infrastructure
from benchmarks.suite.launch import window_on_another_day
from benchmarks.suite.service_processes import (
    Processes,
    ServiceProcess,
    create_brand,
    descendants,
    start_serve,
)

TICK = os.sysconf("SC_CLK_TCK")
PY_SPY = Path(sys.executable).with_name("py-spy")
if not PY_SPY.exists():
    PY_SPY = Path(shutil.which("py-spy") or PY_SPY)
# Leaves that only wait: py-spy calls a thread idle from its OS state, which a thread woken every
# few milliseconds (a periodic role's stop.wait, a pool's condition) escapes now and then.
WAITS = ("Condition.wait (", "Event.wait (", "EpollSelector.select (", "sleep (", "Thread.join (")
# With --subprocesses each stack starts with the processes it is in: `process PID:"CMDLINE";...`.
LINE = re.compile(r'^(?:process \d+:"[^"]*";)*thread \((\d+)\): ([^;]*);?(.*) (\d+)$')


def cpu_seconds(pid: int | str, task: str = "", children: bool = False) -> float:
    """utime + stime of a process (or of one of its threads), plus its reaped children's if asked."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])  # fields 14 and 15 of stat(5), after pid and comm
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / TICK


def service_pids(pid: int) -> list[int]:
    """`serve` and the processes it started (a channel's relay and worker each)."""
    return [pid, *descendants(pid)]


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds of every thread of `serve` and of its channel processes, by native thread id
    (unique across processes)."""
    found = {}
    for process in service_pids(pid):
        with contextlib.suppress(OSError):  # it ended while we looked
            found.update({tid: cpu_seconds(process, tid) for tid in os.listdir(f"/proc/{process}/task")})
    return found


def service_cpu(pid: int) -> float:
    return sum(cpu_seconds(process) for process in service_pids(pid))


def postgres_cpu(postmaster: int) -> dict[str, float]:
    """CPU seconds of the server by kind: client backends, background processes, and the
    postmaster with the children it has reaped (backends that ended during the run)."""
    kinds: defaultdict[str, float] = defaultdict(float)
    kinds["postmaster+reaped"] = cpu_seconds(postmaster, children=True)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            title = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) != postmaster:
            continue
        kind = "backends" if "127.0.0.1(" in title else "background (" + title.split(":", 1)[-1].strip() + ")"
        kinds[kind] += cpu_seconds(entry)
    return dict(kinds)


def role(thread: str) -> str:
    """The role a thread of `serve` plays, by the names its supervisor gives its threads (runtime/roles.py)."""
    if thread.startswith(("relay", "projector")) or thread.endswith("_worker"):
        return thread.split(":")[0] if thread.startswith("projector") else thread
    if thread in ("enroller", "follow_ups", "sweeper", "daily_reset", "settlement", "gmail_replies"):
        return f"scheduler:{thread}"
    if thread.startswith("ThreadPoolExecutor"):
        return "worker delivery pool (send_dispatches)"
    if thread == "MainThread" or thread.startswith(("AnyIO", "asyncio")):
        return "api (uvicorn and its threads)"
    if thread.startswith("pool-"):
        return "psycopg pool threads"
    return f"other:{thread}"


def short(frame: str) -> str:
    """`func (path:line)` without the line and with the path from the package down."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "python3.11/", "/work/wt-profile/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


class Samples:
    """py-spy's collapsed stacks by role: samples, own (leaf) and cumulative counts per function."""

    def __init__(self, raw: Path | None) -> None:
        self.names: dict[str, str] = {}
        self.total: Counter[str] = Counter()
        self.own: dict[str, Counter[str]] = defaultdict(Counter)
        self.cumulative: dict[str, Counter[str]] = defaultdict(Counter)
        self.waiting: Counter[str] = Counter()
        for line in raw.read_text(errors="replace").splitlines() if raw else []:
            match = LINE.match(line)
            if not match:
                continue
            tid, name, stack, count = match.group(1), match.group(2), match.group(3), int(match.group(4))
            self.names[tid] = name
            frames = [short(frame) for frame in stack.split(";") if frame]
            who = role(name)
            if frames and frames[-1].startswith(WAITS):
                self.waiting[who] += count
                continue
            self.total[who] += count
            if frames:
                self.own[who][frames[-1]] += count
            for frame in set(frames):
                self.cumulative[who][frame] += count


def postgres_postmaster(infra: Infrastructure) -> int:
    return int((infra.postgres.pgdata / "postmaster.pid").read_text().splitlines()[0])


def enable_statement_statistics(infra: Infrastructure) -> None:
    """pg_stat_statements is in the embedded build's contrib; it needs a restart to load."""
    url = infra.fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        conn.execute("ALTER SYSTEM SET pg_stat_statements.track = 'all'")
    infra.drop_database(url)
    infra.postgres.stop()
    infra.postgres.start()


def top_statements(url: str, limit: int = 12) -> list[tuple[float, int, int, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT total_exec_time, calls, rows, regexp_replace(query, '\\s+', ' ', 'g')"
            " FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname ="
            " current_database()) ORDER BY total_exec_time DESC LIMIT %s",
            (limit,),
        ).fetchall()
    return [(float(t), int(c), int(r), str(q)) for t, c, r, q in rows]


def thread_names(pid: int) -> dict[str, str]:
    """Every thread's Python name by its native id, from a `py-spy dump` of `serve` and of each
    of its channel processes."""
    names: dict[str, str] = {}
    for process in service_pids(pid):
        dump = subprocess.run(
            [str(PY_SPY), "dump", "--pid", str(process)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        names.update(re.findall(r'^Thread (\d+) \([^)]*\): "([^"]*)"', dump.stdout, re.MULTILINE))
    return names


def start_py_spy(
    pid: int, out: Path, rate: int, limit: int, nonblocking: bool, gil: bool
) -> subprocess.Popen[bytes]:
    command = [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--threads", "--format", "raw"]
    command += ["--rate", str(rate), "--duration", str(limit), "--output", str(out)]
    command += ["--nonblocking"] if nonblocking else []
    command += ["--gil"] if gil else []
    spy = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # attached before the clock starts
    if spy.poll() is not None:
        raise SystemExit(f"py-spy could not attach: {spy.stderr.read().decode() if spy.stderr else ''}")
    return spy


def stop_py_spy(spy: subprocess.Popen[bytes]) -> float:
    """Stops the sampler (it writes its file on SIGINT); its own CPU seconds."""
    before = cpu_seconds(spy.pid)
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(60)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(10)
    return before


def scenario(infra: Infrastructure, kind: str, n: int, args: argparse.Namespace) -> None:
    url = infra.fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    with Processes(infra.folder / f"{kind}-serve") as processes:
        serve, base_url = start_serve(processes, url)
        client = BrandClient(base_url, create_brand(url, "premium", processes.folder))
        try:
            client.email_sender(daily_limit=n)
            extra: dict[str, Any] = {}
            if kind == "launch":
                extra = {"timezone": "UTC", "sending_window": window_on_another_day()}
            campaign = client.campaign(client.lead_group(n), [EMAIL_STEP], **extra)
            time.sleep(2.0)  # the projectors catch up with the set-up before anything is measured
            profile(infra, kind, n, args, url, serve, client, campaign)
        finally:
            client.close()
    infra.drop_database(url)


def profile(
    infra: Infrastructure,
    kind: str,
    n: int,
    args: argparse.Namespace,
    url: str,
    serve: ServiceProcess,
    client: BrandClient,
    campaign: str,
) -> None:
    pid, postmaster = serve.process.pid, postgres_postmaster(infra)
    raw = args.out / f"{kind}-{n}-{args.spy}{'-gil' if args.gil else ''}.pyspy.txt"
    names = thread_names(pid)
    spy = (
        None
        if args.spy == "off"
        else start_py_spy(pid, raw, args.rate, 170, args.spy == "nonblocking", args.gil)
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_statements_reset()")
    threads0, process0, pg0 = thread_cpu(pid), service_cpu(pid), postgres_cpu(postmaster)
    driver0, started = time.process_time(), time.perf_counter()
    client.launch(campaign)
    if kind == "sends":
        wait_until(lambda: client.metrics(campaign)["sent"]["email"] >= n, 160, f"{n:,} sent", 0.1)
    else:
        wait_until(lambda: client.metrics(campaign)["enrolled"] >= n, 160, f"{n:,} enrolled", 0.1)
    seconds = time.perf_counter() - started
    threads1, process1, pg1 = thread_cpu(pid), service_cpu(pid), postgres_cpu(postmaster)
    driver = time.process_time() - driver0
    spy_cpu = stop_py_spy(spy) if spy else 0.0
    statements = top_statements(url)
    samples = Samples(raw) if spy else Samples(None)
    samples.names = {**names, **samples.names}
    report(
        kind,
        n,
        seconds,
        samples,
        threads0,
        threads1,
        process1 - process0,
        pg0,
        pg1,
        driver,
        spy_cpu,
        args.spy,
    )
    print("\nPostgreSQL statements by total execution time (pg_stat_statements, wall ms):")
    for total, calls, rows, query in statements:
        print(f"  {total:>9.0f} ms {calls:>7} calls {rows:>8} rows  {query[:150]}")
    print(f"\ncollapsed stacks: {raw if spy else 'none (--spy off)'}", flush=True)


def report(
    kind: str,
    n: int,
    seconds: float,
    samples: Samples,
    threads0: dict[str, float],
    threads1: dict[str, float],
    process: float,
    pg0: dict[str, float],
    pg1: dict[str, float],
    driver: float,
    spy_cpu: float,
    spy_mode: str,
) -> None:
    unit = "send" if kind == "sends" else "contact"
    by_role: defaultdict[str, float] = defaultdict(float)
    for tid, after in threads1.items():
        by_role[role(samples.names.get(tid, f"tid {tid}"))] += after - threads0.get(tid, 0.0)
    by_role["(threads that ended during the run)"] = process - sum(by_role.values())
    pg = {kind: pg1.get(kind, 0.0) - pg0.get(kind, 0.0) for kind in set(pg0) | set(pg1)}
    pg_total = sum(pg.values())
    print(
        f"\n== {kind}: {n:,} {unit}s in {seconds:.2f} s wall ({n / seconds:,.0f}/s, {'py-spy ' + spy_mode if spy_cpu else 'no sampler'})"
    )
    everything = process + pg_total
    print(
        f"CPU seconds: serve {process:.2f}, PostgreSQL {pg_total:.2f} ({pg_total / everything:.0%}"
        f" of the two), driver {driver:.2f}, py-spy {spy_cpu:.2f}; 2 cores x wall = {2 * seconds:.2f}"
    )
    print(f"{'part':<48}{'CPU s':>8}{f'ms/{unit}':>12}{'samples':>9}")
    for who, cpu in sorted(by_role.items(), key=lambda item: -item[1]):
        if cpu >= 0.005 or samples.total[who]:
            print(f"{who:<48}{cpu:>8.2f}{1000 * cpu / n:>12.3f}{samples.total[who]:>9}")
    print(f"{'serve, all threads':<48}{process:>8.2f}{1000 * process / n:>12.3f}")
    print(f"{'postgres, all processes':<48}{pg_total:>8.2f}{1000 * pg_total / n:>12.3f}")
    for part, cpu in sorted(pg.items(), key=lambda item: -item[1]):
        if cpu >= 0.005:
            print(f"{'postgres ' + part:<48}{cpu:>8.2f}{1000 * cpu / n:>12.3f}")
    for who, total in samples.total.most_common():
        if total < 20:
            continue
        cpu = by_role.get(who, 0.0)
        print(
            f"\n-- {who}: {total} busy samples (+{samples.waiting[who]} in waits), {1000 * cpu / n:.3f} CPU ms/{unit}"
        )
        print(f"   {'own %':>6} {'cum %':>6} {f'own ms/{unit}':>12}  function")
        rows = [(f, samples.own[who][f], c) for f, c in samples.cumulative[who].most_common(12)]
        own_only = [(f, o, samples.cumulative[who][f]) for f, o in samples.own[who].most_common(8)]
        seen: set[str] = set()
        for frame, own, cumulative in sorted(own_only, key=lambda r: -r[1]) + rows:
            if frame in seen:
                continue
            seen.add(frame)
            print(
                f"   {100 * own / total:>6.1f} {100 * cumulative / total:>6.1f}"
                f" {1000 * cpu * own / total / n:>12.4f}  {frame[:110]}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("scenario", nargs="?", default="both", choices=("sends", "launch", "both"))
    parser.add_argument("--sends", type=int, default=5000)
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument(
        "--spy",
        choices=("nonblocking", "blocking", "off"),
        default="nonblocking",
        help="py-spy's mode; off gives the CPU figures undisturbed by the sampler",
    )
    parser.add_argument(
        "--gil",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="sample only the thread holding the GIL, i.e. Python's own CPU (default); --no-gil"
        " samples every thread py-spy does not judge idle",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "campaign-service-profile",
        help="folder of the collapsed stacks",
    )
    args = parser.parse_args(argv)
    if not PY_SPY.exists():
        raise SystemExit("py-spy is missing: .venv/bin/pip install py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    with Infrastructure() as infra:
        enable_statement_statistics(infra)
        if args.scenario in ("sends", "both"):
            scenario(infra, "sends", args.sends, args)
        if args.scenario in ("launch", "both"):
            scenario(infra, "launch", args.contacts, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
