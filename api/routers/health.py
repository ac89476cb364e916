"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz():
    return {"status": "ok"}


@router.get("/readyz")
def readyz(services: ServicesDep):
    checks = services.ready()
    return JSONResponse(
        {"ready": all(checks.values()), "checks": checks}, status_code=200 if all(checks.values()) else 503
    )
