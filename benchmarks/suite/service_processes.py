"""The service as its users start it: `campaign-service serve`, or the single roles (`api`, `relay`,
`projector`, `scheduler`, `worker --channel email`) as separate processes, each in its own session
on loopback, its output kept in a log file; stopped with SIGTERM (SIGKILL after a grace period).
Also reads a process's peak memory (VmHWM) before it is stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

from cryptography.fernet import Fernet

from benchmarks.suite.infrastructure import ROOT, NotMeasured
from runtime.embedded_postgres import free_ports

CLI = Path(sys.executable).with_name("campaign-service")


# The benchmarks drive one brand far past any plan's rate on purpose: the limiter stays on the
# path (its cost is measured) but never refuses (benchmarks/rate_limiter.py measures it alone).
UNLIMITED = {
    f"RATE_LIMIT_{plan}_{part}": "1000000"
    for plan in ("BASIC", "STANDARD", "PREMIUM")
    for part in ("PER_SECOND", "BURST")
} | {"HEAVY_REQUESTS_PER_BRAND": "1000"}


def service_env(database_url: str, **more: str) -> dict[str, str]:
    """The environment of a service process: the run's database, a sealing key, little logging,
    rates no benchmark reaches."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KAFKA_", "DATABASE_URL"))}
    return {
        **env,
        **UNLIMITED,
        "DATABASE_URL": database_url,
        "CREDENTIALS_KEY": more.pop("CREDENTIALS_KEY", Fernet.generate_key().decode()),
        # a role against DATABASE_URL refuses to start without these (links are not followed here)
        "UNSUBSCRIBE_SECRET": more.pop("UNSUBSCRIBE_SECRET", Fernet.generate_key().decode()),
        "PUBLIC_BASE_URL": more.pop("PUBLIC_BASE_URL", "http://127.0.0.1:8000"),
        "LOG_LEVEL": "WARNING",
        **more,
    }


class ServiceProcess:
    """One `campaign-service ...` process, started in `folder` (so no .env of the caller is read)."""

    def __init__(
        self, args: list[str], env: dict[str, str], folder: Path, name: str, program: list[str] | None = None
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.log = folder / f"{name}.log"
        command = program or ([str(CLI)] if CLI.exists() else [sys.executable, "-m", "runtime.cli"])
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                [*command, *args],
                cwd=folder,
                env={**env, "PYTHONPATH": str(ROOT)},  # an anchor's module from benchmarks/ too
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches the suite, which stops us in order
            )

    def wait_for_output(self, text: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None:
                raise NotMeasured(f"{self.name} exited {self.process.returncode}: {self.last_lines()}")
            if time.monotonic() > deadline:
                raise NotMeasured(f"{self.name} did not print {text!r} within {timeout:.0f} s")
            time.sleep(0.1)

    def last_lines(self, n: int = 2) -> str:
        return " | ".join(self.log.read_text(errors="replace").strip().splitlines()[-n:])

    def peak_rss_mb(self) -> float:
        """The peak resident memory so far (Linux VmHWM) of the process and of the processes it
        started (serve's channel processes), summed: an upper bound of what they held at once.
        NotMeasured once the process is gone."""
        pids = [self.process.pid, *descendants(self.process.pid)]
        try:
            return sum(_peak_kb(pid) for pid in pids) / 1024
        except OSError as gone:
            raise NotMeasured(f"{self.name} is gone: {gone}") from gone

    def stop(self, grace: float = 15.0) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)


def _peak_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise NotMeasured("this system reports no VmHWM")


def descendants(pid: int) -> list[int]:
    """The live processes below `pid` (children, their children, ...), from /proc."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # it ended while we looked
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


class Processes:
    """The processes of one measurement, stopped together (last started first) on exit."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[ServiceProcess] = []

    def start(
        self, name: str, args: list[str], env: dict[str, str], program: list[str] | None = None
    ) -> ServiceProcess:
        """`campaign-service ARGS`, or `program ARGS` (an anchor's server) when given."""
        process = ServiceProcess(args, env, self.folder, name, program)
        self.started.append(process)
        return process

    def __enter__(self) -> Processes:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        for process in reversed(self.started):
            process.stop()


def start_serve(processes: Processes, database_url: str, **env: str) -> tuple[ServiceProcess, str]:
    """`campaign-service serve` on a free port (`env`: settings to set, as service_env takes
    them); the process and its base URL once it is ready."""
    (port,) = free_ports(1)
    serve = processes.start(
        "serve", ["serve", "--host", "127.0.0.1", "--port", str(port)], service_env(database_url, **env)
    )
    serve.wait_for_output("Campaign Service ready at")
    return serve, f"http://127.0.0.1:{port}"


def start_roles(
    processes: Processes, database_url: str, kafka: str, prefix: str, email_workers: int = 2
) -> str:
    """The API, relay, projector, scheduler and `email_workers` email workers, each a process, on
    Kafka (topics and consumer groups under `prefix`); the API's base URL once all are running."""
    key = Fernet.generate_key().decode()
    env = service_env(
        database_url, KAFKA_BOOTSTRAP_SERVERS=kafka, KAFKA_TOPIC_PREFIX=prefix, CREDENTIALS_KEY=key
    )
    (port,) = free_ports(1)
    api = processes.start("api", ["api", "--host", "127.0.0.1", "--port", str(port)], env)
    api.wait_for_output("Campaign Service ready at")  # the API migrates; the other roles wait for it
    roles = [("relay", ["relay"]), ("projector", ["projector"]), ("scheduler", ["scheduler"])]
    roles += [(f"email-worker-{i}", ["worker", "--channel", "email"]) for i in range(1, email_workers + 1)]
    started = [processes.start(name, args, env) for name, args in roles]
    for process in started:
        process.wait_for_output("campaign-service: running")
    return f"http://127.0.0.1:{port}"


def create_brand(database_url: str, plan: str, folder: Path) -> str:
    """A new brand through the command line, as an operator makes one; its API key."""
    done = subprocess.run(
        [str(CLI), "brand", "create", "bench", "--plan", plan],
        cwd=folder,
        env=service_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise NotMeasured(f"brand create failed: {done.stderr.strip()[-200:]}")
    key: str = json.loads(done.stdout)["api_key"]
    return key
