"""A role against DATABASE_URL refuses to start without its keys and public URL, and the credentials
key rotates: `keys rotate` re-seals every stored credential with the first of CREDENTIALS_KEY's keys.

Without DATABASE_URL `serve` keeps generating its keys under the data dir (tests/e2e); with it, a
role that started anyway would fail later: sealing no credential, signing no link, or building
links and checking Twilio signatures on http://0.0.0.0:8000.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from uuid import UUID

import pytest
from cryptography.fernet import Fernet

from commands.sending.credentials import CredentialCipher, decrypt_credentials
from runtime.cli import main
from runtime.settings import Settings
from storage.database import Database
from tests.support import Client, running_service

ROLES = [["api"], ["worker", "--channel", "email"], ["relay"], ["projector"], ["scheduler"], ["serve"]]
REQUIRED = ("CREDENTIALS_KEY", "UNSUBSCRIBE_SECRET", "PUBLIC_BASE_URL")
GIVEN = {
    "CREDENTIALS_KEY": Fernet.generate_key().decode(),
    "UNSUBSCRIBE_SECRET": "a-long-random-unsubscribe-secret",
    "PUBLIC_BASE_URL": "https://campaigns.example.com",
}


@pytest.fixture
def bare_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No setting from the caller's environment or .env: each test gives its own."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("role", ROLES, ids=lambda role: role[0])
@pytest.mark.parametrize("missing", REQUIRED)
def test_a_role_against_database_url_refuses_to_start_without_each_production_setting(
    role, missing, database_url, bare_environment, monkeypatch, capsys
):
    monkeypatch.setenv("DATABASE_URL", database_url)
    for name, value in GIVEN.items():
        if name != missing:
            monkeypatch.setenv(name, value)

    assert main(role) == 2

    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and missing in lines[0], lines
    assert not {name for name in REQUIRED if name != missing} & set(lines[0].replace(";", " ").split())


def test_the_command_line_names_every_missing_setting_on_one_line_and_exits_2(database_url, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "PYTHONPATH": str(Path.cwd())}
    done = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "worker", "--channel", "sms"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and all(name in lines[0] for name in REQUIRED), lines


TWILIO = {
    "channel": "sms",
    "provider": "twilio",
    "address": "+14155550100",
    "credentials": {"account_sid": "AC" + "1" * 32, "auth_token": "twilio-auth-token-secret"},
}


def test_keys_rotate_reseals_every_credential_so_that_only_the_new_key_opens_them(
    database_url, bare_environment, monkeypatch, capsys
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with running_service(database_url, credentials_key=old, roles=()) as service:
        client = Client(service)
        ids = [
            client.ok(client.post("/v1/sender-accounts", {**TWILIO, "address": f"+1415555010{n}"}), 201)["id"]
            for n in range(3)
        ]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CREDENTIALS_KEY", f"{new},{old}")

    assert main(["keys", "rotate"]) == 0
    first = capsys.readouterr().err
    assert "3/3 checked, 3 re-sealed" in first
    assert main(["keys", "rotate"]) == 0  # again, as after a crash: nothing left to do, nothing broken
    assert "0 re-sealed, 3 already sealed with the first key" in capsys.readouterr().err

    db = Database(database_url)
    try:
        for account in ids:
            opened = decrypt_credentials(db, CredentialCipher(new), UUID(account))
            assert opened["auth_token"] == "twilio-auth-token-secret"
            sealed = db.fetch_one("SELECT credentials FROM sender_accounts WHERE id = %s", (account,))
            assert sealed is not None and not CredentialCipher(old).sealed_with_first_key(
                bytes(sealed["credentials"])
            )
    finally:
        db.close()


def test_a_credential_sealed_with_the_old_key_opens_while_both_keys_are_listed():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = CredentialCipher(old).seal({"auth_token": "t"})
    both = CredentialCipher(f"{new}, {old}")
    assert both.open(sealed) == {"auth_token": "t"}
    assert CredentialCipher(new).open(both.seal({"auth_token": "u"})) == {"auth_token": "u"}
