"""`campaign-service gmail authorize`: bad arguments are explained, and a grant prints as credentials.

Google's browser flow cannot run in a test; the successful path stands its result in for it.
"""

from __future__ import annotations

import json

import pytest

from runtime.cli import main

DESKTOP_CLIENT = {
    "installed": {
        "client_id": "123.apps.example",
        "client_secret": "client-secret",
        "auth_uri": "http://127.0.0.1:9/auth",
        "token_uri": "http://127.0.0.1:9/token",
        "redirect_uris": ["http://localhost"],
    }
}


def test_a_missing_client_secrets_file_is_explained_with_a_non_zero_exit(tmp_path, capsys):
    assert main(["gmail", "authorize", "--client-secrets", str(tmp_path / "absent.json")]) == 2
    error = capsys.readouterr().err
    assert "absent.json not found" in error and "Desktop app" in error


def test_the_client_secrets_option_is_required(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["gmail", "authorize"])
    assert exit.value.code == 2
    assert "--client-secrets" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json {", "not readable JSON"),
        (json.dumps({"installed": {"client_id": "x"}}), "not an OAuth client secrets file"),
        (json.dumps(["a list"]), "not an OAuth client secrets file"),
    ],
)
def test_a_file_that_is_not_a_client_secrets_file_is_refused(tmp_path, capsys, content, says):
    path = tmp_path / "client.json"
    path.write_text(content)
    assert main(["gmail", "authorize", "--client-secrets", str(path)]) == 2
    assert says in capsys.readouterr().err


def test_a_granted_mailbox_prints_the_credentials_a_gmail_sender_account_takes(tmp_path, capsys, monkeypatch):
    from google.oauth2.credentials import Credentials
    from google_auth_oauthlib.flow import InstalledAppFlow

    asked = {}

    def granted(self, **options):
        asked.update(options, scopes=self.oauth2session.scope)
        return Credentials(
            token="access",
            refresh_token="refresh-token",
            client_id="123.apps.example",
            client_secret="client-secret",
            token_uri="http://127.0.0.1:9/token",
        )

    monkeypatch.setattr(InstalledAppFlow, "run_local_server", granted)
    path = tmp_path / "client.json"
    path.write_text(json.dumps(DESKTOP_CLIENT))
    assert main(["gmail", "authorize", "--client-secrets", str(path), "--no-browser"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "refresh_token": "refresh-token",
        "client_id": "123.apps.example",
        "client_secret": "client-secret",
        "token_uri": "http://127.0.0.1:9/token",
    }
    assert asked["open_browser"] is False and asked["access_type"] == "offline"
    assert set(asked["scopes"]) == {
        "https://www.googleapis.com/auth/gmail.send",
        "https://www.googleapis.com/auth/gmail.readonly",
    }
