"""`campaign-service gmail authorize`: connects a mailbox and prints the credentials for its sender account.

Runs Google's installed-app OAuth flow (google_auth_oauthlib) with the OAuth client downloaded from
Google Cloud (a "Desktop app" client's JSON): a browser asks the mailbox's owner to allow sending
and reading, a local redirect hands the grant back, and the command prints the JSON credentials
(`refresh_token`, `client_id`, `client_secret`, `token_uri`) to give as `credentials` when the
Gmail sender account is registered. docs/channels.md walks through it step by step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


class ClientSecretsProblem(ValueError):
    """The file given is not a usable OAuth client secrets file."""


def client_config(path: Path) -> dict[str, Any]:
    """The OAuth client configuration in `path`; ClientSecretsProblem saying what is wrong."""
    if not path.is_file():
        raise ClientSecretsProblem(
            f"client secrets file {path} not found: download the OAuth client's JSON "
            "(Google Cloud console, APIs & Services, Credentials, a Desktop app client)"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as unreadable:
        raise ClientSecretsProblem(f"client secrets file {path} is not readable JSON: {unreadable}") from None
    client = config.get("installed") or config.get("web") if isinstance(config, dict) else None
    if not isinstance(client, dict) or not all(client.get(k) for k in ("client_id", "client_secret")):
        raise ClientSecretsProblem(
            f"{path} is not an OAuth client secrets file: it needs an 'installed' client "
            "with client_id and client_secret (create a Desktop app OAuth client)"
        )
    return dict(config)


def authorize(args: argparse.Namespace) -> int:
    try:
        config = client_config(Path(args.client_secrets))
    except ClientSecretsProblem as problem:
        print(f"campaign-service: {problem}", file=sys.stderr)
        return 2
    from google_auth_oauthlib.flow import InstalledAppFlow  # loaded by this command only

    from consumers.providers.gmail.mailbox_sessions import SCOPES

    flow = InstalledAppFlow.from_client_config(config, scopes=list(SCOPES))
    # offline + consent: Google hands out a refresh token, even to a mailbox that allowed this before.
    credentials = flow.run_local_server(
        host="localhost",
        port=args.port,
        open_browser=not args.no_browser,
        access_type="offline",
        prompt="consent",
    )
    if not credentials.refresh_token:
        print("campaign-service: Google gave no refresh token; run the command again", file=sys.stderr)
        return 1
    grant = {
        "refresh_token": credentials.refresh_token,
        "client_id": credentials.client_id,
        "client_secret": credentials.client_secret,
        "token_uri": credentials.token_uri,
    }
    print(json.dumps(grant, indent=2))
    return 0


def add_commands(commands: Any) -> None:
    """The `gmail` command group of the command line."""
    gmail = commands.add_parser("gmail", help="Gmail mailboxes for sender accounts")
    gmail_commands = gmail.add_subparsers(dest="gmail_command", required=True)
    connect = gmail_commands.add_parser(
        "authorize", help="run Google's OAuth flow for a mailbox and print its sender account credentials"
    )
    connect.add_argument(
        "--client-secrets", required=True, help="the OAuth client JSON downloaded from Google Cloud"
    )
    connect.add_argument(
        "--port", type=int, default=0, help="local port for Google's redirect (default: any)"
    )
    connect.add_argument(
        "--no-browser", action="store_true", help="print the URL instead of opening a browser"
    )
    connect.set_defaults(func=authorize)
