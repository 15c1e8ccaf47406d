"""An execution context that completes plain scalar fields without graphql-core's per-field
machinery, with the same results.

graphql-core executes every field the same way: a ``Path``, a ``GraphQLResolveInfo``, the
argument values, the resolver, then ``complete_value``. For a typed table that is a dozen
plain scalar fields per cell (``cells { indicator force value ... }``), and that machinery,
not the values, is most of the cost of the reply (issue 5: a one-force table spent more
time there than anywhere else in the request).

A field is *plain* when graphene resolves it with its default resolver (an attribute or
key of the same name), it takes no arguments, and its type is a scalar or enum, nullable or
not. For those this context reads the value and serialises it directly. Whenever that
would not give the standard answer (the value is null or an exception, or serialising
fails or gives null) the field is executed the standard way instead, so errors, their
paths and null propagation are graphql-core's own. Every other field (``__typename``,
resolvers of our own, objects, lists) always takes the standard path; selections,
aliases, fragments and ``@skip``/``@include`` are graphql-core's ``collect_fields``.
"""

from __future__ import annotations

from asyncio import gather
from collections.abc import Callable
from functools import partial
from typing import Any

from graphene.types.resolver import attr_resolver, dict_or_attr_resolver, dict_resolver
from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
)
from graphql.execution import ExecutionContext
from graphql.execution.execute import get_field_def
from graphql.pyutils import AwaitableOrValue, Path, Undefined

_DEFAULT_RESOLVERS = frozenset({dict_or_attr_resolver, attr_resolver, dict_resolver})

# (response key, field nodes, (resolve, serialize) for a plain field or None)
_Step = tuple[str, list[FieldNode], tuple[Callable[..., Any], Callable[[Any], Any]] | None]


def _plain(field: GraphQLField | None) -> tuple[Callable[..., Any], Callable[[Any], Any]] | None:
    """(resolve, serialize) of a plain field, else None."""
    if field is None or field.args:
        return None
    resolve = field.resolve
    if not (
        isinstance(resolve, partial)
        and resolve.func in _DEFAULT_RESOLVERS
        and len(resolve.args) == 2
        and not resolve.keywords
    ):
        return None
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if not isinstance(leaf, GraphQLScalarType | GraphQLEnumType):
        return None
    return resolve, leaf.serialize


class LeafFieldsExecutionContext(ExecutionContext):
    """``ExecutionContext`` with plain scalar fields completed directly (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Per request: (parent type, id of the field map) -> (the map, its steps). The
        # map is kept so its id cannot be reused; graphql-core hands the same map for
        # every item of a list (its ``collect_subfields`` cache).
        self._steps: dict[tuple[str, int], tuple[Any, list[_Step]]] = {}

    def _plan(
        self, parent_type: GraphQLObjectType, fields: dict[str, list[FieldNode]]
    ) -> list[_Step]:
        key = (parent_type.name, id(fields))
        known = self._steps.get(key)
        if known is not None and known[0] is fields:
            return known[1]
        plain_allowed = self.middleware_manager is None
        steps: list[_Step] = []
        for response_name, field_nodes in fields.items():
            field = get_field_def(self.schema, parent_type, field_nodes[0])
            steps.append((response_name, field_nodes, _plain(field) if plain_allowed else None))
        self._steps[key] = (fields, steps)
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        fields: dict[str, list[FieldNode]],
    ) -> AwaitableOrValue[dict[str, Any]]:
        results: dict[str, Any] = {}
        awaitable = False
        for response_name, field_nodes, plain in self._plan(parent_type, fields):
            if plain is not None:
                value = plain[0](source_value, None)
                if value is not None and not isinstance(value, Exception):
                    try:
                        serialized = plain[1](value)
                    except Exception:  # noqa: BLE001 - the standard path reports it
                        serialized = None
                    if serialized is not None and serialized is not Undefined:
                        results[response_name] = serialized
                        continue
            result = self.execute_field(
                parent_type, source_value, field_nodes, Path(path, response_name, parent_type.name)
            )
            if result is not Undefined:
                results[response_name] = result
                awaitable = awaitable or self.is_awaitable(result)
        if awaitable:  # not with graphene's synchronous resolvers; kept for completeness
            return self._gathered(results)
        return results

    async def _gathered(self, results: dict[str, Any]) -> dict[str, Any]:
        names = [name for name, value in results.items() if self.is_awaitable(value)]
        results.update(zip(names, await gather(*(results[name] for name in names)), strict=True))
        return results
