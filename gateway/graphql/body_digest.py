"""The SHA-256 of a response body without hashing its large pre-serialised values again.

Every GraphQL answer's audit event records the SHA-256 of the exact body sent. A national
table in its fast form is about 700 KB, nearly all of it the table's pre-serialised rows:
the same bytes object for every request until the table changes, yet hashing it again on
every request took 0.39 ms, a tenth of the request. SHA-256 reads its input in order and
its state can be copied, so ``BodyDigests`` keeps the state reached after [the bytes
before a known value, the value] and each request hashes only the rest.

The digest is always exactly ``hashlib.sha256(body)``: a value is used only where the body
holds its bytes (checked with one comparison, ``bytes.startswith`` at that offset), and a
kept state is found only under a key holding every byte hashed before it: the segments
between values as bytes, the values by identity (the entry keeps them alive, so an
identity cannot be reused while it is kept). Anything else is hashed as it comes.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any, Final

_PROBE: Final = 64  # bytes of a value searched for before comparing the whole of it
_MAX_SEGMENTS: Final = 16 * 1024  # bytes between values kept in a key; beyond, hash it all


class BodyDigests:
    """Hex SHA-256 of bodies embedding large values; thread-safe, LRU of ``capacity``."""

    def __init__(self, *, capacity: int = 16, min_size: int = 64 * 1024) -> None:
        self.capacity = capacity
        self.min_size = min_size
        self.hits = 0
        self._states: OrderedDict[Hashable, tuple[Any, tuple[bytes, ...]]] = OrderedDict()
        self._lock = threading.Lock()

    def sha256(self, body: bytes, embedded: Sequence[bytes] = ()) -> str:
        """``hashlib.sha256(body).hexdigest()``; ``embedded``: values the body may hold, in
        the order it would hold them (others are ignored, and cost only a search)."""
        large = [value for value in embedded if len(value) >= self.min_size]
        if not large:
            return hashlib.sha256(body).hexdigest()
        key: list[Hashable] = []
        placed: list[bytes] = []
        pos = segments = 0
        for value in large:
            at = _find(body, value, pos)
            if at < 0:
                continue
            segments += at - pos
            key += (body[pos:at], id(value))
            placed.append(value)
            pos = at + len(value)
        if not placed or segments > _MAX_SEGMENTS:
            return hashlib.sha256(body).hexdigest()
        state = self._state(tuple(key), placed)
        state.update(memoryview(body)[pos:])
        return str(state.hexdigest())

    def _state(self, key: tuple[Hashable, ...], placed: list[bytes]) -> Any:
        """A copy of the state after every segment and value of ``key``."""
        with self._lock:
            found = self._states.get(key)
            if found is not None:
                self._states.move_to_end(key)
                self.hits += 1
                return found[0].copy()
        state = hashlib.sha256()
        for segment, value in zip(key[0::2], placed, strict=True):
            state.update(segment)  # type: ignore[arg-type]  # the key's even items are bytes
            state.update(value)
        with self._lock:
            self._states[key] = (state, tuple(placed))
            while len(self._states) > self.capacity:
                self._states.popitem(last=False)
        return state.copy()


def _find(body: bytes, value: bytes, start: int) -> int:
    """The first offset from ``start`` where ``body`` holds all of ``value``, or -1."""
    probe = value[:_PROBE]
    at = body.find(probe, start)
    while at >= 0 and not body.startswith(value, at):
        at = body.find(probe, at + 1)
    return at
