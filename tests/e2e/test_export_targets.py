"""`campaign-service events export --out` as a user runs it: where it writes, and what it leaves alone.

A regular file is replaced whole (tests/integration/test_event_export.py); a FIFO and `-` (standard
output) are written through, for pipes (a reader that leaves early ends the export with exit 1
and a message, not a traceback); a device node, a folder and a symbolic link are refused
with exit 2 and a message, and stay exactly what they were: /dev/null stays a device, a link is
neither followed nor replaced.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator

import psycopg
import pytest

CLI = [sys.executable, "-m", "runtime.cli"]
EXPORT = ["events", "export", "--format", "jsonl", "--out"]


@pytest.fixture(scope="module")
def cli_env(server_url: str) -> Iterator[dict[str, str]]:
    """The CLI's environment on a database of this module's own, holding one brand's first events."""
    name = f"test_export_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    env["DATABASE_URL"] = psycopg.conninfo.make_conninfo(**{**info, "dbname": name})
    subprocess.run([*CLI, "db", "upgrade"], env=env, capture_output=True, check=True)
    subprocess.run(
        [*CLI, "brand", "create", "Acme", "--plan", "basic"], env=env, capture_output=True, check=True
    )
    yield env
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


def export(env: dict[str, str], out: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *EXPORT, out], env=env, capture_output=True, text=True, timeout=60)


# What creating a brand records: its ledger with the plan's credits, and its keys with the first one.
BRAND_CREATED = ["LedgerOpened", "CreditsGranted", "ApiKeysOpened", "ApiKeyIssued"]


def event_types(jsonl: str) -> list[str]:
    return [json.loads(line)["type"] for line in jsonl.splitlines()]


def test_out_dash_writes_the_events_to_standard_output(cli_env):
    done = export(cli_env, "-")
    assert done.returncode == 0, done.stderr
    assert event_types(done.stdout) == BRAND_CREATED
    assert "4 events written to standard output" in done.stderr


def test_a_reader_that_closes_standard_output_early_ends_the_export_with_a_message(cli_env):
    process = subprocess.Popen(
        [*CLI, *EXPORT, "-"], env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    process.stdout.close()  # long before the export writes: its first write finds no reader
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "standard output was closed before the export was complete" in stderr
    assert "Traceback" not in stderr and "Exception ignored" not in stderr


def test_a_fifo_is_written_through_and_stays_a_fifo(cli_env, tmp_path):
    fifo = tmp_path / "events.fifo"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = export(cli_env, str(fifo))
    if reader.is_alive():  # the export never opened the FIFO: release the reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    reader.join(10)
    assert done.returncode == 0, done.stderr
    assert event_types(received[0].decode()) == BRAND_CREATED
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(tmp_path.iterdir()) == [fifo]  # no temporary file left beside it


def test_dev_null_is_refused_and_stays_a_device(cli_env):
    before = os.lstat("/dev/null")
    done = export(cli_env, "/dev/null")
    assert done.returncode == 2
    assert "cannot write the export to /dev/null: it is a character device" in done.stderr
    after = os.lstat("/dev/null")
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)


def test_a_device_node_of_our_own_is_refused_and_stays_a_device(cli_env, tmp_path):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # what /dev/null is
    except PermissionError:
        pytest.skip("this system does not let the tests make a device node")
    done = export(cli_env, str(device))
    assert done.returncode == 2 and "it is a character device" in done.stderr
    assert stat.S_ISCHR(device.lstat().st_mode)
    assert sorted(tmp_path.iterdir()) == [device]


def test_a_folder_is_refused_and_left_as_it_was(cli_env, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "kept.txt").write_text("kept")
    done = export(cli_env, str(folder))
    assert done.returncode == 2 and "it is a folder" in done.stderr
    assert [path.name for path in folder.iterdir()] == ["kept.txt"]
    assert sorted(tmp_path.iterdir()) == [folder]


@pytest.mark.parametrize("target_exists", [True, False], ids=["to a file", "dangling"])
def test_a_symbolic_link_is_refused_neither_followed_nor_replaced(cli_env, tmp_path, target_exists):
    target, link = tmp_path / "target.jsonl", tmp_path / "events.jsonl"
    if target_exists:
        target.write_text("the target's own text\n")
    link.symlink_to(target)
    done = export(cli_env, str(link))
    assert done.returncode == 2 and "it is a symbolic link" in done.stderr
    assert link.is_symlink() and os.readlink(link) == str(target)
    if target_exists:
        assert target.read_text() == "the target's own text\n"
    assert sorted(tmp_path.iterdir()) == sorted([link, *([target] if target_exists else [])])


def test_an_empty_out_is_refused(cli_env):
    done = export(cli_env, "")
    assert done.returncode == 2 and "--out is empty" in done.stderr
