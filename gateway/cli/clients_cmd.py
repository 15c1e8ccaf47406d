"""``soteria clients``: register, list and disable OAuth clients (secrets shown once).

Each run is audited with the local operator as the actor (``gateway.cli.operator``):
``auth:client:created`` and ``auth:client:disabled`` in the transaction that makes the
change, ``auth:client:listed`` for a listing, and a refused command with outcome
``error``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from adapters.store.engine import immediate_writes
from auth.clients import create_client, disable_client, get_client, list_clients
from auth.errors import ClientRegistrationError, UnknownClientError
from auth.scopes import SCOPE_DESCRIPTIONS
from gateway.audit import Outcome, caller_value
from gateway.cli.operator import admin_event, database, trail_for
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


def _session(engine: Engine) -> Session:
    return Session(immediate_writes(engine))


def _create(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    trail = trail_for(settings)
    scopes = args.scope.split()
    jwk = None
    if args.jwk:
        with open(args.jwk, encoding="utf-8") as handle:
            jwk = json.load(handle)
    with database(settings) as engine, _session(engine) as session:
        try:
            new = create_client(
                session,
                name=args.name,
                scopes=scopes,
                force=args.force,
                jwk=jwk,
                force_exists=lambda c: codelists.force(c) is not None,
            )
        except ClientRegistrationError as exc:
            session.rollback()
            refused = admin_event(
                "auth:client:created",
                Outcome.ERROR,
                "clients create",
                reason="invalid_registration",
                scopes=scopes,
                forces=[args.force],
            )
            trail.append_standalone(engine, refused)
            print(f"error: {exc}")
            return 2
        created = admin_event(
            "auth:client:created",
            Outcome.ALLOWED,
            f"clients create {new.client_id}",
            scopes=scopes,
            forces=[args.force],
        )
        trail.append(session.connection(), created)
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
    settings = Settings.from_env()
    trail = trail_for(settings)
    with database(settings) as engine:
        with _session(engine) as session:
            clients = list_clients(session)
        listed = admin_event(
            "auth:client:listed", Outcome.ALLOWED, "clients list", rows=len(clients)
        )
        trail.append_standalone(engine, listed)
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
    settings = Settings.from_env()
    trail = trail_for(settings)
    target = caller_value(args.client_id)
    operation = f"clients disable {target}" if target else "clients disable"
    with database(settings) as engine, _session(engine) as session:
        found = get_client(session, args.client_id)
        try:
            disable_client(session, args.client_id)
        except UnknownClientError as exc:
            session.rollback()
            refused = admin_event(
                "auth:client:disabled", Outcome.ERROR, operation, reason="unknown_client"
            )
            trail.append_standalone(engine, refused)
            print(f"error: {exc}")
            return 2
        disabled = admin_event(
            "auth:client:disabled",
            Outcome.ALLOWED,
            operation,
            scopes=sorted(found.scopes) if found else (),
            forces=[found.force if found else None],
        )
        trail.append(session.connection(), disabled)
        session.commit()
    print(f"client {args.client_id} disabled; its tokens no longer work")
    return 0
