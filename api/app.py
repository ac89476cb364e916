"""The FastAPI app factory: routers, error mapping, and the services handed in by the composition root."""

from __future__ import annotations

from fastapi import FastAPI

from api import routers
from api.admin_gate import AdminGate
from api.api_docs import install_api_docs
from api.console import install_console
from api.deps import Services
from api.errors import ProblemOnCrash, install_error_handlers
from api.gate import RequestGate
from api.openapi import install_problem_documents
from api.request_observation import RequestObservation
from api.routers.sandbox import clock_router


def create_app(services: Services) -> FastAPI:
    app = FastAPI(
        title="Campaign Service",
        version="0.1.0",
        description="Multi-step outreach campaigns (email, SMS, voicemail drop, waits), event-sourced.",
        docs_url=None,  # /docs and /redoc are served with their assets from the package (api/api_docs)
        redoc_url=None,
    )
    app.state.services = services
    install_error_handlers(app)
    install_problem_documents(app)
    # The last added is the outermost: a crash anywhere, the gate included, is a 500 problem.
    app.add_middleware(RequestGate, admission=services.admission)
    if services.admin_api_key is not None:  # without the setting the admin API does not exist
        app.add_middleware(AdminGate, admin_api_key=services.admin_api_key)
        app.include_router(routers.admin.router)
    app.add_middleware(ProblemOnCrash)
    app.add_middleware(RequestObservation)  # outermost: every answer has its request id and is timed
    for router in routers.ALL:
        app.include_router(router)
    if services.read_outbox is not None:
        app.include_router(routers.sandbox.router)
    if services.dev_clock is not None:
        app.include_router(clock_router)
    install_api_docs(app)
    install_console(app)  # the browser console at /console/ (api/console)
    return app
