"""The FastAPI app factory: routers, error mapping, and the services handed in by the composition root."""

from __future__ import annotations

from fastapi import FastAPI

from api import routers
from api.deps import Services
from api.errors import ProblemOnCrash, install_error_handlers
from api.gate import RequestGate
from api.openapi import install_problem_documents
from api.request_observation import RequestObservation
from api.routers.sandbox import clock_router
from commands.credits.brands import brand_for_key


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Campaign Service",
        version="0.1.0",
        description="Multi-step outreach campaigns (email, SMS, voicemail drop, waits), event-sourced.",
    )
    app.state.services = services
    install_error_handlers(app)
    install_problem_documents(app)
    # The last added is the outermost: a crash anywhere, the gate included, is a 500 problem.
    app.add_middleware(RequestGate, brand_for_key=lambda key: brand_for_key(services.db, key))
    app.add_middleware(ProblemOnCrash)
    app.add_middleware(RequestObservation)  # outermost: every answer has its request id and is timed
    for router in routers.ALL:
        app.include_router(router)
    if services.read_outbox is not None:
        app.include_router(routers.sandbox.router)
    if services.dev_clock is not None:
        app.include_router(clock_router)
    return app
