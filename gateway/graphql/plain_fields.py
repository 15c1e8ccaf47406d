"""An execution context that completes plain fields without graphql-core's per-field
machinery, with the same results.

graphql-core executes every field the same way: a ``Path``, a ``GraphQLResolveInfo``, the
argument values, the resolver, then ``complete_value`` through each wrapping type. For a
typed table that is a dozen plain fields per cell (``cells { indicator force value
period { label } ... }``), and that machinery, not the values, is most of the cost of the
reply (issue 5: a one-force table spent more time there than anywhere else in the request).

A field is *plain* when graphene resolves it with its default resolver (an attribute or
key of the same name) and it takes no arguments. This context reads a plain field's value
directly and then, by the field's type:

* a scalar or enum (nullable or not): serialises it;
* an object type without ``is_type_of`` (nullable or not): executes its selection on it.

A list whose items are such objects (any field's list, plain or not) has its items'
selections executed directly, without completing each item through its wrapping types.

Whenever that would not give the standard answer (the value is null or an exception, or
serialising fails or gives null; a list holding nulls, exceptions or awaitables, or that
is not a list or tuple) the field or list goes the standard way instead, before any of it
was executed, so errors, their paths and null propagation are graphql-core's own. An error
raised inside an object's selection is handled exactly as ``execute_field`` and
``complete_list_value`` handle it (located at the object's path; null for a nullable
field, propagated for a non-null one). Everything else (``__typename``, our own resolvers,
fields with arguments, abstract types, middleware) always takes the standard path;
selections, aliases, fragments and ``@skip``/``@include`` are graphql-core's
``collect_fields``.
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
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    located_error,
)
from graphql.execution import ExecutionContext
from graphql.execution.execute import get_field_def
from graphql.pyutils import AwaitableOrValue, Path, Undefined

# How graphene's default resolvers read a field: from a dict's key, an attribute, or
# either by the source's type (``dict_or_attr_resolver``, the one graphene installs).
_EITHER, _KEY, _ATTRIBUTE = 0, 1, 2
_READS = {dict_or_attr_resolver: _EITHER, dict_resolver: _KEY, attr_resolver: _ATTRIBUTE}


class _Read:
    """What a default resolver reads (done inline here: the resolver is three calls)."""

    __slots__ = ("default", "how", "name")

    def __init__(self, how: int, name: str, default: Any) -> None:
        self.how, self.name, self.default = how, name, default


class _Leaf(_Read):
    __slots__ = ("serialize",)

    def __init__(self, read: _Read, serialize: Callable[[Any], Any]) -> None:
        super().__init__(read.how, read.name, read.default)
        self.serialize = serialize


class _Object(_Read):
    __slots__ = ("object_type", "return_type")

    def __init__(
        self, read: _Read, object_type: GraphQLObjectType, return_type: GraphQLOutputType
    ) -> None:
        super().__init__(read.how, read.name, read.default)
        self.object_type, self.return_type = object_type, return_type


# (response key, field nodes, how to complete it directly or None for the standard path)
_Step = tuple[str, list[FieldNode], _Leaf | _Object | None]


def _default_read(field: GraphQLField | None) -> _Read | None:
    """What the field reads if graphene's default resolver resolves it, without arguments."""
    if field is None or field.args:
        return None
    resolve = field.resolve
    if (
        isinstance(resolve, partial)
        and resolve.func in _READS
        and len(resolve.args) == 2
        and isinstance(resolve.args[0], str)
        and not resolve.keywords
    ):
        return _Read(_READS[resolve.func], resolve.args[0], resolve.args[1])
    return None


def _plain_object(item_type: GraphQLOutputType) -> GraphQLObjectType | None:
    """The object type of ``T`` or ``T!`` when its values need no ``is_type_of`` check."""
    named = item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    if isinstance(named, GraphQLObjectType) and named.is_type_of is None:
        return named
    return None


