"""Checkpoint keys: the key file's protection, keyrings, rotation, and bad signatures."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import Engine

from gateway.audit import (
    AuditSettings,
    AuditTrail,
    BreakKind,
    Ed25519Signer,
    InsecureKeyFileError,
    PublicKeyError,
    SigningKeyError,
    database_keys,
    load_keyring,
    open_trail,
    rotate_key,
    verify,
)
from gateway.audit.canonical import checkpoint_message
from gateway.audit.keyring import add_to_keyring
from gateway.audit.signing import load_or_create_signer
from tests.audit.audit_testkit import SteppingClock, fill


def _settings(tmp_path: Path) -> AuditSettings:
    return AuditSettings(
        key_path=tmp_path / "var" / "audit-signing-key.pem",
        keyring_path=tmp_path / "var" / "audit-public-keys.json",
        checkpoint_every=3,
    )


def test_key_file_is_created_private_and_reloads_the_same_key(tmp_path: Path) -> None:
    path = tmp_path / "var" / "audit-signing-key.pem"

    first = load_or_create_signer(path)
    again = load_or_create_signer(path)

    assert os.stat(path).st_mode & 0o777 == 0o600
    assert again.key_id == first.key_id
    signature = again.sign(b"message")
    assert first.public_key().verify(signature, b"message")
    assert not first.public_key().verify(signature, b"other message")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_refuses_a_key_file_others_can_read(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "audit-signing-key.pem"
    load_or_create_signer(path)
    path.chmod(mode)

    with pytest.raises(InsecureKeyFileError, match="chmod 600"):
        load_or_create_signer(path)


def test_refuses_a_symlinked_key_file(tmp_path: Path) -> None:
    real = tmp_path / "real.pem"
    load_or_create_signer(real)
    link = tmp_path / "audit-signing-key.pem"
    link.symlink_to(real)

    with pytest.raises(InsecureKeyFileError):
        load_or_create_signer(link)


def test_refuses_a_key_file_without_an_ed25519_key(tmp_path: Path) -> None:
    path = tmp_path / "audit-signing-key.pem"
    path.write_bytes(b"not a key")
    path.chmod(0o600)

    with pytest.raises(SigningKeyError, match="PEM"):
        load_or_create_signer(path)


def test_keyring_round_trip_and_refuses_a_mislabelled_key(tmp_path: Path) -> None:
    keyring = tmp_path / "keys.json"
    a, b = Ed25519Signer.generate(), Ed25519Signer.generate()
    add_to_keyring(keyring, a.public_key())
    add_to_keyring(keyring, b.public_key())
    add_to_keyring(keyring, a.public_key())  # idempotent

    assert load_keyring(keyring) == {a.key_id: a.public_key(), b.key_id: b.public_key()}

    document = json.loads(keyring.read_text())
    document["keys"][0]["key_id"] = b.key_id
    keyring.write_text(json.dumps(document))
    with pytest.raises(PublicKeyError):
        load_keyring(keyring)


def test_checkpoints_still_verify_after_key_rotation(engine: Engine, tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    before = open_trail(settings)
    fill(engine, before, 4)  # checkpoint at 3, old key
    new_key = rotate_key(settings)
    after = open_trail(settings)
    fill(engine, after, 3, start=4)  # checkpoint at 6, new key

    assert after.signer.key_id == new_key.key_id != before.signer.key_id
    keyring = load_keyring(settings.keyring_path)
    assert set(keyring) == {before.signer.key_id, after.signer.key_id}
    assert verify(engine, keyring).ok
    only_new = {new_key.key_id: new_key}
    report = verify(engine, only_new)
    assert report.first_break is not None
    assert (report.first_break.kind, report.first_break.seq) == (BreakKind.BAD_SIGNATURE, 3)


def test_signers_register_their_public_keys_in_the_database(
    engine: Engine, signer: Ed25519Signer, clock: SteppingClock
) -> None:
    fill(engine, AuditTrail(signer, checkpoint_every=2, clock=clock), 4)

    with engine.connect() as conn:
        assert database_keys(conn) == {signer.key_id: signer.public_key()}


def test_a_signature_over_other_bytes_does_not_verify(signer: Ed25519Signer) -> None:
    payload = {"seq": 1, "head_hash": "0" * 64}
    signature = signer.sign(checkpoint_message(payload))

    assert signer.public_key().verify(signature, checkpoint_message(payload))
    assert not signer.public_key().verify(signature, checkpoint_message({**payload, "seq": 2}))
    assert not signer.public_key().verify(
        signature[:-1] + bytes([signature[-1] ^ 1]), checkpoint_message(payload)
    )
