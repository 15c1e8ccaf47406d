"""``soteria clients``: register, list and disable OAuth clients (secrets shown once)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy.orm import Session

from adapters.store.engine import immediate_writes, make_engine
from auth.clients import create_client, disable_client, list_clients
from auth.errors import ClientRegistrationError, UnknownClientError
from auth.scopes import SCOPE_DESCRIPTIONS
from gateway.settings import Settings
from schema import codelists


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "clients",
        help="OAuth clients: create, list, disable.",
        description="Manage the OAuth 2.0 clients of the built-in authorization server. "
        "Scopes: " + "; ".join(f"{s.value}: {d}" for s, d in SCOPE_DESCRIPTIONS.items()),
    )
    actions = parser.add_subparsers(dest="clients_action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="Register a client; prints its secret once.")
    create.add_argument("--name", required=True, help="Who or what the client is.")
    create.add_argument(
        "--scope",
        required=True,
        help='Space-separated scopes, e.g. "records:write submissions:read".',
    )
    create.add_argument("--force", default=None, help="Bind the client to one force.")
    create.add_argument(
        "--jwk", default=None, help="Path to a public JWK (JSON) for private_key_jwt clients."
    )
    create.add_argument(
        "--json",
        action="store_true",
        help='Print {"client_id": ..., "client_secret": ...} as JSON.',
    )
    create.set_defaults(handler=_create)
    listing = actions.add_parser("list", help="List clients (never their secrets).")
    listing.add_argument("--json", action="store_true", help="Print JSON.")
    listing.set_defaults(handler=_list)
    disable = actions.add_parser("disable", help="Disable a client and cut off its tokens.")
    disable.add_argument("client_id", help="The client to disable.")
    disable.set_defaults(handler=_disable)


def _session(settings: Settings) -> Session:
    return Session(immediate_writes(make_engine(settings.database_url)))


def _create(args: argparse.Namespace) -> int:
    jwk = None
    if args.jwk:
        with open(args.jwk, encoding="utf-8") as handle:
            jwk = json.load(handle)
    with _session(Settings.from_env()) as session:
        try:
            new = create_client(
                session,
                name=args.name,
                scopes=args.scope.split(),
                force=args.force,
                jwk=jwk,
                force_exists=lambda c: codelists.force(c) is not None,
            )
        except ClientRegistrationError as exc:
            print(f"error: {exc}")
            return 2
        session.commit()
    if args.json:
        print(json.dumps({"client_id": new.client_id, "client_secret": new.client_secret}))
    else:
        print(f"client_id:     {new.client_id}")
        if new.client_secret is not None:
            print(f"client_secret: {new.client_secret}")
            print("The secret is shown only now; store it in your secrets manager.")
    return 0


def _list(args: argparse.Namespace) -> int:
    with _session(Settings.from_env()) as session:
        clients = list_clients(session)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "client_id": c.client_id,
                        "name": c.name,
                        "scopes": sorted(c.scopes),
                        "force": c.force,
                        "enabled": c.enabled,
                        "auth_method": c.auth_method,
                        "created_at": c.created_at.isoformat(),
                    }
                    for c in clients
                ],
                indent=2,
            )
        )
        return 0
    for c in clients:
        state = "enabled" if c.enabled else "DISABLED"
        print(
            f"{c.client_id}  {state:8}  {c.force or 'national':20}  "
            f"{' '.join(sorted(c.scopes)):40}  {c.name}"
        )
    return 0


def _disable(args: argparse.Namespace) -> int:
    with _session(Settings.from_env()) as session:
        try:
            disable_client(session, args.client_id)
        except UnknownClientError as exc:
            print(f"error: {exc}")
            return 2
        session.commit()
    print(f"client {args.client_id} disabled; its tokens no longer work")
    return 0
