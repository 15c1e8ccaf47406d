"""Content negotiation and the static limit walk, without HTTP."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from graphql import get_introspection_query, get_operation_ast, parse
from hypothesis import given
from hypothesis import strategies as st

from gateway.graphql.cost import operation_cost
from gateway.graphql.limits import Limits, static_limit_errors
from gateway.graphql.media import MediaType, negotiate, prefers_html
from tests.graphql_transport.schema_fixture import build_schema


@given(st.text(max_size=200))
def test_negotiate_never_raises(accept: str) -> None:
    assert negotiate(accept) in (None, MediaType.JSON, MediaType.GRAPHQL_RESPONSE)
    assert prefers_html(accept) in (True, False)


def test_q_zero_excludes_a_type() -> None:
    assert negotiate("application/graphql-response+json;q=0, */*") is MediaType.JSON
    assert negotiate("application/json;q=0, application/graphql-response+json;q=0") is None
    assert negotiate("application/json;q=oops") is None


def test_only_an_explicit_html_preference_is_a_browser() -> None:
    assert prefers_html("text/html")
    assert not prefers_html("*/*")
    assert not prefers_html(None)
    assert not prefers_html("application/json, text/html;q=0.5")


def test_static_walk_survives_undefined_and_cyclic_fragments() -> None:
    document = parse(
        "query { a { ...X ...Missing } }"
        " fragment X on T { b { ...Y } } fragment Y on T { c { ...X ...Y } }"
    )
    assert static_limit_errors(document, Limits(max_depth=3)) == []
    assert [e.extensions for e in static_limit_errors(document, Limits(max_depth=2))] == [
        {"limit": "max_depth", "maximum": 2, "actual": 3}
    ]


def test_aliases_in_fragments_count_once_per_spread() -> None:
    document = parse("query { ...F ...F x: a { ...F } } fragment F on T { y: a z: b }")
    [error] = static_limit_errors(document, Limits(max_aliases=6))
    assert error.extensions == {"limit": "max_aliases", "maximum": 6, "actual": 7}


SCHEMA = build_schema(Counter()).graphql_schema


def cost(query: str, variables: dict[str, Any] | None = None, **limits: Any) -> int:
    document = parse(query)
    operation = get_operation_ast(document)
    assert operation is not None
    total, errors = operation_cost(SCHEMA, document, operation, variables or {}, Limits(**limits))
    assert errors == []
    return total


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ hello }", 1),
        ("{ __typename hello }", 1),
        ("{ items(first: 50) { a b } hello }", 50 * (1 + 2) + 1),
        ("{ items { a } }", 10 * 2),  # the schema default of first
        ('{ forces(forces: ["a", "b", "c"]) }', 3),
        ('{ sheet(forces: ["a", "b", "c"]) { cells { a b } } }', 1 + 3 * (1 + 2)),
        ("{ sheet { cells { a } } }", 1 + 20 * 2),
        ("{ nested { child { name } } }", 1 + 1 + 1),
        ("{ ...F ...F } fragment F on Query { items(first: 5) { a } }", 2 * 5 * 2),
    ],
)
def test_cost_examples(query: str, expected: int) -> None:
    assert cost(query) == expected


def test_cost_uses_variables_and_configured_list_sizes() -> None:
    query = "query ($f: [String!]) { sheet(forces: $f) { cells { a } } }"
    assert cost(query, {"f": ["a", "b"]}) == 1 + 2 * 2
    assert cost("{ sheet { cells { a } } }", list_sizes={"Sheet.cells": 43}) == 1 + 43 * 2


def test_introspection_costs_one_per_field() -> None:
    assert 100 < cost(get_introspection_query(descriptions=True)) < 400
