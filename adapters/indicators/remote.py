"""A force node as an indicator source: partials over HTTP, never records.

The gateway authenticates to the node with its own client credentials (scope
``federation:read``) and keeps the token until shortly before it expires. Connection
failures are ``SourceUnavailableError(retryable=True)`` so the fan-out retries once;
anything else wrong with the node's answer (status, shape, forces) is not retried.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import httpx
from opentelemetry import propagate

from adapters.indicators.errors import IndicatorError
from adapters.indicators.quality import DataQuality
from adapters.indicators.query import IndicatorQuery
from adapters.indicators.wire import (
    SourceAnswer,
    WireFormatError,
    answer_from_wire,
    query_to_wire,
)
from schema.indicators.catalogue import IndicatorId
from schema.periods import Period

ANSWER_PATH = "/federation/v1/answer"


class SourceUnavailableError(IndicatorError):
    def __init__(self, reason: str, *, retryable: bool = False) -> None:
        super().__init__(f"source unavailable: {reason}")
        self.reason = reason
        self.retryable = retryable


class RemoteIndicatorSource:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float = 2.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout, transport=transport)
        self._client_id = client_id
        self._client_secret = client_secret
        self._token: str | None = None
        self._token_until = 0.0
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _bearer(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() > self._token_until:
                response = self._send(
                    "POST",
                    "/oauth/token",
                    data={"grant_type": "client_credentials", "scope": "federation:read"},
                    auth=(self._client_id, self._client_secret),
                )
                if response.status_code != 200:
                    raise SourceUnavailableError(f"token refused ({response.status_code})")
                body = response.json()
                self._token = str(body["access_token"])
                self._token_until = time.monotonic() + float(body.get("expires_in", 60)) - 30
            return self._token

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        propagate.inject(kwargs.setdefault("headers", {}))  # the node continues our trace
        try:
            return self._http.request(method, path, **kwargs)
        except (httpx.ConnectError, httpx.RemoteProtocolError) as exc:
            raise SourceUnavailableError("connection_failed", retryable=True) from exc
        except httpx.TimeoutException as exc:
            raise SourceUnavailableError("timeout") from exc
        except httpx.HTTPError as exc:
            raise SourceUnavailableError("transport_error") from exc

    def _ask(self, forces: Sequence[str], payload: dict[str, Any]) -> dict[str, Any]:
        response = self._send(
            "POST", ANSWER_PATH, json=payload, headers={"Authorization": f"Bearer {self._bearer()}"}
        )
        if response.status_code == 401:
            with self._lock:
                self._token = None
        if response.status_code != 200:
            raise SourceUnavailableError(f"bad_response ({response.status_code})")
        try:
            data: dict[str, Any] = response.json()
        except ValueError as exc:
            raise SourceUnavailableError("bad_response (not JSON)") from exc
        return data

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer:
        data = self._ask(forces, {"forces": list(forces), "query": query_to_wire(query)})
        try:
            answer, versions = answer_from_wire(data, forces)
        except WireFormatError as exc:
            raise SourceUnavailableError("bad_response (shape)") from exc
        stamps = {f: (v, answer.quality[f].last_submission_at) for f, v in versions.items()}
        return SourceAnswer(answer.partials, answer.quality, stamps)

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]:
        if not periods:
            return {}
        query = IndicatorQuery(
            (IndicatorId.RECORDED_OFFENCES,), periods[0].granularity, tuple(periods)
        )
        return self.answer(forces, query).quality
