"""Fixtures for the audit tests: a signer, its trusted keys and a trail on the ``engine``.

The ``engine`` fixture (tests/conftest.py) gives a migrated database with empty tables,
SQLite or PostgreSQL as ``SOTERIA_TEST_DATABASE`` says; ``suspend_triggers`` (also there)
is how tamper tests get past the append-only triggers, as a superuser could.
"""

from __future__ import annotations

import datetime as dt

import pytest

from gateway.audit import AuditTrail, Ed25519Signer, PublicKey
from tests.audit.audit_testkit import SteppingClock


@pytest.fixture(scope="session")
def signer() -> Ed25519Signer:
    return Ed25519Signer.generate()


@pytest.fixture(scope="session")
def public_keys(signer: Ed25519Signer) -> dict[str, PublicKey]:
    return {signer.key_id: signer.public_key()}


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))


@pytest.fixture
def trail(signer: Ed25519Signer, clock: SteppingClock) -> AuditTrail:
    return AuditTrail(signer, checkpoint_every=5, clock=clock)
