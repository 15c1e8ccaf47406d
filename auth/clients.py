"""OAuth clients: registration, listing, disabling, and secret verification.

Secrets are 256-bit random strings shown once at creation and stored only as argon2id
hashes. Client ids are 144-bit random strings, so knowing one client's id tells nothing
about another's. A client registered with a public JWK gets no secret at all and can
authenticate only with ``private_key_jwt``.

Service functions flush but never commit: the CLI or request that calls them owns the
transaction.
"""

from __future__ import annotations

import re
import secrets
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final, NamedTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from joserfc import jwk
from joserfc.errors import JoseError, SecurityWarning
from sqlalchemy import select
from sqlalchemy.orm import Session

from auth.clock import utc_now
from auth.errors import ClientRegistrationError, UnknownClientError
from auth.models import Client
from auth.scopes import FORCE_REQUIRED_SCOPES, Scope, UnknownScopeError, format_scopes, parse_scopes

CLIENT_ID_PREFIX: Final = "sx_"
MAX_NAME_LENGTH: Final = 200
FORCE_CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
#: Key types a force system may register for private_key_jwt (no symmetric keys).
_ALLOWED_KEY_TYPES: Final = frozenset({"RSA", "EC", "OKP"})
_MIN_RSA_BITS: Final = 2048

# argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane). The secrets are 256-bit random
# strings, so the hash need not slow a dictionary attack, only make a leaked hash useless;
# heavier settings would only make every token request cost more CPU and memory.
_HASHER: Final = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@cache
def _dummy_hash() -> str:
    """Verified against when the client is unknown, so that "no such client" takes as
    long as "wrong secret" and response timing does not reveal which ids exist."""
    return _HASHER.hash(secrets.token_urlsafe(16))


class NewClient(NamedTuple):
    """The result of ``create_client``; ``client_secret`` is None for key-pair clients."""

    client_id: str
    client_secret: str | None


@dataclass(frozen=True, slots=True)
class ClientInfo:
    """A client as listed to administrators: never the secret hash."""

    client_id: str
    name: str
    scopes: frozenset[Scope]
    force: str | None
    enabled: bool
    auth_method: str
    created_at: datetime
    disabled_at: datetime | None
    public_jwk: Mapping[str, Any] | None

    @classmethod
    def from_row(cls, row: Client) -> ClientInfo:
        return cls(
            client_id=row.client_id,
            name=row.name,
            scopes=parse_scopes(row.scopes, strict=False),
            force=row.force,
            enabled=row.enabled,
            auth_method="private_key_jwt" if row.public_jwk else "client_secret",
            created_at=row.created_at,
            disabled_at=row.disabled_at,
            public_jwk=row.public_jwk,
        )


def create_client(
    session: Session,
    *,
    name: str,
    scopes: Iterable[Scope | str],
    force: str | None,
    jwk: Mapping[str, Any] | None = None,
    force_exists: Callable[[str], bool] | None = None,
    now: datetime | None = None,
) -> NewClient:
    """Register a client and return its id and (once only) its secret.

    ``force_exists`` is the gateway's check that ``force`` is one of the 43 forces;
    without it only the code's syntax is checked. Raises ``ClientRegistrationError``.
    """
    if not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        raise ClientRegistrationError(f"a client needs a name of 1 to {MAX_NAME_LENGTH} characters")
    try:
        granted = parse_scopes([str(scope) for scope in scopes], strict=True)
    except UnknownScopeError as exc:
        raise ClientRegistrationError(str(exc)) from exc
    if not granted:
        raise ClientRegistrationError("a client needs at least one scope")
    if force is not None:
        if not FORCE_CODE.fullmatch(force):
            raise ClientRegistrationError(f"not a force code: {force!r}")
        if force_exists is not None and not force_exists(force):
            raise ClientRegistrationError(f"unknown force: {force!r}")
    elif granted & FORCE_REQUIRED_SCOPES:
        needs = format_scopes(granted & FORCE_REQUIRED_SCOPES)
        raise ClientRegistrationError(f"scope {needs} requires the client to have a force")
    public_jwk = _validated_public_jwk(jwk) if jwk is not None else None
    client_id = CLIENT_ID_PREFIX + secrets.token_urlsafe(18)
    secret = None if public_jwk is not None else secrets.token_urlsafe(32)
    session.add(
        Client(
            client_id=client_id,
            name=name.strip(),
            secret_hash=_HASHER.hash(secret) if secret is not None else None,
            public_jwk=public_jwk,
            scopes=format_scopes(granted),
            force=force,
            enabled=True,
            created_at=now or utc_now(),
        )
    )
    session.flush()
    return NewClient(client_id, secret)


def list_clients(session: Session) -> list[ClientInfo]:
    rows = session.scalars(select(Client).order_by(Client.created_at, Client.client_id))
    return [ClientInfo.from_row(row) for row in rows]


def get_client(session: Session, client_id: str) -> ClientInfo | None:
    row = session.get(Client, client_id)
    return None if row is None else ClientInfo.from_row(row)


def disable_client(session: Session, client_id: str, *, now: datetime | None = None) -> None:
    """Disable a client: it can no longer get tokens, and its live tokens stop working."""
    row = session.get(Client, client_id)
    if row is None:
        raise UnknownClientError(f"no client {client_id!r}")
    if row.enabled:
        row.enabled = False
        row.disabled_at = now or utc_now()
        session.flush()


def verify_client_secret(row: Client | None, secret: str) -> bool:
    """Constant-effort check of ``secret`` against ``row`` (which may be missing)."""
    stored = row.secret_hash if row is not None else None
    try:
        ok = _HASHER.verify(stored or _dummy_hash(), secret)
    except (VerificationError, InvalidHashError):
        return False
    return ok and stored is not None and row is not None and row.enabled


def _validated_public_jwk(value: Mapping[str, Any]) -> dict[str, Any]:
    """Accept only an asymmetric *public* key; a private key must never be stored."""
    try:
        with warnings.catch_warnings():
            # joserfc warns about short RSA keys; we refuse them below instead.
            warnings.simplefilter("ignore", SecurityWarning)
            key = jwk.import_key(dict(value))
    except (JoseError, ValueError, TypeError) as exc:
        raise ClientRegistrationError("the JWK could not be parsed") from exc
    if key.key_type not in _ALLOWED_KEY_TYPES:
        raise ClientRegistrationError("the JWK must be an RSA, EC or OKP public key")
    if key.is_private:
        raise ClientRegistrationError("the JWK holds a private key; register the public half")
    if isinstance(key, jwk.RSAKey) and key.raw_value.key_size < _MIN_RSA_BITS:
        raise ClientRegistrationError(f"RSA keys must have at least {_MIN_RSA_BITS} bits")
    public = key.as_dict(private=False)
    public.pop("use", None)
    return dict(public)
