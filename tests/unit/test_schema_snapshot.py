"""The committed ``schema.graphql`` is the API contract: the built schema must match it."""

from __future__ import annotations

from pathlib import Path

from schema.graphql.build import schema_sdl

SNAPSHOT = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_built_schema_matches_the_committed_snapshot() -> None:
    assert schema_sdl() == SNAPSHOT.read_text(encoding="utf-8"), (
        "schema.graphql is out of date: review the change, then regenerate it with "
        "`python -c 'from schema.graphql.build import schema_sdl; "
        'open("schema.graphql", "w").write(schema_sdl())\'`'
    )


def test_every_field_and_argument_type_is_described_or_self_evident() -> None:
    text = SNAPSHOT.read_text(encoding="utf-8")
    for name in ("indicatorTable", "dataQuality", "submissions", "submitRecords", "forces"):
        assert f"{name}(" in text or f"{name}:" in text
    assert '"""' in text
