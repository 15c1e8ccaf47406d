"""``PlainFieldsExecutionContext`` answers exactly as graphql-core's own execution context.

Generated items hold good values, nulls, exceptions and values a scalar cannot serialise,
as objects and as dicts; generated documents select plain fields, aliases, fragments,
``@skip``/``@include``, ``__typename``, fields with resolvers of their own and nested
objects. Data and errors (messages, paths, null propagation) must be identical.
"""

from __future__ import annotations

import datetime as dt
import enum
from types import SimpleNamespace
from typing import Any

import graphene
from graphene.types.resolver import dict_resolver
from graphql import ExecutionContext, execute_sync, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.graphql.plain_fields import PlainFieldsExecutionContext


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


GColour = graphene.Enum.from_enum(Colour)


class Inner(graphene.ObjectType):
    label = graphene.String(required=True)
    start = graphene.Date()


class Keyed(graphene.ObjectType):
    """Read with graphene's ``dict_resolver``: a source that is not a dict is an error."""

    class Meta:
        default_resolver = dict_resolver

    key = graphene.String()


class Item(graphene.ObjectType):
    name = graphene.String(required=True)
    count = graphene.Int()
    ratio = graphene.Float()
    flag = graphene.Boolean(required=True)
    colour = graphene.Field(GColour)
    day = graphene.Date()
    inner = graphene.Field(Inner)
    must = graphene.Field(Inner, required=True)
    parts = graphene.List(graphene.NonNull(Inner))
    maybe_parts = graphene.List(Inner)
    keyed = graphene.Field(Keyed)
    shout = graphene.String()
    scaled = graphene.Int(factor=graphene.Int(default_value=2))

    @staticmethod
    def resolve_shout(parent: Any, info: Any) -> str | None:
        name = parent["name"] if isinstance(parent, dict) else parent.name
        return None if name is None else str(name).upper()

    @staticmethod
    def resolve_scaled(parent: Any, info: Any, factor: int) -> int | None:
        count = parent["count"] if isinstance(parent, dict) else parent.count
        return None if not isinstance(count, int) else count * factor


class Query(graphene.ObjectType):
    items = graphene.List(graphene.NonNull(Item))
    loose = graphene.List(Item)

    @staticmethod
    def resolve_items(root: Any, info: Any) -> Any:
        return info.context["items"]

    @staticmethod
    def resolve_loose(root: Any, info: Any) -> Any:
        return info.context["items"]


SCHEMA = graphene.Schema(query=Query).graphql_schema

_values = {
    "name": st.one_of(st.text(max_size=5), st.none(), st.integers(), st.just(ValueError("no"))),
    "count": st.one_of(st.integers(-(2**33), 2**33), st.none(), st.text(max_size=3), st.floats()),
    "ratio": st.one_of(st.floats(), st.none(), st.integers(), st.text(max_size=3)),
    "flag": st.one_of(st.booleans(), st.none(), st.integers(0, 2)),
    "colour": st.one_of(st.sampled_from(Colour), st.none(), st.just("green"), st.just("RED")),
    "day": st.one_of(
        st.dates(), st.none(), st.just("2024-01-01"), st.just(dt.datetime(2024, 1, 1))
    ),
}


