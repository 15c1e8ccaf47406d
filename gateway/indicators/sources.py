"""Which indicator source serves which force, from the forces configuration.

Forces held in this deployment's store share one ``LocalIndicatorSource`` (one set of
queries for all of them); a force with a database of its own gets its own local source;
a force on a remote node gets a ``RemoteIndicatorSource``. Sources are keyed by name so
the fan-out can run one call per source and break circuits per source.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
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
from schema import codelists
from schema.periods import Period


class IndicatorSource(Protocol):
    """What the fan-out calls, once per source per query."""

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer: ...

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]: ...


class _VersionedCache:
    """Per-force answers keyed by (force, data version, query); LRU-bounded."""

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[object, SourceAnswer] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: object) -> SourceAnswer | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: object, value: SourceAnswer) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)


class CachedLocalSource:
    """A local store's partials, reused while each force's data version is unchanged.

    The version is bumped in the same transaction as every change to the force's records,
    so a cached answer is never staler than the last receipt.
    """

    def __init__(self, engine: Engine) -> None:
        self.local = LocalIndicatorSource(engine)
        self._cache = _VersionedCache()

    def answer(self, forces: Sequence[str], query: IndicatorQuery) -> SourceAnswer:
        versions = self.local.data_versions(forces)
        partials: dict[str, ForcePartials] = {}
        quality: dict[str, DataQuality] = {}
        todo: list[str] = []
        for force in forces:
            hit = self._cache.get((force, versions.get(force), query))
            if hit is None:
                todo.append(force)
            else:
                partials |= hit.partials
                quality |= hit.quality
        trace.get_current_span().set_attributes(  # on the fan-out's source.call span
            {"soteria.cache.hits": len(forces) - len(todo), "soteria.cache.misses": len(todo)}
        )
        if todo:
            fresh, read_at = self.local.versioned_partials_many(todo, query)
            fresh_quality = self.local.quality_many(todo, query.periods)
            for force in todo:
                answer = SourceAnswer({force: fresh[force]}, {force: fresh_quality[force]})
                self._cache.put((force, read_at.get(force), query), answer)
                partials[force] = fresh[force]
                quality[force] = fresh_quality[force]
        return SourceAnswer(partials, quality)

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

    def group(self, forces: Sequence[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for force in forces:
            grouped.setdefault(self.by_force[force], []).append(force)
        return grouped

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()


def build_sources(
    engine: Engine, forces: ForcesConfig, remote_factory: RemoteFactory | None = None
) -> SourceRegistry:
    registry = SourceRegistry()
    registry.sources["local"] = CachedLocalSource(engine)
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
            registry.by_force[force.code] = name
            registry.kinds[force.code] = "local"
        else:
            registry.by_force[force.code] = "local"
            registry.kinds[force.code] = "local"
    return registry


class RemoteFactory(Protocol):
    def __call__(self, force: str) -> IndicatorSource: ...
