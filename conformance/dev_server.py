"""A development server: the real application plus ``/graphql`` over a toy schema.

For working on the transport (``gateway/graphql``) and on the scripts in this folder
without the indicator schema. ``create_app`` builds the whole service (real OAuth token
endpoint, real authentication middleware); the transport's routes are put in front with
a three-field schema. It migrates the database, registers a client with
``indicators:read`` and writes its credentials to ``$SOTERIA_VAR_DIR/dev-client.json``::

    SOTERIA_VAR_DIR=/tmp/gqlvar SOTERIA_DATABASE_URL=sqlite:////tmp/gqlvar/soteria.db \\
        .venv/bin/python conformance/dev_server.py --port 8799
    TOKEN=$(curl -s -u "$ID:$SECRET" -d grant_type=client_credentials \\
        http://127.0.0.1:8799/oauth/token | jq -r .access_token)
    bash conformance/run.sh http://127.0.0.1:8799 "$TOKEN"
"""

from __future__ import annotations

import argparse
import json
from types import SimpleNamespace
from typing import Any

import graphene
import uvicorn
from sqlalchemy.orm import Session
from starlette.requests import Request

from adapters.store.engine import make_engine
from auth.clients import create_client
from gateway import database
from gateway.app import create_app
from gateway.graphql import graphql_routes
from gateway.settings import Settings


class Query(graphene.ObjectType):  # type: ignore[misc]
    hello = graphene.String(name=graphene.String(default_value="world"))
    forces = graphene.List(
        graphene.NonNull(graphene.String), codes=graphene.List(graphene.NonNull(graphene.String))
    )

    @staticmethod
    def resolve_hello(root: Any, info: Any, name: str) -> str:
        return f"Hello, {name}!"

    @staticmethod
    def resolve_forces(root: Any, info: Any, codes: list[str] | None = None) -> list[str]:
        return codes or ["avon-and-somerset", "kent"]


class Mutation(graphene.ObjectType):  # type: ignore[misc]
    noop = graphene.Boolean()

    @staticmethod
    def resolve_noop(root: Any, info: Any) -> bool:
        return True


def context(request: Request) -> SimpleNamespace:
    return SimpleNamespace(request=request, errors=[])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8799)
    args = parser.parse_args()
    settings = Settings.from_env(public_url=f"http://{args.host}:{args.port}")
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    database.upgrade(engine)
    with Session(engine) as session:
        client = create_client(session, name="graphql dev", scopes=["indicators:read"], force=None)
        session.commit()
    engine.dispose()
    credentials = {"client_id": client.client_id, "client_secret": client.client_secret}
    (settings.var_dir / "dev-client.json").write_text(json.dumps(credentials))
    print(json.dumps(credentials), flush=True)
    app = create_app(settings)
    schema = graphene.Schema(query=Query, mutation=Mutation)
    app.router.routes[0:0] = graphql_routes(schema, context)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
