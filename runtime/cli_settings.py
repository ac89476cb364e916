"""What every command line command starts from: the settings (environment and `.env`, then the
flags given) and, for those that need the whole service, the container built from them."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from runtime.settings import Settings

if TYPE_CHECKING:  # imported where used at run time: each command loads only what it needs
    from runtime.container import Container, SchemaPolicy


def settings_for(args: argparse.Namespace, **forced: object) -> Settings:
    overrides = {}
    for name in ("host", "port", "data_dir"):
        if getattr(args, name, None) is not None:
            overrides[name] = getattr(args, name)
    if getattr(args, "dev_clock", False):
        overrides["dev_clock"] = True
    return Settings(**{**overrides, **forced})


def container_for(
    args: argparse.Namespace, *, schema: SchemaPolicy = "upgrade", **forced: object
) -> Container:
    from runtime.container import build

    settings = settings_for(args, **forced)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return build(settings, schema=schema)
