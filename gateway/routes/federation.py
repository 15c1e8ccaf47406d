"""The force node's federation endpoint: mergeable partials for the gateway, never records.

``POST /federation/v1/answer`` with ``{"forces": [...], "query": {...}}`` (the wire format
of ``adapters.indicators.wire``) needs ``federation:read``. A node answers only for the
force it holds; asking for any other force is refused.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.indicators.wire import WireFormatError, answer_to_wire, query_from_wire
from auth.guard import require
from auth.policy import Action
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
        return problem(413, "body_too_large", f"A federation question is at most {MAX_BODY} bytes.")
    try:
        data: Any = orjson.loads(body)
        forces = data["forces"]
        if not isinstance(forces, list) or forces != [node_force]:
            return problem(400, "wrong_force", f"This node holds only force {node_force}.")
        query = query_from_wire(data["query"])
    except (orjson.JSONDecodeError, KeyError, TypeError, WireFormatError) as exc:
        return problem(400, "bad_request", f"Not a federation question: {exc}")
    source: CachedLocalSource = services.extras["node_source"]
    result = await run_in_threadpool(source.answer, forces, query)
    versions = await run_in_threadpool(source.local.data_versions, forces)
    return json_response(answer_to_wire(result, versions))


routes = [Route("/federation/v1/answer", answer, methods=["POST"])]
