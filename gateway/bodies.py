"""Streaming a request body into synchronous code running in a worker thread.

Ingestion is synchronous (SQLAlchemy, the csv module); request bodies arrive
asynchronously. The body is pumped through a small bounded buffer, so a gigabyte upload
never sits in memory, and the worker sees a plain iterator of byte chunks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import TypeVar

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.requests import Request

from adapters.store.errors import BodyTooLargeError

T = TypeVar("T")
_BUFFERED_CHUNKS = 16


class MeteredBody:
    """Iterates the chunks once, hashing them and enforcing the size limit."""

    def __init__(self, chunks: Iterator[bytes], limit: int) -> None:
        self._chunks = chunks
        self._limit = limit
        self._hash = hashlib.sha256()
        self.size = 0
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.size += len(chunk)
            if self.size > self._limit:
                raise BodyTooLargeError(self._limit)
            self._hash.update(chunk)
            yield chunk
        self._done = True

    def sha256(self) -> str:
        """The digest of the whole body, reading whatever the parser left unread."""
        if not self._done:
            for _ in self:
                pass
        return self._hash.hexdigest()


async def run_with_body(request: Request, work: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``work(chunks)`` in a worker thread, feeding it the request body as it arrives."""
    send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=_BUFFERED_CHUNKS)

    async def pump() -> None:
        async with send:
            async for chunk in request.stream():
                if chunk:
                    await send.send(chunk)

    def chunks() -> Iterator[bytes]:
        while True:
            try:
                yield anyio.from_thread.run(receive.receive)
            except anyio.EndOfStream:
                return

    async with anyio.create_task_group() as group:
        group.start_soon(pump)
        try:
            return await anyio.to_thread.run_sync(work, chunks())
        finally:
            group.cancel_scope.cancel()
