"""The service as production runs it on Kafka: every role a process of its own (`api`, `relay`,
`projector`, `scheduler`, one `worker --channel` per channel), as docker-compose.yml lays it out,
each `campaign-service` process in its own session with its output in a log file. The soak plays
compose's `restart: unless-stopped`: a role that exits, killed by the nemesis or giving up by
itself, is started again half a second later, and every exit is counted with its status."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

CLI = Path(sys.executable).with_name("campaign-service")
ROLES: dict[str, list[str]] = {
    "api": ["api"],  # the host and port come from the environment
    "relay": ["relay"],
    "projector": ["projector"],
    "scheduler": ["scheduler"],
    "email-worker": ["worker", "--channel", "email"],
    "sms-worker": ["worker", "--channel", "sms"],
    "voicemail-worker": ["worker", "--channel", "voicemail"],
}
RESTART_DELAY = 0.5


@dataclass
class Role:
    name: str
    args: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    exits: list[int] = field(default_factory=list)


class RoleProcesses:
    """The roles of one schedule, kept running until `stop`."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.env, self.folder = env, folder
        self.roles = {name: Role(name, args, folder / f"{name}.log") for name, args in ROLES.items()}
        self.lock = threading.Lock()  # the nemesis and the restarter never act on one role at once
        self._stopping = threading.Event()
        self._restarter = threading.Thread(target=self._keep_running, name="restart-policy", daemon=True)

    def start(self, timeout: float = 120) -> None:
        """Every role; returns once each says it runs (the API first: it migrates the schema)."""
        self._spawn(self.roles["api"])
        self._wait_for("api", "Campaign Service ready at", timeout)
        for role in self.roles.values():
            if role.name != "api":
                self._spawn(role)
        for name in self.roles:
            if name != "api":
                self._wait_for(name, "campaign-service: running", timeout)
        self._restarter.start()

    def _spawn(self, role: Role) -> None:
        command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "runtime.cli"]
        with role.log.open("ab") as out:
            role.process = subprocess.Popen(
                [*command, *role.args],
                cwd=self.folder,  # no .env of the caller is read
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_for(self, name: str, text: str, timeout: float) -> None:
        role, deadline = self.roles[name], time.monotonic() + timeout
        while text not in role.log.read_text(errors="replace"):
            assert role.process is not None
            if role.process.poll() is not None:
                raise RuntimeError(f"{name} exited {role.process.returncode}: {self.last_lines(name)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not print {text!r} within {timeout:.0f} s")
            time.sleep(0.1)

    def last_lines(self, name: str, n: int = 3) -> str:
        return " | ".join(self.roles[name].log.read_text(errors="replace").strip().splitlines()[-n:])

    def _keep_running(self) -> None:
        while not self._stopping.wait(0.2):
            for role in self.roles.values():
                with self.lock:
                    if self._stopping.is_set() or role.process is None or role.process.poll() is None:
                        continue
                    role.exits.append(role.process.returncode)
                time.sleep(RESTART_DELAY)
                with self.lock:
                    if not self._stopping.is_set():
                        self._spawn(role)

    def pid(self, name: str) -> int | None:
        process = self.roles[name].process
        return process.pid if process is not None and process.poll() is None else None

    def signal(self, name: str, sig: signal.Signals) -> bool:
        """Sends `sig` to the role's process; False when it is not running at that moment."""
        with self.lock:
            pid = self.pid(name)
            if pid is None:
                return False
            os.kill(pid, sig)
            return True

    def resume_all(self) -> None:
        """SIGCONT to every role: nothing stays paused when the nemesis heals."""
        for name in self.roles:
            self.signal(name, signal.SIGCONT)

    def exits(self) -> Counter[str]:
        """Exits by kind: `killed` (SIGKILL), `exited N` (the role gave up by itself)."""
        counted: Counter[str] = Counter()
        for role in self.roles.values():
            for code in role.exits:
                counted["killed" if code == -signal.SIGKILL else f"{role.name} exited {code}"] += 1
        return counted

    def stop(self) -> None:
        self._stopping.set()
        if self._restarter.is_alive():
            self._restarter.join(timeout=5)
        for role in self.roles.values():
            process = role.process
            if process is None or process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        for role in self.roles.values():
            process = role.process
            if process is None:
                continue
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)
