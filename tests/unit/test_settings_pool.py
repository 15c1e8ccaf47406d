"""``SOTERIA_DATABASE_POOL_SIZE``: a bad value is refused with a clear message; a good one
sizes the engine's pool (as many again may open in a burst)."""

from __future__ import annotations

import pytest

from adapters.store.engine import make_engine
from gateway.settings import Settings, SettingsError


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("0", "must be between 1 and 200"),
        ("500", "must be between 1 and 200"),
        ("lots", "is not a valid value"),
    ],
)
def test_a_bad_pool_size_is_refused_clearly(raw: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env({"SOTERIA_DATABASE_POOL_SIZE": raw})


def test_the_pool_size_sizes_the_postgresql_pool() -> None:
    settings = Settings.from_env({"SOTERIA_DATABASE_POOL_SIZE": "7"})
    engine = make_engine(
        "postgresql+psycopg://postgres@127.0.0.1:5432/test", pool_size=settings.database_pool_size
    )
    try:  # nothing is connected: the pool is only configured
        assert engine.pool.size() == 7  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 7  # type: ignore[attr-defined]
    finally:
        engine.dispose()
