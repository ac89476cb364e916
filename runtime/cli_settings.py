"""What every command line command starts from: the settings (environment and `.env`, then the
flags given) and, for those that need the whole service, the service built from them (runtime/service.py)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from runtime.settings import Settings

if TYPE_CHECKING:  # imported where used at run time: each command loads only what it needs
    from runtime.bootstrap import SchemaPolicy
    from runtime.service import Service


def settings_for(args: argparse.Namespace, **forced: object) -> Settings:
    overrides = {}
    for name in ("host", "port", "data_dir"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "dev_clock", False):
        overrides["dev_clock"] = True
    return Settings(**{**overrides, **forced})


def missing_settings(args: argparse.Namespace) -> str | None:
    """Why a role against DATABASE_URL must not start: the production settings it lacks, in one line."""
    missing = settings_for(args).missing_for_production()
    if not missing:
        return None
    return f"DATABASE_URL is set, so {', '.join(missing)} must be set too; missing: " + "; ".join(
        f"{name} ({PRODUCTION_SETTINGS[name]})" for name in missing
    )


PRODUCTION_SETTINGS = {
    "CREDENTIALS_KEY": "the Fernet key sealing sender credentials",
    "UNSUBSCRIBE_SECRET": "the secret signing unsubscribe and tracking links",
    "PUBLIC_BASE_URL": "the URL the service is reached at, for links and Twilio signatures",
}


def service_for(args: argparse.Namespace, *, schema: SchemaPolicy = "upgrade", **forced: object) -> Service:
    from runtime.service import build_service

    return build_service(settings_for(args, **forced), schema=schema)


@contextlib.contextmanager
def database_url_for(args: argparse.Namespace) -> Iterator[str]:
    """The database the other commands use (DATABASE_URL, else the embedded one under the data
    dir), without building the rest of the service."""
    from runtime.embedded_postgres import EmbeddedPostgres

    settings = settings_for(args)
    if settings.database_url is not None:
        yield settings.database_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.data_dir, durable=settings.durable)
    try:
        yield embedded.start()
    finally:
        embedded.stop()
