"""The HTTP entrypoint: FastAPI app factory, routers per resource, schemas, problem+json errors."""
