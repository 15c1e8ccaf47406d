"""``soteria keys``: rotate the token signing key without a restart.

A rotation is audited as ``auth:key:rotated`` (the new key id in ``operation``) in the
transaction that makes the new key current, with the local operator as the actor.
"""

from __future__ import annotations

import argparse
from typing import Any

from sqlalchemy.orm import Session

from adapters.store.engine import immediate_writes
from auth.signing_keys import rotate_signing_key
from gateway.audit import Outcome
from gateway.auth_setup import auth_settings, load_kek
from gateway.cli.operator import admin_event, database, trail_for
from gateway.settings import Settings


def register(sub: Any) -> None:
    parser: argparse.ArgumentParser = sub.add_parser(
        "keys",
        help="Token signing keys: rotate.",
        description="Manage the built-in authorization server's signing keys.",
    )
    actions = parser.add_subparsers(dest="keys_action", required=True, metavar="ACTION")
    rotate = actions.add_parser(
        "rotate",
        help="Add a new signing key and make it current.",
        description="New tokens are signed with the new key at once (every replica reloads "
        "keys within seconds); the old public key stays in the JWKS until every token it "
        "signed has expired, so no token is cut short and nothing restarts.",
    )
    rotate.set_defaults(handler=_rotate)


def _rotate(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    retire_after = auth_settings(settings).key_retire_after
    trail = trail_for(settings)
    with database(settings) as engine, Session(immediate_writes(engine)) as session:
        kid = rotate_signing_key(session, load_kek(settings), retire_after=retire_after)
        rotated = admin_event("auth:key:rotated", Outcome.ALLOWED, f"keys rotate {kid}")
        trail.append(session.connection(), rotated)
        session.commit()
    print(f"new signing key {kid} is current; the previous key retires once its tokens expire")
    return 0
