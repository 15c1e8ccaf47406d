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


class BodyInterruptedError(Exception):
    """The client stopped sending before the body ended: nothing may be stored from it."""


async def run_with_body(request: Request, work: Callable[[Iterator[bytes]], T]) -> T:
    """Run ``work(chunks)`` in a worker thread, feeding it the request body as it arrives.

    A body that breaks off (client disconnect) reaches the worker as
    ``BodyInterruptedError``, never as a clean end, so a truncated upload cannot be taken
    for a complete one. Exceptions from ``work`` propagate unchanged.
    """
    send, receive = anyio.create_memory_object_stream[bytes | BaseException](
        max_buffer_size=_BUFFERED_CHUNKS
    )

    async def pump() -> None:
        async with send:
            try:
                async for chunk in request.stream():
                    if chunk:
                        await send.send(chunk)
            except anyio.get_cancelled_exc_class():
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the worker, which raises it
                await send.send(BodyInterruptedError(f"the request body broke off: {exc}"))

    def chunks() -> Iterator[bytes]:
        while True:
            try:
                item = anyio.from_thread.run(receive.receive)
            except anyio.EndOfStream:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    failure: BaseException | None = None
    result: T | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(pump)
        try:
            result = await anyio.to_thread.run_sync(work, chunks())
        except Exception as exc:  # noqa: BLE001 - re-raised below, outside the task group
            failure = exc
        finally:
            group.cancel_scope.cancel()
            receive.close()
    if failure is not None:
        raise failure
    return result  # type: ignore[return-value]
