"""Liveness and readiness probes, and the Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=None)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "not ready", "content": {"application/json": {}}}})
def readyz(services: ServicesDep) -> JSONResponse:
    """Ready when every check passes; `parked` counts items set aside per follower (they do not make
    the service unready: `campaign-service parked list` shows them)."""
    checks = services.ready()
    body: dict[str, Any] = {"ready": all(checks.values()), "checks": checks}
    if checks.get("database", True):
        body["parked"] = services.parked()
    return JSONResponse(body, status_code=200 if all(checks.values()) else 503)


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(services: ServicesDep) -> PlainTextResponse:
    """Prometheus text format, with # HELP and # TYPE for every family (runtime/metrics.py): sends,
    provider call times, send lag, HTTP request times, follower lag, parked items, credits."""
    return PlainTextResponse(services.metrics(), media_type="text/plain; version=0.0.4")
