"""The graphene schema the transport tests serve: one field per behaviour under test."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import graphene
import orjson
from starlette.requests import Request

from auth.guard import require
from auth.policy import Action
from gateway.graphql import (
    BadRequestError,
    JSONPayload,
    SourceUnavailableError,
    prebuilt,
    report_error,
)

SECRET = "SECRET-EXACT-FIGURE"
LEAKY_MESSAGE = "SELECT * FROM records WHERE force='kent' -- /srv/soteria/gateway/x.py"
BIG_TABLE = orjson.dumps({"rows": [[i, i * 2, f"force-{i % 43}"] for i in range(5000)]})


class ForeignArgumentError(ValueError):
    """Like ``schema``'s own argument errors: a type the transport cannot import."""


@dataclass
class RequestContext:
    request: Request
    errors: list[Exception | dict[str, Any]] = field(default_factory=list)
    embedded: list[bytes] = field(default_factory=list)  # pre-serialised values returned


class Node(graphene.ObjectType):
    name = graphene.String()
    child = graphene.Field(lambda: Node)

    @staticmethod
    def resolve_name(root: Any, info: Any) -> str:
        return "node"

    @staticmethod
    def resolve_child(root: Any, info: Any) -> dict[str, str]:
        return {}


class Item(graphene.ObjectType):
    a = graphene.Int()
    b = graphene.Int()


class Sheet(graphene.ObjectType):
    """A table whose ``cells`` are sized by the arguments of the field returning it."""

    cells = graphene.List(graphene.NonNull(Item), required=True)

    @staticmethod
    def resolve_cells(root: list[str], info: Any) -> list[dict[str, int]]:
        return [{"a": i, "b": i} for i, _ in enumerate(root)]


def build_schema(calls: Counter[str]) -> graphene.Schema:
    """A fresh schema whose resolvers count their calls in ``calls``."""

    class Query(graphene.ObjectType):
        hello = graphene.String(name=graphene.String(default_value="world"))
        secret = graphene.String(description="Needs indicators:exact.")
        boom = graphene.String()
        slow = graphene.String(seconds=graphene.Float(default_value=0.3))
        thread = graphene.String()
        forces = graphene.List(
            graphene.NonNull(graphene.String),
            forces=graphene.List(graphene.NonNull(graphene.String)),
        )
        items = graphene.List(Item, first=graphene.Int(default_value=10))
        nested = graphene.Field(Node)
        sheet = graphene.Field(Sheet, forces=graphene.List(graphene.NonNull(graphene.String)))
        partial = graphene.List(graphene.NonNull(graphene.String))
        shaped = graphene.List(graphene.NonNull(graphene.String))
        period = graphene.String(value=graphene.String(required=True))
        foreign = graphene.String(kind=graphene.String(required=True))
        table = graphene.Field(JSONPayload)
        plain_json = graphene.Field(JSONPayload)

        @staticmethod
        def resolve_hello(root: Any, info: Any, name: str) -> str:
            calls["hello"] += 1
            return f"Hello, {name}!"

        @staticmethod
        def resolve_secret(root: Any, info: Any) -> str:
            calls["secret"] += 1
            require(info.context.request, Action.READ_INDICATORS_EXACT)
            return SECRET

        @staticmethod
        def resolve_boom(root: Any, info: Any) -> str:
            calls["boom"] += 1
            raise RuntimeError(LEAKY_MESSAGE)

        @staticmethod
        def resolve_slow(root: Any, info: Any, seconds: float) -> str:
            calls["slow"] += 1
            time.sleep(seconds)
            return "done"

        @staticmethod
        def resolve_thread(root: Any, info: Any) -> str:
            calls["thread"] += 1
            return threading.current_thread().name

        @staticmethod
        def resolve_forces(root: Any, info: Any, forces: list[str] | None = None) -> list[str]:
            calls["forces"] += 1
            return forces or []

        @staticmethod
        def resolve_items(root: Any, info: Any, first: int) -> list[dict[str, int]]:
            calls["items"] += 1
            return [{"a": i, "b": -i} for i in range(first)]

        @staticmethod
        def resolve_sheet(root: Any, info: Any, forces: list[str] | None = None) -> list[str]:
            calls["sheet"] += 1
            return forces or ["x"]

        @staticmethod
        def resolve_nested(root: Any, info: Any) -> dict[str, str]:
            calls["nested"] += 1
            return {}

        @staticmethod
        def resolve_partial(root: Any, info: Any) -> list[str]:
            calls["partial"] += 1
            report_error(info, SourceUnavailableError("kent", "the source timed out"))
            return ["avon-and-somerset", "bedfordshire"]

        @staticmethod
        def resolve_shaped(root: Any, info: Any) -> list[str]:
            calls["shaped"] += 1
            info.context.errors.append(
                {
                    "message": "Data for force kent is unavailable: timed out.",
                    "extensions": {"code": "SOURCE_UNAVAILABLE", "force": "kent"},
                }
            )
            return ["avon-and-somerset"]

        @staticmethod
        def resolve_period(root: Any, info: Any, value: str) -> str:
            calls["period"] += 1
            raise BadRequestError("The period must look like 2024-Q1.", argument="value")

        @staticmethod
        def resolve_foreign(root: Any, info: Any, kind: str) -> str:
            calls["foreign"] += 1
            if kind == "mapped":
                raise ForeignArgumentError("There is no force 'atlantis'.")
            raise ValueError(LEAKY_MESSAGE)

        @staticmethod
        def resolve_table(root: Any, info: Any) -> Any:
            calls["table"] += 1
            info.context.embedded.append(BIG_TABLE)
            return prebuilt(BIG_TABLE)

        @staticmethod
        def resolve_plain_json(root: Any, info: Any) -> Any:
            calls["plain_json"] += 1
            return {"a": [1, 2, {"b": None}]}

    class Mutation(graphene.ObjectType):
        touch = graphene.Int()

        @staticmethod
        def resolve_touch(root: Any, info: Any) -> int:
            calls["touch"] += 1
            return calls["touch"]

    return graphene.Schema(query=Query, mutation=Mutation)
