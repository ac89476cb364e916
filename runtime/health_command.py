"""`campaign-service health`: exits 0 when this container's role answers healthy, 1 otherwise, for
Docker's HEALTHCHECK and compose's healthcheck. It asks the role's own endpoint: /healthz on
METRICS_PORT (every role serves it there: alive, and every readiness check passing), else the API's
/readyz on PORT; `--url` asks another."""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from typing import Any


def add_commands(commands: Any) -> None:
    health = commands.add_parser("health", help="exit 0 when this container's role answers healthy")
    health.add_argument("--url", help="default: /healthz on METRICS_PORT, else /readyz on PORT")
    health.add_argument("--timeout", type=float, default=5.0)
    health.set_defaults(func=check_health)


def health_url() -> str:
    if port := os.environ.get("METRICS_PORT"):
        return f"http://127.0.0.1:{port}/healthz"
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/readyz"


def check_health(args: argparse.Namespace) -> int:
    url = args.url or health_url()
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as answer:
            status = answer.status
    except urllib.error.HTTPError as unhealthy:
        status = unhealthy.code
    except OSError as unreachable:
        print(f"campaign-service: {url} did not answer: {unreachable}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"campaign-service: {url} answered {status}", file=sys.stderr)
        return 1
    return 0
