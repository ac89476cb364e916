"""What a channel's child process is built from: the serving process's settings, its database and
its keys, carried in environment variables and read back by Settings as the child reads them.

The embedded default keeps its keys in files of its data folder, which a child (having no embedded
server) would not read: they are handed over, so the child opens the credentials the parent sealed
and signs unsubscribe links the parent's API accepts.
"""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet

from commands.audience.unsubscribe_tokens import UnsubscribeRequest, UnsubscribeTokens, signing_secret
from commands.sending.credentials import cipher_for
from runtime.bootstrap import settings_for_a_child
from runtime.settings import Settings

URL = "postgresql://campaigns:secret@127.0.0.1:5599/campaigns"
NO_KEYS = {"database_url": None, "credentials_key": None, "unsubscribe_secret": None}


def as_the_child_reads_it(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in settings.environment().items():
        monkeypatch.setenv(name, value)
    return Settings(_env_file=None)  # the environment alone, no .env file


def test_a_child_of_the_embedded_default_gets_its_database_and_the_keys_of_its_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    parent = Settings(**NO_KEYS, data_dir=tmp_path, port=8123, gmail_timeout=7.5)
    sealed = cipher_for(None, tmp_path).seal({"refresh_token": "r-1"})
    signing = signing_secret(None, None, tmp_path)
    request = UnsubscribeRequest(uuid4(), uuid4(), uuid4(), "ann@example.com")
    token = UnsubscribeTokens(signing).token(request)

    child = as_the_child_reads_it(settings_for_a_child(parent, URL, tmp_path, signing), monkeypatch)

    assert child.database_url is not None and child.database_url.get_secret_value() == URL
    assert (child.dev_clock, child.development_routes, child.channel_processes) == (False, False, False)
    assert (child.port, child.gmail_timeout, child.public_url) == (8123, 7.5, parent.public_url)
    key = child.credentials_key.get_secret_value() if child.credentials_key else None
    assert cipher_for(key, None).open(sealed) == {"refresh_token": "r-1"}
    secret = child.unsubscribe_secret.get_secret_value() if child.unsubscribe_secret else None
    assert UnsubscribeTokens(signing_secret(secret, key, None)).read(token) == request


def test_a_child_of_a_service_with_its_own_key_gets_that_key_and_signs_with_what_it_derives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    key = Fernet.generate_key().decode()
    parent = Settings(**{**NO_KEYS, "credentials_key": key}, data_dir=tmp_path)
    signing = signing_secret(None, key, None)
    child = as_the_child_reads_it(settings_for_a_child(parent, URL, None, signing), monkeypatch)
    assert child.credentials_key is not None and child.credentials_key.get_secret_value() == key
    assert child.unsubscribe_secret is None
    assert signing_secret(None, child.credentials_key.get_secret_value(), None) == signing
    assert not list(tmp_path.iterdir())  # nothing was written to a folder it does not own


def test_settings_given_in_code_come_back_whole_from_their_environment(monkeypatch: pytest.MonkeyPatch):
    given = Settings(
        database_url=URL,
        credentials_key=Fernet.generate_key().decode(),
        unsubscribe_secret="s3cret",
        data_dir=Path("/srv/campaigns"),
        batch_size=64,
        poll_interval=0.2,
        durable=False,
        gmail_api_base_url="http://127.0.0.1:9/",
        public_base_url="https://links.brand.example",
    )
    assert as_the_child_reads_it(given, monkeypatch) == given


def test_the_settings_a_child_is_given_are_the_environment_variables_an_operator_would_write(
    tmp_path: Path,
):
    key = Fernet.generate_key().decode()
    env = Settings(
        **{**NO_KEYS, "credentials_key": key}, data_dir=tmp_path, dev_clock=True, durable=False
    ).environment()
    assert env["CREDENTIALS_KEY"] == key  # the secret itself, not its mask
    assert (env["DEV_CLOCK"], env["DURABLE"]) == ("true", "false")  # as the docs spell them
    assert env["DATA_DIR"] == str(tmp_path)
    assert all(name == name.upper() for name in env)
    assert "DATABASE_URL" not in env and "UNSUBSCRIBE_SECRET" not in env  # not set: not given
