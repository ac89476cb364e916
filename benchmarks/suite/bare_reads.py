"""Anchor of the API reads: a bare Starlette app on uvicorn answering the same two reads with the
same SQL as the service (the API-key lookup, then the campaign summary row or a page of them), with
no FastAPI, no validation and no middleware.

    DATABASE_URL=... python -m benchmarks.suite.bare_reads PORT
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any
from uuid import UUID

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from commands.access.key_lookup import brand_for_key
from projections.campaign_summaries import summaries, summary
from storage.database import Database


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, default=str), status, media_type="application/json")


def app(db: Database) -> Starlette:
    def brand(request: Request) -> UUID | None:
        _, _, key = request.headers.get("authorization", "").partition(" ")
        return brand_for_key(db, key.strip()) if key else None

    def one(request: Request) -> Response:  # sync, so run in the thread pool as the service's routes
        owner = brand(request)
        if owner is None:
            return json_response({"title": "Unauthorized"}, 401)
        row = summary(db, owner, UUID(request.path_params["campaign_id"]))
        return json_response(row) if row is not None else json_response({"title": "Not Found"}, 404)

    def page(request: Request) -> Response:
        owner = brand(request)
        if owner is None:
            return json_response({"title": "Unauthorized"}, 401)
        rows, cursor = summaries(db, owner, None, 50, None)
        return json_response({"items": rows, "next_cursor": cursor})

    return Starlette(routes=[Route("/v1/campaign/", page), Route("/v1/campaign/{campaign_id}", one)])


def main(argv: list[str]) -> int:
    db = Database(os.environ["DATABASE_URL"])
    config = uvicorn.Config(app(db), host="127.0.0.1", port=int(argv[0]), log_level="warning")
    server = uvicorn.Server(config)
    print("bare reads ready", flush=True)  # uvicorn binds at once; the caller waits on a first answer
    server.run()
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
