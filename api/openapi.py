"""The OpenAPI document, completed with what every route can answer besides success.

FastAPI documents the happy path and a 422 in its own shape; the service answers every error as an
RFC 9457 problem (api/errors.py), and some before a route runs (api/gate.py). So every operation
lists the statuses it can answer, each as `application/problem+json` with the Problem schema: 500
always; 401, 403 (a suspended brand) and 429 on /v1 (bearer key, also declared as the security
scheme; 429: the brand's rate, with `Retry-After`; every /v1 answer but a 401 or a 500 carries the
`RateLimit-*` headers, documented on each); 401 on /admin/v1 (the operators' key, a security scheme
of its own); 422 where it takes input;
404 under a path parameter; 400 and 413 with a body; 400 with a cursor; 409 with an Idempotency-Key;
plus what a route declares itself (402 on launch, 409 on a transition). A generated client and a
fuzzer then agree with the server.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
SECONDS = {"type": "integer", "minimum": 0}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"description": "requests the brand may make at once", "schema": SECONDS},
    "RateLimit-Remaining": {"description": "requests left to the brand now", "schema": SECONDS},
    "RateLimit-Reset": {
        "description": "seconds until the brand's allowance is whole again",
        "schema": SECONDS,
    },
}
RETRY_AFTER = {"Retry-After": {"description": "seconds to wait before asking again", "schema": SECONDS}}


class FieldError(BaseModel):
    field: str = Field(description="where: body.steps.0.subject, query.limit, header.Idempotency-Key")
    error: str


class ProblemBody(BaseModel):
    """An RFC 9457 problem; some carry more members (`needed` and `available` on a 402)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description="on a 422: each field and what is wrong")


def install_problem_documents(app: FastAPI) -> None:
    """Make `app.openapi()` return FastAPI's document completed with the error answers."""
    generate = app.openapi

    def document() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_problems(generate())
        return app.openapi_schema

    app.openapi = document  # type: ignore[method-assign]


def with_problems(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = ProblemBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = {**problem, "title": "Problem"}
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    document["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "the brand's API key"},
        "admin": {"type": "http", "scheme": "bearer", "description": "the operators' ADMIN_API_KEY"},
    }
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            _complete(path, operation)
    return document


def _complete(path: str, operation: dict[str, Any]) -> None:
    parameters = {p["name"].lower() for p in operation.get("parameters", [])}
    statuses = {500}
    if path.startswith("/v1"):
        statuses |= {401, 403, 429}  # 403: the brand is suspended; 429: over its rate
        operation["security"] = [{"bearer": []}]
    if path.startswith("/admin/"):
        statuses.add(401)
        operation["security"] = [{"admin": []}]
    if parameters or "requestBody" in operation:
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413}  # 400: a body that is not UTF-8 cannot even be parsed
    if "cursor" in parameters:
        statuses.add(400)
    if "idempotency-key" in parameters:
        statuses.add(409)
    responses = operation.setdefault("responses", {})
    for status in statuses:
        responses.setdefault(str(status), {"description": HTTPStatus(status).phrase})
    for status, response in responses.items():
        if status[0] in "45" and _problem_shaped(response):
            response["content"] = PROBLEM_CONTENT
        if path.startswith("/v1") and status not in ("401", "500"):  # no brand; a crash, outside the gate
            response["headers"] = {
                **response.get("headers", {}),
                **RATE_LIMIT_HEADERS,
                **(RETRY_AFTER if status == "429" else {}),
            }


def _problem_shaped(response: dict[str, Any]) -> bool:
    """An error answer without a shape of its own (or FastAPI's 422 shape): it is a problem."""
    content = response.get("content")
    return not content or "HTTPValidationError" in str(content)