class Reiterable:
    """An iterable that is not a list or tuple (and can be read by both runs)."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items

    def __iter__(self) -> Any:
        return iter(self.items)

    def __repr__(self) -> str:
        return f"Reiterable({self.items!r})"


class Boom:
    """An inner whose ``label`` raises when read (a property of the source object)."""

    start = dt.date(2025, 1, 1)

    @property
    def label(self) -> str:
        raise RuntimeError("boom")


inners = st.one_of(
    st.just(Boom()),
    st.none(),
    st.just(ValueError("broken")),
    st.builds(
        SimpleNamespace,
        label=st.one_of(st.text(max_size=3), st.none(), st.just(ValueError("bad label"))),
        start=st.one_of(st.dates(), st.none(), st.just("x")),
    ),
    st.fixed_dictionaries({"label": st.text(max_size=3), "start": st.dates()}),
)
parts = st.one_of(
    st.none(),
    st.lists(inners, max_size=4),
    st.lists(inners, max_size=3).map(tuple),
    st.lists(inners, max_size=3).map(Reiterable),
    st.just(ValueError("no parts")),
    st.just(7),
)


@st.composite
def items(draw: st.DrawFn) -> Any:
    values = {name: draw(strategy) for name, strategy in _values.items()}
    inner = draw(
        st.one_of(
            st.none(),
            st.fixed_dictionaries(
                {"label": st.one_of(st.text(max_size=3), st.none()), "start": st.dates()}
            ),
        )
    )
    values["inner"] = inner if inner is None else SimpleNamespace(**inner)
    values["must"] = draw(inners)
    values["parts"] = draw(parts)
    values["maybe_parts"] = draw(parts)
    values["keyed"] = draw(
        st.one_of(st.none(), st.just({"key": "k"}), st.just({}), st.just(SimpleNamespace(key="k")))
    )
    return values if draw(st.booleans()) else SimpleNamespace(**values)


SELECTIONS = [
    "name",
    "count",
    "ratio",
    "flag",
    "colour",
    "day",
    "n2: name",
    "__typename",
    "shout",
    "scaled",
    "scaled(factor: 3)",
    "inner { label start __typename }",
    "inner { l: label }",
    "must { label start }",
    "must { ... on Inner { start } __typename }",
    "parts { label start }",
    "parts { start }",
    "maybe_parts { label }",
    "keyed { key }",
    "maybe_parts { l: label start @skip(if: true) }",
    "count @skip(if: true)",
    "ratio @include(if: $on)",
    "...F",
    "... on Item { flag day }",
]


def _document(picked: list[str], root: str) -> str:
    return (
        f"query Q($on: Boolean = true) {{ {root} {{ {' '.join(picked)} }} }}\n"
        "fragment F on Item { name colour }"
    )


def _run(document: str, context: dict[str, Any], cls: type[ExecutionContext]) -> Any:
    result = execute_sync(
        SCHEMA, parse(document), context_value=context, execution_context_class=cls
    )
    errors = [(e.message, e.path) for e in result.errors or ()]
    return result.data, sorted(errors, key=repr)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(items(), max_size=6),
    picked=st.lists(st.sampled_from(SELECTIONS), min_size=1, max_size=8),
    root=st.sampled_from(["items", "loose"]),
)
def test_the_same_data_and_errors_as_graphql_core(
    values: list[Any], picked: list[str], root: str
) -> None:
    document = _document(picked, root)
    context = {"items": values}
    assert _run(document, context, PlainFieldsExecutionContext) == _run(
        document, context, ExecutionContext
    )


def test_plain_fields_skip_the_per_field_machinery() -> None:
    """The fast path is taken: a plain field's value is not built through execute_field."""
    calls: list[str] = []

    class Counting(PlainFieldsExecutionContext):
        def execute_field(self, parent_type: Any, source: Any, field_nodes: Any, path: Any) -> Any:
            calls.append(field_nodes[0].name.value)
            return super().execute_field(parent_type, source, field_nodes, path)

    inner = SimpleNamespace(label="q1", start=dt.date(2025, 1, 1))
    item = SimpleNamespace(
        name="a",
        count=1,
        ratio=0.5,
        flag=True,
        colour=Colour.RED,
        day=None,
        must=inner,
        parts=[inner, inner],
    )
    result = execute_sync(
        SCHEMA,
        parse("{ items { name count ratio flag colour shout must { label } parts { start } } }"),
        context_value={"items": [item, item]},
        execution_context_class=Counting,
    )
    assert result.errors is None
    expected = {
        "name": "a",
        "count": 1,
        "ratio": 0.5,
        "flag": True,
        "colour": "RED",
        "shout": "A",
        "must": {"label": "q1"},
        "parts": [{"start": "2025-01-01"}] * 2,
    }
    assert result.data == {"items": [expected] * 2}
    # a list field is resolved the standard way; its items' selections directly
    assert calls == ["items", "shout", "parts", "shout", "parts"]
