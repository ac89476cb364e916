"""`campaign-service keys rotate`: re-seals every stored sender credential with the first key of
CREDENTIALS_KEY (commands/sending/credential_rotation.py), printing its progress; safe to stop and
to run again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from runtime.cli_settings import database_url_for, settings_for


def add_commands(commands: Any) -> None:
    keys = commands.add_parser("keys", help="the key that seals sender credentials")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    rotate = key_commands.add_parser(
        "rotate", help="re-seal every stored credential with the first key of CREDENTIALS_KEY"
    )
    rotate.add_argument("--data-dir", type=Path, help="embedded PostgreSQL folder (also DATA_DIR)")
    rotate.set_defaults(func=rotate_keys)


def rotate_keys(args: argparse.Namespace) -> int:
    from commands.sending.credential_rotation import Rotation, reseal_credentials
    from commands.sending.credentials import cipher_for
    from storage.database import Database
    from storage.schema import upgrade

    settings = settings_for(args)
    key = settings.credentials_key.get_secret_value() if settings.credentials_key else None
    if settings.database_url is not None and not key:
        print("campaign-service: keys rotate needs CREDENTIALS_KEY (new key first)", file=sys.stderr)
        return 2
    cipher = cipher_for(key, settings.data_dir)
    assert cipher is not None  # a key given, or the embedded data folder's

    def progress(rotation: Rotation) -> None:
        print(
            f"keys rotate: {rotation.done}/{rotation.total} checked, {rotation.resealed} re-sealed",
            file=sys.stderr,
            flush=True,
        )

    with database_url_for(args) as url:
        upgrade(url)
        db = Database(url)
        try:
            rotation = reseal_credentials(db, cipher, progress)
        finally:
            db.close()
    print(
        f"keys rotate: {rotation.resealed} re-sealed, {rotation.current} already sealed with the first key,"
        f" {len(rotation.unreadable)} open with none of the keys",
        file=sys.stderr,
    )
    for account_id in rotation.unreadable:
        print(f"campaign-service: {account_id}: no key opens its sealed value", file=sys.stderr)
    return 1 if rotation.unreadable else 0
