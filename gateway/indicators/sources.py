"""Which indicator source serves which force, from the forces configuration.

Forces held in this deployment's store share one ``LocalIndicatorSource`` (one set of
queries for all of them); a force with a database of its own gets its own local source;
a force on a remote node gets a ``RemoteIndicatorSource``. Sources are keyed by name so
the fan-out can run one call per source and break circuits per source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import Engine

from adapters.indicators.quality import DataQuality
from adapters.indicators.query import ForcePartials, IndicatorQuery
from adapters.indicators.source import LocalIndicatorSource
from adapters.store.engine import make_engine
from gateway.forces_config import ForcesConfig
from schema import codelists
from schema.periods import Period


class IndicatorSource(Protocol):
    def partials_many(
        self, forces: Sequence[str], query: IndicatorQuery
    ) -> dict[str, ForcePartials]: ...

    def data_versions(self, forces: Sequence[str]) -> dict[str, int]: ...

    def quality_many(
        self, forces: Sequence[str], periods: Sequence[Period]
    ) -> dict[str, DataQuality]: ...


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
    registry.sources["local"] = LocalIndicatorSource(engine)
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
            registry.sources[name] = LocalIndicatorSource(own)
            registry.by_force[force.code] = name
            registry.kinds[force.code] = "local"
        else:
            registry.by_force[force.code] = "local"
            registry.kinds[force.code] = "local"
    return registry


class RemoteFactory(Protocol):
    def __call__(self, force: str) -> IndicatorSource: ...
