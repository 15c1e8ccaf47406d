"""The schema object, and its SDL (committed as ``schema.graphql``, checked by a test)."""

from __future__ import annotations

from functools import cache

import graphene

from schema.graphql.mutation import Mutation
from schema.graphql.query import Query


@cache
def build_schema() -> graphene.Schema:
    return graphene.Schema(query=Query, mutation=Mutation, auto_camelcase=True)


def schema_sdl() -> str:
    return str(build_schema()) + "\n"
