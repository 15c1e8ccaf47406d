"""Client registration and storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import warnings
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwk
from joserfc.errors import SecurityWarning
from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import StatementError
from sqlalchemy.orm import Session, sessionmaker

from auth.clients import create_client, disable_client, get_client, list_clients
from auth.errors import ClientRegistrationError, UnknownClientError
from auth.models import Client, metadata
from auth.scopes import Scope
from tests.auth.auth_testkit import FORCE_A, force_exists


def _short_rsa_public_key() -> dict[str, object]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecurityWarning)
        key = jwk.RSAKey.import_key(rsa.generate_private_key(65537, 1024).public_key())
    return dict(key.as_dict(private=False))


def test_creates_a_client_with_a_hashed_secret(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        client_id, secret = create_client(
            session, name="Joint Unit", scopes=[Scope.INDICATORS_READ], force=None
        )
    assert secret is not None
    assert re.fullmatch(r"sx_[A-Za-z0-9_-]{24}", client_id)
    assert len(secret) >= 43
    with session_factory() as session:
        row = session.get(Client, client_id)
        assert row is not None
        assert row.secret_hash is not None
        assert row.secret_hash.startswith("$argon2id$")
        assert secret not in row.secret_hash
        assert row.created_at.tzinfo is not None


def test_client_ids_and_secrets_are_unique(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        made = [
            create_client(session, name=f"c{n}", scopes=["indicators:read"], force=None)
            for n in range(5)
        ]
    assert len({client.client_id for client in made}) == 5
    assert len({client.client_secret for client in made}) == 5


def test_lists_clients_without_secrets(session_factory: sessionmaker[Session]) -> None:
    key = jwk.ECKey.generate_key("P-256", private=True)
    with session_factory.begin() as session:
        first, _ = create_client(session, name="JU", scopes=["indicators:read"], force=None)
        second, _ = create_client(
            session,
            name="Avon system",
            scopes=["records:write", "submissions:read"],
            force=FORCE_A,
            jwk=key.as_dict(private=False),
            force_exists=force_exists,
        )
    with session_factory() as session:
        listed = {info.client_id: info for info in list_clients(session)}
    assert set(listed) == {first, second}
    assert listed[second].scopes == {Scope.RECORDS_WRITE, Scope.SUBMISSIONS_READ}
    assert listed[second].force == FORCE_A
    assert listed[second].auth_method == "private_key_jwt"
    assert listed[first].auth_method == "client_secret"
    assert not hasattr(listed[first], "secret_hash")


def test_disables_a_client(session_factory: sessionmaker[Session]) -> None:
    moment = datetime(2025, 6, 1, 12, tzinfo=UTC)
    with session_factory.begin() as session:
        client_id, _ = create_client(session, name="x", scopes=["audit:read"], force=None)
        disable_client(session, client_id, now=moment)
    with session_factory() as session:
        info = get_client(session, client_id)
        assert info is not None
        assert info.enabled is False
        assert info.disabled_at == moment
        with pytest.raises(UnknownClientError):
            disable_client(session, "sx_missing")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["records:write"], "force": None}, "requires the client to have a force"),
        ({"scopes": ["indicators:read", "admin"], "force": None}, "unknown scope"),
        ({"scopes": [], "force": None}, "at least one scope"),
        ({"scopes": ["records:write"], "force": "atlantis"}, "unknown force"),
        ({"scopes": ["records:write"], "force": "Not A Code"}, "not a force code"),
        ({"scopes": ["indicators:read"], "force": None, "name": "  "}, "needs a name"),
        ({"scopes": ["indicators:read"], "force": None, "name": "x" * 201}, "needs a name"),
    ],
)
def test_refuses_invalid_registrations(
    kwargs: dict[str, object], message: str, session_factory: sessionmaker[Session]
) -> None:
    arguments: dict[str, object] = {"name": "client", "force_exists": force_exists, **kwargs}
    with session_factory() as session, pytest.raises(ClientRegistrationError, match=message):
        create_client(session, **arguments)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (jwk.ECKey.generate_key("P-256", private=True).as_dict(private=True), "private key"),
        ({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"}, "RSA, EC or OKP"),
        (_short_rsa_public_key(), "2048"),
        ({"kty": "EC", "crv": "P-256", "x": "bad"}, "could not be parsed"),
    ],
    ids=["private", "symmetric", "short_rsa", "garbage"],
)
def test_refuses_unsafe_client_keys(
    key: dict[str, object], message: str, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, pytest.raises(ClientRegistrationError, match=message):
        create_client(session, name="c", scopes=["records:write"], force=FORCE_A, jwk=key)


def test_a_key_pair_client_has_no_secret(session_factory: sessionmaker[Session]) -> None:
    public = jwk.OKPKey.generate_key("Ed25519", private=True).as_dict(private=False)
    with session_factory.begin() as session:
        client_id, secret = create_client(
            session, name="c", scopes=["records:write"], force=FORCE_A, jwk=public
        )
    assert secret is None
    with session_factory() as session:
        row = session.get(Client, client_id)
        assert row is not None
        assert row.secret_hash is None
        assert row.public_jwk is not None
        assert "d" not in row.public_jwk


def test_datetimes_round_trip_as_aware_utc(session_factory: sessionmaker[Session]) -> None:
    local = timezone(timedelta(hours=5))
    moment = datetime(2025, 3, 30, 1, 30, tzinfo=local)
    with session_factory.begin() as session:
        client_id, _ = create_client(
            session, name="c", scopes=["audit:read"], force=None, now=moment
        )
    with session_factory() as session:
        created = session.scalar(select(Client.created_at).where(Client.client_id == client_id))
    assert created == moment
    assert created is not None
    assert created.utcoffset() == timedelta(0)


def test_naive_datetimes_are_refused(session_factory: sessionmaker[Session]) -> None:
    naive = datetime(2025, 1, 1)
    with session_factory() as session, pytest.raises(StatementError, match="naive"):
        create_client(session, name="c", scopes=["audit:read"], force=None, now=naive)


def test_tables_follow_the_naming_convention(
    auth_engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    assert {table.name for table in metadata.sorted_tables} == {
        "auth_clients",
        "auth_signing_keys",
        "auth_revoked_tokens",
        "auth_client_assertions",
        "auth_rate_buckets",
    }
    inspector = inspect(auth_engine)
    assert inspector.get_pk_constraint("auth_clients")["name"] in ("pk_auth_clients", None)
    indexes = {index["name"] for index in inspector.get_indexes("auth_clients")}
    assert "ix_auth_clients_force" in indexes
    foreign = inspector.get_foreign_keys("auth_revoked_tokens")
    assert [fk["referred_table"] for fk in foreign] == ["auth_clients"]
    if auth_engine.dialect.name == "postgresql":
        assert foreign[0]["name"] == "fk_auth_revoked_tokens_client_id_auth_clients"
        checks = {check["name"] for check in inspector.get_check_constraints("auth_clients")}
        assert checks == {"ck_auth_clients_one_credential"}
