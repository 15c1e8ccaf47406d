"""The deny-list check with its "still live" answers kept for a short time.

Every request to a protected route asks whether its token is still live (not revoked, its
client enabled): a database round trip that cost about 8 ms a request under load. A
``LiveCache`` keeps each *live* answer for ``ttl`` seconds (default
``auth.settings.DEFAULT_LIVE_CACHE_SECONDS``, 1 s), so a client sending hundreds of
requests a second costs one query a second per token and process. Refusals are never
cached: a revoked token is checked against the database every time.

What a revocation guarantees, with the cache:

* **this process**: at once. Revoking a token or disabling (or deleting) a client through
  the ORM (``auth.revocation.revoke_token``, ``auth.clients.disable_client``: the
  revocation endpoint and ``soteria clients disable``) drops the cached answers in every
  cache of the process when the row is flushed, and again when its transaction commits. A
  generation counter stops a check that was already reading the database before the
  commit from caching its stale "live" after it;
* **every other process or replica**: within ``ttl`` seconds, when its cached answer
  expires and the next request reads the committed deny list.

The cache is bounded (``max_entries``); when full, expired answers go first, then all.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.orm import Mapper, Session, object_session

from auth.clock import Clock, utc_now
from auth.models import Client, RevokedToken

LiveCheck = Callable[[str, str], bool]
_PENDING: Final = "soteria.auth.liveness.forget"


class LiveCache:
    """A ``LiveCheck`` that remembers "live" answers for ``ttl`` seconds."""

    def __init__(
        self,
        check: LiveCheck,
        *,
        ttl: float,
        clock: Clock = utc_now,
        max_entries: int = 100_000,
    ) -> None:
        if ttl < 0:
            raise ValueError("ttl must not be negative")
        self._check = check
        self._ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        # (jti, client_id) -> the moment the answer stops counting
        self._live: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()
        self._generation = 0
        self.queries = 0  # how often the database was asked (tests, metrics)
        _install_listeners()
        _CACHES.add(self)

    def __call__(self, jti: str, client_id: str) -> bool:
        key = (jti, client_id)
        now = self._clock().timestamp()
        with self._lock:
            until = self._live.get(key)
            if until is not None and now < until:
                return True
            generation = self._generation
        self.queries += 1
        live = self._check(jti, client_id)
        if live and self._ttl > 0:
            with self._lock:
                if generation == self._generation:  # nothing was revoked meanwhile
                    if len(self._live) >= self._max_entries:
                        self._prune(now)
                    self._live[key] = now + self._ttl
        return live

    def peek(self, jti: str, client_id: str) -> bool:
        """True if a "live" answer for the token is kept and current (no database read);
        False means only that the cache cannot say, not that the token is refused."""
        now = self._clock().timestamp()
        with self._lock:
            until = self._live.get((jti, client_id))
            return until is not None and now < until

    def __len__(self) -> int:
        return len(self._live)

    def forget_token(self, jti: str) -> None:
        with self._lock:
            self._generation += 1
            for key in [key for key in self._live if key[0] == jti]:
                del self._live[key]

    def forget_client(self, client_id: str) -> None:
        with self._lock:
            self._generation += 1
            for key in [key for key in self._live if key[1] == client_id]:
                del self._live[key]

    def _prune(self, now: float) -> None:
        expired = [key for key, until in self._live.items() if until <= now]
        for key in expired:
            del self._live[key]
        if len(self._live) >= self._max_entries:
            self._live.clear()


_CACHES: Final[weakref.WeakSet[LiveCache]] = weakref.WeakSet()
_installed = False
_install_lock = threading.Lock()


def _forget(kind: str, value: str) -> None:
    for cache in list(_CACHES):
        if kind == "token":
            cache.forget_token(value)
        else:
            cache.forget_client(value)


def _remember_for_commit(target: object, kind: str, value: str) -> None:
    """Forget now (the row is flushed) and again when the transaction commits."""
    _forget(kind, value)
    session = object_session(target)
    if session is not None:
        session.info.setdefault(_PENDING, set()).add((kind, value))


def _token_revoked(mapper: Mapper[Any], connection: Any, target: RevokedToken) -> None:
    _remember_for_commit(target, "token", target.jti)


def _client_changed(mapper: Mapper[Any], connection: Any, target: Client) -> None:
    if not target.enabled:
        _remember_for_commit(target, "client", target.client_id)


def _client_deleted(mapper: Mapper[Any], connection: Any, target: Client) -> None:
    _remember_for_commit(target, "client", target.client_id)


def _committed(session: Session) -> None:
    for kind, value in session.info.pop(_PENDING, ()):
        _forget(kind, value)


def _install_listeners() -> None:
    """ORM events that drop cached answers when this process revokes (once per process)."""
    global _installed  # noqa: PLW0603 - one set of process-wide listeners
    with _install_lock:
        if _installed:
            return
        event.listen(RevokedToken, "after_insert", _token_revoked)
        event.listen(Client, "after_update", _client_changed)
        event.listen(Client, "after_delete", _client_deleted)
        event.listen(Session, "after_commit", _committed)
        _installed = True
