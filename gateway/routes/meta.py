"""Liveness, readiness and the published record schema."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gateway import database
from gateway.problems import json_response, problem
from gateway.services import services_of
from schema.jsonschema import record_json_schema


async def healthz(request: Request) -> Response:
    """Liveness: the process answers. Never touches the database."""
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Readiness: the database answers and is migrated at least to this code's head.

    A revision this code does not know is newer (a release migrated ahead of a rolling
    update): old replicas stay ready until they are replaced, as expand/contract
    migrations intend. A known revision older than head means ``soteria db upgrade`` has
    not run: not ready.
    """
    services = services_of(request)
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = database.current_revision(services.engine)
    except SQLAlchemyError:
        return problem(503, "database_unavailable", "The database does not answer.")
    if not database.is_current_or_newer(services.engine, current):
        return problem(
            503,
            "database_not_migrated",
            "The database is not at the expected migration; run `soteria db upgrade`.",
        )
    return json_response({"status": "ready", "revision": current})


async def record_schema(request: Request) -> Response:
    services = services_of(request)
    return json_response(
        record_json_schema(services.settings.public_url),
        headers={"Cache-Control": "public, max-age=3600"},
    )


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/v1/schema/record.json", record_schema, methods=["GET"]),
]
