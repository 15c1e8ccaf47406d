"""A short-lived cache of verification keys, refreshed on an unknown ``kid``.

Validators must pick up keys rotated in another process without a restart, yet must not
hit the database (or an identity provider) on every request. So keys are cached for a
TTL, and a token naming a ``kid`` we do not know triggers one immediate reload before it
is rejected. Forced reloads are spaced by ``min_refresh_interval`` so that a flood of
tokens with made-up ``kid`` values costs at most one reload per interval; the spacing is
counted from the last *forced* reload, so the first token signed by a freshly rotated key
always gets its reload even if the TTL reload happened a moment before.

If a reload fails but keys were loaded before, the stale keys keep serving (an identity
provider's brief outage should not lock everyone out) and the failure is logged. If no
keys were ever loaded, the failure is raised, and repeated for ``min_refresh_interval``
without calling the loader again, so an unreachable provider costs one timeout per
interval rather than one per request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from joserfc.jwk import Key

from auth.clock import Clock, utc_now
from auth.errors import AuthError

logger = logging.getLogger(__name__)

KeyLoader = Callable[[], Mapping[str, Key]]


class KeyCache:
    """Keys by ``kid`` from ``loader``, reloaded after ``ttl`` or on a miss."""

    def __init__(
        self,
        loader: KeyLoader,
        *,
        ttl: timedelta,
        min_refresh_interval: timedelta,
        clock: Clock = utc_now,
        name: str = "keys",
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._name = name
        self._lock = threading.Lock()
        self._keys: Mapping[str, Key] | None = None
        self._loaded_at: datetime | None = None
        self._forced_at: datetime | None = None
        self._failure: tuple[datetime, AuthError] | None = None
        #: How many times the loader ran; tests read it to prove refetch-once behaviour.
        self.loads = 0

    def get(self, kid: str) -> Key | None:
        """The key named ``kid``, reloading once if it is unknown or the cache is stale.

        Raises the loader's ``AuthError`` only if no keys were ever loaded.
        """
        with self._lock:
            now = self._clock()
            if self._keys is None and self._failure is not None:
                failed_at, error = self._failure
                if now - failed_at < self._min_refresh_interval:
                    raise type(error)(str(error))
            if self._keys is None or self._is_stale(now):
                self._reload(now)
            if self._keys is not None and kid in self._keys:
                return self._keys[kid]
            if self._may_force_reload(now):
                # Spaced only once it ran: a loader that raised (the database is down)
                # leaves the next request free to try again, and never turns a token
                # signed by a key we could not load into "unknown key".
                self._reload(now)
                self._forced_at = now
            return None if self._keys is None else self._keys.get(kid)

    def peek(self, kid: str) -> Key | None:
        """The key named ``kid`` if the loaded keys are current; None when ``get`` would have
        to load (stale or never loaded) or does not know it. Never loads."""
        with self._lock:
            if self._keys is None or self._is_stale(self._clock()):
                return None
            return self._keys.get(kid)

    def refresh(self) -> None:
        """Load now (at start-up, or after this process rotated a key)."""
        with self._lock:
            self._reload(self._clock())

    def _is_stale(self, now: datetime) -> bool:
        return self._loaded_at is None or now - self._loaded_at >= self._ttl

    def _may_force_reload(self, now: datetime) -> bool:
        return self._forced_at is None or now - self._forced_at >= self._min_refresh_interval

    def _reload(self, now: datetime) -> None:
        self.loads += 1
        try:
            keys = dict(self._loader())
        except AuthError as error:
            if self._keys is None:
                self._failure = (now, error)
                raise
            logger.warning("reloading %s failed; keeping the previous keys", self._name)
            self._loaded_at = now
            return
        self._keys = keys
        self._loaded_at = now
        self._failure = None