def _step(field: GraphQLField | None) -> _Leaf | _Object | None:
    read = _default_read(field)
    if read is None or field is None:
        return None
    named = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if isinstance(named, GraphQLScalarType | GraphQLEnumType):
        return _Leaf(read, named.serialize)
    object_type = _plain_object(field.type)
    if object_type is not None:
        return _Object(read, object_type, field.type)
    return None


class PlainFieldsExecutionContext(ExecutionContext):
    """``ExecutionContext`` with plain fields completed directly (see the module)."""

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
        direct = self.middleware_manager is None
        steps: list[_Step] = []
        for response_name, field_nodes in fields.items():
            field = get_field_def(self.schema, parent_type, field_nodes[0])
            steps.append((response_name, field_nodes, _step(field) if direct else None))
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
        is_dict = isinstance(source_value, dict)
        for response_name, field_nodes, step in self._plan(parent_type, fields):
            if step is not None:
                try:
                    how = step.how
                    if how == _KEY or (how == _EITHER and is_dict):
                        value = source_value.get(step.name, step.default)
                    else:
                        value = getattr(source_value, step.name, step.default)
                except Exception:  # noqa: BLE001 - the standard path reports it
                    value = None
                if value is not None and not isinstance(value, Exception):
                    if isinstance(step, _Leaf):
                        try:
                            serialized = step.serialize(value)
                        except Exception:  # noqa: BLE001 - the standard path reports it
                            serialized = None
                        if serialized is not None and serialized is not Undefined:
                            results[response_name] = serialized
                            continue
                    elif not self.is_awaitable(value):
                        field_path = Path(path, response_name, parent_type.name)
                        result = self._object(
                            step.object_type, step.return_type, field_nodes, field_path, value
                        )
                        results[response_name] = result
                        awaitable = awaitable or self.is_awaitable(result)
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

    def _object(
        self,
        object_type: GraphQLObjectType,
        return_type: GraphQLOutputType,
        field_nodes: list[FieldNode],
        path: Path,
        value: Any,
    ) -> Any:
        """``value``'s selection, with a raised error handled as graphql-core does."""
        try:
            result = self.execute_fields(
                object_type, value, path, self.collect_subfields(object_type, field_nodes)
            )
        except Exception as raw_error:  # noqa: BLE001 - null or propagated, as the standard
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None
        if self.is_awaitable(result):
            return self._awaited_object(result, return_type, field_nodes, path)
        return result

    async def _awaited_object(
        self, result: Any, return_type: GraphQLOutputType, field_nodes: list[FieldNode], path: Path
    ) -> Any:
        try:
            return await result
        except Exception as raw_error:  # noqa: BLE001 - as ``_object``
            error = located_error(raw_error, field_nodes, path.as_list())
            self.handle_field_error(error, return_type, path)
            return None

    def complete_list_value(
        self,
        return_type: GraphQLList[GraphQLOutputType],
        field_nodes: list[FieldNode],
        info: GraphQLResolveInfo,
        path: Path,
        result: Any,
    ) -> AwaitableOrValue[list[Any]]:
        item_type = return_type.of_type
        object_type = _plain_object(item_type)
        is_awaitable = self.is_awaitable
        if (
            object_type is None
            or self.middleware_manager is not None
            or not isinstance(result, list | tuple)
            or any(
                item is None or isinstance(item, Exception) or is_awaitable(item) for item in result
            )
        ):
            return super().complete_list_value(return_type, field_nodes, info, path, result)
        completed = [
            self._object(object_type, item_type, field_nodes, path.add_key(index, None), item)
            for index, item in enumerate(result)
        ]
        if any(is_awaitable(item) for item in completed):
            return self._gathered_list(completed)
        return completed

    async def _gathered(self, results: dict[str, Any]) -> dict[str, Any]:
        names = [name for name, value in results.items() if self.is_awaitable(value)]
        results.update(zip(names, await gather(*(results[name] for name in names)), strict=True))
        return results

    async def _gathered_list(self, completed: list[Any]) -> list[Any]:
        indices = [i for i, value in enumerate(completed) if self.is_awaitable(value)]
        for index, value in zip(
            indices, await gather(*(completed[i] for i in indices)), strict=True
        ):
            completed[index] = value
        return completed
