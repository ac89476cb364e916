"""The API's own documentation pages, /docs (Swagger UI) and /redoc (ReDoc), served with their
scripts and styles from this package (assets/, pinned copies from the npm registry: VENDORED.md)
instead of a public CDN, so they render on a machine without internet, behind a strict proxy or
under a content security policy. ReDoc is asked not to load web fonts from outside either."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

ASSETS = Path(__file__).with_name("assets")
PREFIX = "/docs/assets"


def install_api_docs(app: FastAPI) -> None:
    """Serve /docs and /redoc from the package; the app is made with docs_url=None, redoc_url=None."""
    openapi_url = app.openapi_url or "/openapi.json"
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="api-docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{PREFIX}/swagger-ui-bundle.js",
            swagger_css_url=f"{PREFIX}/swagger-ui.css",
            swagger_favicon_url=f"{PREFIX}/favicon-32x32.png",
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{PREFIX}/redoc.standalone.js",
            redoc_favicon_url=f"{PREFIX}/favicon-32x32.png",
            with_google_fonts=False,
        )
