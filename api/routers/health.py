"""Liveness and readiness probes, and Prometheus gauges."""

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
    """Prometheus text format: positions in the event log of the store, the relay and each projection."""
    lines = []
    for name, value in sorted(services.gauges().items()):
        lines.append(f"campaign_service_{name} {value}")
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
