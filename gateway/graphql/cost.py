"""The estimated cost of the operation to run, and its list and page argument caps.

Checked after validation, once the variables are coerced, so ``forces: $forces`` is
measured by the list the client sent. The cost estimates how many values the response
may hold::

    cost(selection set) = sum of cost(field) over its fields (fragments expanded)
    cost(field)         = m(field) * (1 + cost(field's selection set))

    m(field) = the value of its page argument (``first``/``last``, or its schema default)
             | for a list field: the product P of the lengths of its list arguments, if
               it has any; else the P of its parent, if the parent is an object field
               with list arguments (``table(forces: [...]) { cells { ... } }``: the
               arguments size the list below); else ``Limits.list_sizes["Type.field"]``;
               else ``Limits.assumed_list_size``
             | for a leaf (scalar) field: its P if it has list arguments (the payload
               grows with them: a JSON table), else 1
             | for an object field: 1 (its P, if any, sizes the lists right below it)

``__typename`` costs nothing; ``__schema`` and ``__type`` cost one per field selected
below them, without multipliers (their size is bounded by the schema and by the
introspection nesting cap). Every list inside an argument value, input objects
included, must be no longer than its cap (``Limits.list_cap``), and a page argument no
larger than ``Limits.max_page_size``. ``@skip``/``@include`` are ignored: the estimate
assumes everything is selected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)
from graphql.utilities import value_from_ast_untyped
from graphql.utilities.type_info import get_field_def

from gateway.graphql.limits import Limits, limit_error


class _CostWalk:
    """Walks the operation once; fragments are memoised per (name, introspection, hint)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.variables = dict(variables)
        self.limits = limits
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.done: dict[tuple[str, bool, int | None], int] = {}
        self.active: set[tuple[str, bool, int | None]] = set()
        self.errors: list[GraphQLError] = []

    def selection_set(
        self,
        node: SelectionSetNode | None,
        parent: GraphQLNamedType,
        introspection: bool,
        hint: int | None = None,
    ) -> int:
        total = 0
        for selection in node.selections if node is not None else ():
            if isinstance(selection, FieldNode):
                total += self.field(selection, parent, introspection, hint)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                total += self.selection_set(
                    selection.selection_set, inner or parent, introspection, hint
                )
            elif isinstance(selection, FragmentSpreadNode):
                total += self.fragment(selection.name.value, introspection, hint)
        return total

    def fragment(self, name: str, introspection: bool, hint: int | None) -> int:
        key = (name, introspection, hint)
        if key in self.done:
            return self.done[key]
        definition = self.fragments.get(name)
        if definition is None or key in self.active:  # refused by validation already
            return 0
        self.active.add(key)
        parent = self.schema.get_type(definition.type_condition.name.value)
        cost = (
            self.selection_set(definition.selection_set, parent, introspection, hint)
            if parent
            else 0
        )
        self.active.discard(key)
        self.done[key] = cost
        return cost

    def field(
        self, node: FieldNode, parent: GraphQLNamedType, introspection: bool, hint: int | None
    ) -> int:
        name = node.name.value
        if name == "__typename":
            return 0
        definition = get_field_def(self.schema, parent, node)
        if definition is None:
            return 0
        inner = get_named_type(definition.type)
        if introspection or name in ("__schema", "__type"):
            return 1 + self.selection_set(node.selection_set, inner, True)
        page, product = self.arguments(node, parent, definition)
        is_list = is_list_type(get_nullable_type(definition.type))  # type: ignore[arg-type]
        if page is not None:
            multiplier, child_hint = page, None
        elif is_list:
            size = self.limits.list_sizes.get(
                f"{parent.name}.{name}", self.limits.assumed_list_size
            )
            multiplier, child_hint = product or hint or size, None
        elif node.selection_set is None:
            multiplier, child_hint = product or 1, None  # a leaf: its payload's size
        else:
            multiplier, child_hint = 1, product  # sizes the lists right below
        children = self.selection_set(node.selection_set, inner, False, child_hint)
        return multiplier * (1 + children)

    def arguments(
        self, node: FieldNode, parent: GraphQLNamedType, field: GraphQLField
    ) -> tuple[int | None, int | None]:
        """The page size and the product of list lengths among the field's arguments."""
        field_name = node.name.value
        page: int | None = None
        product: int | None = None
        given = {
            arg.name.value: value_from_ast_untyped(arg.value, self.variables)
            for arg in node.arguments
        }
        for name, argument in field.args.items():
            if name not in given and name in self.limits.page_arguments:
                given[name] = argument.default_value
        for name, value in given.items():
            self.check_lists(parent.name, field_name, name, value, node)
            if name in self.limits.page_arguments and _is_int(value):
                if value > self.limits.max_page_size:
                    self.errors.append(
                        limit_error(
                            f"Argument {name!r} of field {field_name!r} is {value}; at most "
                            f"{self.limits.max_page_size} is allowed.",
                            "max_page_size",
                            self.limits.max_page_size,
                            value,
                            node,
                        )
                    )
                page = max(page or 0, value, 1)
            elif isinstance(value, list):
                product = (product or 1) * max(len(value), 1)
        return page, product

    def check_lists(self, parent: str, field: str, argument: str, value: Any, node: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                self.check_lists(parent, field, key, item, node)
        elif isinstance(value, list):
            cap = self.limits.list_cap(parent, field, argument)
            if len(value) > cap:
                self.errors.append(
                    limit_error(
                        f"Argument {argument!r} of field {field!r} has {len(value)} items; at "
                        f"most {cap} are allowed.",
                        "list_caps",
                        cap,
                        len(value),
                        node,
                    )
                )
            for item in value:
                self.check_lists(parent, field, argument, item, node)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: Limits,
) -> tuple[int, list[GraphQLError]]:
    """The operation's cost and its list/page cap refusals (the cost cap not applied)."""
    walk = _CostWalk(schema, document, variables, limits)
    root = schema.get_root_type(operation.operation)
    cost = walk.selection_set(operation.selection_set, root, False) if root else 0
    return cost, walk.errors


def operation_limit_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Mapping[str, Any],
    limits: Limits,
) -> list[GraphQLError]:
    """List, page and cost refusals for ``operation`` with its coerced ``variables``."""
    cost, errors = operation_cost(schema, document, operation, variables, limits)
    if cost > limits.max_cost:
        errors.append(
            limit_error(
                f"The estimated cost of the query is {cost}; the limit is {limits.max_cost} "
                "(docs/graphql.md explains how the cost is counted).",
                "max_cost",
                limits.max_cost,
                cost,
                operation,
            )
        )
    return errors
