"""The force node's federation endpoint: mergeable partials for the gateway, never records.

``POST /federation/v1/answer`` with ``{"forces": [...], "query": {...}}`` (the wire format
of ``adapters.indicators.wire``) needs ``federation:read``. A node answers only for the
force it holds; asking for any other force is refused. Every answer and refusal is
audited on the node as ``federation:answer`` (the partials are exact counts: the gateway
applies disclosure control, so the node records what left it).
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.indicators.wire import (
    WireFormatError,
    answer_to_wire,
    data_versions,
    query_from_wire,
)
from auth.guard import require
from auth.policy import Action
from gateway import audit_log
from gateway.audit import Disclosure, Outcome, digest_bytes
from gateway.indicators.sources import CachedLocalSource
from gateway.problems import json_response, problem
from gateway.services import services_of

MAX_BODY = 64 * 1024


async def answer(request: Request) -> Response:
    require(request, Action.READ_FEDERATION_PARTIALS)
    services = services_of(request)
    node_force = services.settings.node_force
    body = await request.body()
    if len(body) > MAX_BODY:
        _audit(request, node_force, "body_too_large")
        return problem(413, "body_too_large", f"A federation question is at most {MAX_BODY} bytes.")
    try:
        data: Any = orjson.loads(body)
        forces = data["forces"]
        if not isinstance(forces, list) or forces != [node_force]:
            _audit(request, node_force, "wrong_force")
            return problem(400, "wrong_force", f"This node holds only force {node_force}.")
        query = query_from_wire(data["query"])
    except (orjson.JSONDecodeError, KeyError, TypeError, WireFormatError) as exc:
        _audit(request, node_force, "bad_request")
        return problem(400, "bad_request", f"Not a federation question: {exc}")
    source: CachedLocalSource = services.extras["node_source"]
    result = await run_in_threadpool(source.answer, forces, query)
    response = json_response(answer_to_wire(result, data_versions(result)))
    _audit(request, node_force, None, digest_bytes(bytes(response.body)))
    return response


def _audit(
    request: Request, force: str | None, reason: str | None, response_sha256: str | None = None
) -> None:
    event = audit_log.event(
        request,
        "federation:answer",
        Outcome.ERROR if reason else Outcome.ALLOWED,
        forces=(force,) if force else (),
        disclosure=Disclosure(response_sha256=response_sha256),
        reason=reason,
    )
    audit_log.standalone(request, event)


routes = [Route("/federation/v1/answer", answer, methods=["POST"])]
