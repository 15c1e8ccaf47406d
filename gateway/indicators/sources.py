"""Which indicator source serves which force, from the forces configuration.

Forces held in this deployment's store share one ``LocalIndicatorSource`` (one set of
queries for all of them); a force with a database of its own gets its own local source;
a force on a remote node gets a ``RemoteIndicatorSource``. Sources are keyed by name so
the fan-out can run one call per source and break circuits per source.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from opentelemetry import trace
from sqlalchemy import Engine

from adapters.indicators.quality import DataQuality
from adapters.indicators.query import ForcePartials, IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from adapters.indicators.wire import SourceAnswer
from adapters.store.engine import make_engine
from gateway.forces_config import ForcesConfig
from gateway.indicators.single_flight import SingleFlight
from schema import codelists
from schema.periods import Period


class IndicatorSource(Protocol):
    """What the fan-out calls, once per source per query."""

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer: ...

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]: ...


class _VersionedCache:
    """Per-force answers keyed by (force, stamp, query); LRU, bounded by weight.

    An entry weighs its partials plus its histograms' distinct days, so a cache of
    national median tables cannot grow without bound (``budget`` units: about 12 bytes of
    array each, plus the objects around them).
    """

    def __init__(self, budget: int = 4_000_000) -> None:
        self._items: OrderedDict[Hashable, tuple[ForcePartials, DataQuality, int]] = OrderedDict()
        self._budget = budget
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[ForcePartials, DataQuality] | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0], found[1]

    def put(self, key: Hashable, partials: ForcePartials, quality: DataQuality) -> None:
        weight = len(partials) + sum(len(p.distinct_days) for p in partials.values())
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[2]
            self._items[key] = (partials, quality, weight)
            self._weight += weight
            while self._weight > self._budget and len(self._items) > 1:
                _, (_, _, dropped) = self._items.popitem(last=False)
                self._weight -= dropped


_LATEST_KEPT = 16_384


class CachedLocalSource:
    """A local store's partials, reused while each force's stamp is unchanged.

    Every call reads the stamps (data version and last submission time) of the forces
    asked for, one small statement; a force whose stamp is cached for this query is served
    from memory, the others are read from the rollups in one snapshot with their stamps,
    and cached under the stamps read with them. The version is bumped in the same
    transaction as every change to the force's records, so a cached answer is never
    staler than the last receipt, on this replica or any other.

    A force this query was answered for at an older version is *refreshed* rather than
    read again (``LocalIndicatorSource.refresh``): its counts are re-read and its
    histograms only for the periods holding a month the submissions since changed; a
    newer last submission time alone changes nothing but data quality.
    """

    def __init__(self, engine: Engine) -> None:
        self.local = LocalIndicatorSource(engine)
        self._cache = _VersionedCache()
        self._refreshing: SingleFlight[SourceAnswer | None] = SingleFlight()
        # (force, query) -> the newest stamp it was answered at; LRU like the cache
        self._latest: OrderedDict[tuple[str, IndicatorQuery], Hashable] = OrderedDict()

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer:
        stamps = self.local.stamps(forces)
        partials: dict[str, ForcePartials] = {}
        quality: dict[str, DataQuality] = {}
        versions: dict[str, Hashable] = {}
        todo: list[str] = []
        for force in forces:
            hit = self._cache.get((force, stamps[force], query))
            if hit is None:
                todo.append(force)
            else:
                partials[force], quality[force] = hit
                versions[force] = stamps[force]
        trace.get_current_span().set_attributes(  # on the fan-out's source.call span
            {"soteria.cache.hits": len(forces) - len(todo), "soteria.cache.misses": len(todo)}
        )
        # A force refreshed at the same stamp by a concurrent request is refreshed once.
        answers = [
            self._refreshing.run(
                (force, stamps[force], query),
                functools.partial(self._refreshed, force, query, stamps[force]),
            )
            for force in todo
        ]
        read = [force for force, got in zip(todo, answers, strict=True) if got is None]
        if read:
            answers.append(self.local.answer(read, query))
        for answer in answers:
            if answer is None:
                continue
            for force, stamp in answer.versions.items():
                self._cache.put(
                    (force, stamp, query), answer.partials[force], answer.quality[force]
                )
                self._latest[(force, query)] = stamp
                self._latest.move_to_end((force, query))
                if len(self._latest) > _LATEST_KEPT:
                    self._latest.popitem(last=False)
                partials[force] = answer.partials[force]
                quality[force] = answer.quality[force]
                versions[force] = stamp
        return SourceAnswer(partials, quality, versions)

    def _refreshed(self, force: str, query: IndicatorQuery, stamp: Hashable) -> SourceAnswer | None:
        """The force's answer from its answer at an older stamp, if that is still cached."""
        older = self._latest.get((force, query))
        if not isinstance(older, tuple) or not isinstance(stamp, tuple):
            return None
        cached = self._cache.get((force, older, query))
        if cached is None or older[0] > stamp[0]:
            return None
        if older[0] == stamp[0]:  # a submission of unchanged rows: only quality moved
            quality = self.local.quality_many([force], query.periods)
            return SourceAnswer({force: cached[0]}, quality, {force: stamp})
        return self.local.refresh(force, query, cached[0], older[0])

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]:
        return self.local.quality_many(forces, periods)


@dataclass
class SourceRegistry:
    sources: dict[str, IndicatorSource] = field(default_factory=dict)
    by_force: dict[str, str] = field(default_factory=dict)  # force -> source name
    kinds: dict[str, str] = field(default_factory=dict)  # force -> local | remote
    engines: list[Engine] = field(default_factory=list)  # owned here, disposed on close
    # source name -> its own timeout, where it differs from the fan-out's (local stores)
    timeouts: dict[str, float] = field(default_factory=dict)

    def group(self, forces: Sequence[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for force in forces:
            grouped.setdefault(self.by_force[force], []).append(force)
        return grouped

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


def build_sources(
    engine: Engine,
    forces: ForcesConfig,
    remote_factory: RemoteFactory | None = None,
    *,
    local_timeout: float | None = None,
) -> SourceRegistry:
    """The sources serving every force.

    ``local_timeout`` is the deadline of the local stores, when it differs from the
    fan-out's (which is meant for force nodes across a network): a store that has just
    started reads its rollups once, in seconds on a large store, and must not be
    reported missing, nor have its circuit opened, for that first cold read.
    """
    registry = SourceRegistry()
    registry.sources["local"] = CachedLocalSource(engine)
    if local_timeout is not None:
        registry.timeouts["local"] = local_timeout
    for force in codelists.forces():
        config = forces.get(force.code)
        if config.source == "remote":
            if remote_factory is None:
                raise ValueError(f"force {force.code} is remote but no remote client is set up")
            name = f"node:{force.code}"
            registry.sources[name] = remote_factory(config.code)
            registry.by_force[force.code] = name
            registry.kinds[force.code] = "remote"
        elif config.database_url:
            own = make_engine(config.database_url)
            registry.engines.append(own)
            name = f"local:{force.code}"
            registry.sources[name] = CachedLocalSource(own)
            if local_timeout is not None:
                registry.timeouts[name] = local_timeout
            registry.by_force[force.code] = name
            registry.kinds[force.code] = "local"
        else:
            registry.by_force[force.code] = "local"
            registry.kinds[force.code] = "local"
    return registry


class RemoteFactory(Protocol):
    def __call__(self, force: str) -> IndicatorSource: ...
