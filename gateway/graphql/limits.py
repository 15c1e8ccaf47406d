"""The caps every GraphQL request is checked against before anything executes.

Two steps, both refusing with ``BAD_REQUEST`` errors (HTTP 400) before any resolver runs:

1. ``static_limit_errors(document)``, right after parsing and before graphql-core's own
   validation (so a hostile document never reaches the costlier rules): query depth,
   alias count and introspection nesting, for every operation in the document. The walk
   follows fragment spreads once each (memoised), skips a spread of an undefined
   fragment and cuts a cycle, leaving those to the standard ``KnownFragmentNames`` and
   ``NoFragmentCycles`` rules: never an exception, never exponential.
2. ``operation_limit_errors(...)`` on the operation to run, once its variables are
   coerced: list-argument sizes, page sizes and the cost (see ``gateway.graphql.cost``).

Introspection fields (``__schema``, ``__type``, ``__typename``) do not count towards the
depth, as in graphene's ``depth_limit_validator``; instead, as graphql-js's
``MaxIntrospectionDepthRule`` does, ``fields``/``inputFields``/``interfaces``/
``possibleTypes`` may nest at most ``max_introspection_nesting`` times below them,
which bounds the one introspection query whose answer grows exponentially.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

#: ``forces``: the 43 territorial police forces of England and Wales;
#: ``indicators``: the size of Indicator Catalogue v1 (tests check both against the data).
DEFAULT_LIST_CAPS: Final[Mapping[str, int]] = MappingProxyType({"forces": 43, "indicators": 19})

_INTROSPECTION_LISTS: Final = frozenset({"fields", "inputFields", "interfaces", "possibleTypes"})


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on one GraphQL request; ``docs/graphql.md`` explains each with its default."""

    max_body_bytes: int = 256 * 1024  # a POST body (413 beyond)
    max_document_bytes: int = 16 * 1024  # the query text, UTF-8
    max_tokens: int = 4000  # lexical tokens the parser reads before giving up
    max_depth: int = 10  # nested selection levels, fragments expanded
    max_aliases: int = 30  # aliased fields, fragments expanded
    max_introspection_nesting: int = 2  # nested fields/inputFields/interfaces/possibleTypes
    max_cost: int = 20_000  # see gateway.graphql.cost
    max_list_items: int = 100  # any list argument without its own cap
    #: Per-argument caps: ``"forces"`` (any field) or ``"Query.indicators.forces"``.
    list_caps: Mapping[str, int] = field(default_factory=lambda: DEFAULT_LIST_CAPS)
    page_arguments: frozenset[str] = frozenset({"first", "last"})
    max_page_size: int = 500
    #: Cost multiplier of a list field that has no list or page argument...
    assumed_list_size: int = 20
    #: ... unless it is named here: ``{"Query.forces": 43}``.
    list_sizes: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))
    allow_introspection: bool = True  # authenticated callers only, in any case
    document_cache_size: int = 512  # parsed and validated documents kept (LRU)

    def list_cap(self, parent: str, field_name: str, argument: str) -> int:
        qualified = f"{parent}.{field_name}.{argument}"
        if qualified in self.list_caps:
            return self.list_caps[qualified]
        return self.list_caps.get(argument, self.max_list_items)


def limit_error(
    message: str, limit: str, maximum: int, actual: int, node: Any = None
) -> GraphQLError:
    """A refusal naming the ``Limits`` field, its value and what the request asked for."""
    return GraphQLError(
        message,
        node,
        extensions={"limit": limit, "maximum": maximum, "actual": actual},
    )


def document_size_error(size: int, limits: Limits) -> GraphQLError | None:
    if size <= limits.max_document_bytes:
        return None
    return limit_error(
        f"The query document is {size} bytes; the limit is {limits.max_document_bytes}.",
        "max_document_bytes",
        limits.max_document_bytes,
        size,
    )


@dataclass(frozen=True, slots=True)
class _Shape:
    depth: int = 0
    aliases: int = 0
    nesting: int = 0  # introspection list nesting (only meaningful below __schema/__type)


class _StaticWalk:
    """Depth, aliases and introspection nesting of selection sets, fragments memoised."""

    def __init__(self, document: DocumentNode) -> None:
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.done: dict[str, _Shape] = {}
        self.active: set[str] = set()
        self.introspection_nesting = 0

    def selection_set(self, node: SelectionSetNode | None) -> _Shape:
        depth = aliases = nesting = 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                shape = self.field(selection)
            elif isinstance(selection, InlineFragmentNode):
                shape = self.selection_set(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                shape = self.fragment(selection.name.value)
            else:  # pragma: no cover - graphql-core has no other selection kinds
                continue
            depth = max(depth, shape.depth)
            nesting = max(nesting, shape.nesting)
            aliases += shape.aliases
        return _Shape(depth, aliases, nesting)

    def field(self, node: FieldNode) -> _Shape:
        inner = self.selection_set(node.selection_set)
        aliases = inner.aliases + (1 if node.alias is not None else 0)
        name = node.name.value
        if name in ("__schema", "__type"):
            self.introspection_nesting = max(self.introspection_nesting, inner.nesting)
            return _Shape(0, aliases, 0)
        if name.startswith("__"):
            return _Shape(0, aliases, 0)
        nesting = inner.nesting + (1 if name in _INTROSPECTION_LISTS else 0)
        return _Shape(inner.depth + 1, aliases, nesting)

    def fragment(self, name: str) -> _Shape:
        if name in self.done:
            return self.done[name]
        definition = self.fragments.get(name)
        if definition is None or name in self.active:
            return _Shape()  # undefined or cyclic: the standard validation rules report it
        self.active.add(name)
        shape = self.selection_set(definition.selection_set)
        self.active.discard(name)
        self.done[name] = shape
        return shape


def static_limit_errors(document: DocumentNode, limits: Limits) -> list[GraphQLError]:
    """Depth, alias and introspection-nesting refusals for every operation in ``document``."""
    errors: list[GraphQLError] = []
    walk = _StaticWalk(document)
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        shape = walk.selection_set(definition.selection_set)
        label = f"Operation {definition.name.value!r}" if definition.name else "The operation"
        if shape.depth > limits.max_depth:
            errors.append(
                limit_error(
                    f"{label} nests fields {shape.depth} levels deep; the limit is "
                    f"{limits.max_depth}.",
                    "max_depth",
                    limits.max_depth,
                    shape.depth,
                    definition,
                )
            )
        if shape.aliases > limits.max_aliases:
            errors.append(
                limit_error(
                    f"{label} uses {shape.aliases} aliases; the limit is {limits.max_aliases}.",
                    "max_aliases",
                    limits.max_aliases,
                    shape.aliases,
                    definition,
                )
            )
    if walk.introspection_nesting > limits.max_introspection_nesting:
        errors.append(
            limit_error(
                "Maximum introspection depth exceeded: fields, inputFields, interfaces and "
                f"possibleTypes may nest at most {limits.max_introspection_nesting} times.",
                "max_introspection_nesting",
                limits.max_introspection_nesting,
                walk.introspection_nesting,
            )
        )
    return errors
