"""A small fault-injecting TCP proxy on 127.0.0.1, for a force node or a gateway replica.

Each new connection gets the proxy's current ``mode`` or, if faults are armed, the next
armed fault (one connection each):

* ``pass``: bytes both ways, untouched; when ``mode`` changes while a connection is open,
  its next request meets the new mode (``hang``, ``reset`` or ``garbage``);
* ``hang``: accepts and reads the request, never answers (until the client gives up, or
  ``HANG_SECONDS``);
* ``reset``: accepts, then resets the connection (RST) without a byte;
* ``garbage``: reads the request, answers random bytes that are not HTTP, then closes;
* ``cut_request``: forwards part of the request to the server, then resets both sides
  (an upload that breaks off);
* ``drop_response``: forwards the whole request, lets the server answer, and resets the
  client instead of passing the answer on (the work is done, the client never hears).

The event loop runs in a daemon thread; ``close()`` stops it. ``injected`` counts the
faults actually applied, by kind.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
import socket
import struct
import threading
from typing import Final

from benchmarks.reliability.cluster import HOST, free_port

MODES: Final = ("pass", "hang", "reset", "garbage", "cut_request", "drop_response")
HANG_SECONDS: Final = 30.0
CHUNK: Final = 65536


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), not FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    def __init__(self, upstream_port: int, *, seed: int = 0) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.mode = "pass"
        self.injected: collections.Counter[str] = collections.Counter()
        self._armed: collections.deque[str] = collections.deque()
        self._lock = threading.Lock()
        self._random = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"proxy-{self.port}", daemon=True)
        self._thread.start()
        self._started.wait(10)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def arm(self, *faults: str) -> None:
        with self._lock:
            self._armed.extend(faults)

    def _next(self) -> str:
        with self._lock:
            return self._armed.popleft() if self._armed else self.mode

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, HOST, self.port, reuse_address=True)
        )
        self._server = server
        self._started.set()
        self._loop.run_forever()

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            for task in asyncio.all_tasks(self._loop):
                task.cancel()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(10)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        mode = self._next()
        if mode != "pass":
            self.injected[mode] += 1
        try:
            await getattr(self, "_" + mode)(reader, writer)
        except (OSError, asyncio.IncompleteReadError, ConnectionError):
            _abort(writer)
        finally:
            if not writer.is_closing():
                writer.close()

    async def _upstream(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(HOST, self.upstream_port)

    async def _pass(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Relay both ways; a ``mode`` set while the connection is open (a keep-alive
        connection of the gateway's node client) applies to its next request."""
        up_reader, up_writer = await self._upstream()
        faulted = False

        async def requests() -> None:
            nonlocal faulted
            while chunk := await reader.read(CHUNK):
                live = self.mode
                if live != "pass":
                    faulted = True
                    self.injected[live] += 1
                    _abort(up_writer)
                    await getattr(self, "_" + live)(reader, writer, seen=True)
                    return
                up_writer.write(chunk)
                await up_writer.drain()
            if not up_writer.is_closing():
                with contextlib.suppress(OSError):
                    up_writer.write_eof()

        async def responses() -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while chunk := await up_reader.read(CHUNK):
                    writer.write(chunk)
                    await writer.drain()
            if not faulted and not writer.is_closing():
                with contextlib.suppress(OSError):
                    writer.write_eof()

        try:
            await asyncio.gather(requests(), responses())
        finally:
            up_writer.close()

    async def _hang(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bool = False
    ) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(HANG_SECONDS):
                while await reader.read(CHUNK):
                    pass
        _abort(writer)

    async def _reset(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bool = False
    ) -> None:
        _abort(writer)

    async def _garbage(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: bool = False
    ) -> None:
        if not seen:  # read the request first, as a broken server would
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await reader.read(CHUNK)
        writer.write(self._random.randbytes(self._random.randint(1, 4096)))
        await writer.drain()
        _abort(writer)

    async def _cut_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        _, up_writer = await self._upstream()
        budget = self._random.randint(1, 256 * 1024)
        while budget > 0 and (chunk := await reader.read(min(CHUNK, budget))):
            up_writer.write(chunk)
            await up_writer.drain()
            budget -= len(chunk)
        _abort(up_writer)
        _abort(writer)

    async def _drop_response(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        up_reader, up_writer = await self._upstream()

        async def forward() -> None:
            while chunk := await reader.read(CHUNK):
                up_writer.write(chunk)
                await up_writer.drain()

        sending = asyncio.ensure_future(forward())
        try:
            await up_reader.read(1)  # the server has answered: its work is done
        finally:
            sending.cancel()
        _abort(writer)
        up_writer.close()
