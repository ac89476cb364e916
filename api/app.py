"""The FastAPI app factory: routers, error mapping, and the services handed in by the composition root."""

from __future__ import annotations

from fastapi import FastAPI

from api import routers
from api.deps import Services
from api.errors import install_error_handlers
from api.routers.sandbox import clock_router


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Campaign Service",
        version="0.1.0",
        description="Multi-step outreach campaigns (email, SMS, voicemail drop, waits), event-sourced.",
    )
    app.state.services = services
    install_error_handlers(app)
    for router in routers.ALL:
        app.include_router(router)
    if services.read_outbox is not None:
        app.include_router(routers.sandbox.router)
    if services.dev_clock is not None:
        app.include_router(clock_router)
    return app
