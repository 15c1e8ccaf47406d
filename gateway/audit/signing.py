"""Checkpoint signing: the ``Signer`` protocol and the Ed25519 key file that backs it.

Checkpoints are signed so that someone who can write to the database (a DBA, a stolen
application password) cannot rewrite history and re-hash the chain unnoticed: they would
also need this private key, which lives on the gateway host, never in the database.

Kept apart from the OAuth token signing keys on purpose: those rotate every few days and
are served to the world; this key signs a legal record and its public half is held by
auditors. ``Signer`` is a protocol so an HSM or a cloud KMS can replace the key file.

The key file (``<var>/audit-signing-key.pem``, PKCS#8 PEM) is created atomically with mode
0600; an existing file is refused if it is a symlink, not owned by the service user, or
accessible to group or others. Rotation writes a new file in its place; the old public key
stays in the keyring (keyring.py), so checkpoints it signed still verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from gateway.audit.errors import InsecureKeyFileError, PublicKeyError, SigningKeyError

ALGORITHM: Final = "ed25519"
KEY_FILE_NAME: Final = "audit-signing-key.pem"
_MAX_KEY_FILE_BYTES: Final = 4096


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A verification key, named by ``key_id`` (derived from the key, so unforgeable)."""

    key_id: str
    algorithm: str
    raw: bytes

    @classmethod
    def ed25519(cls, raw: bytes) -> PublicKey:
        if len(raw) != 32:
            raise PublicKeyError("an Ed25519 public key is 32 bytes")
        return cls(key_id=key_id_for(raw), algorithm=ALGORITHM, raw=raw)

    def verify(self, signature: bytes, message: bytes) -> bool:
        """True if ``signature`` is this key's signature of ``message``."""
        if self.algorithm != ALGORITHM:
            return False
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


class Signer(Protocol):
    """Signs checkpoints. Implementations must be safe to share between threads."""

    @property
    def key_id(self) -> str: ...

    def public_key(self) -> PublicKey: ...

    def sign(self, message: bytes) -> bytes: ...


def key_id_for(raw_public_key: bytes) -> str:
    """The key id: the first 32 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public_key).hexdigest()[:32]


class Ed25519Signer:
    """A ``Signer`` holding an Ed25519 private key in memory."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = PublicKey.ed25519(raw)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(Ed25519PrivateKey.generate())

    @property
    def key_id(self) -> str:
        return self._public.key_id

    def public_key(self) -> PublicKey:
        return self._public

    def sign(self, message: bytes) -> bytes:
        return self._private_key.sign(message)

    def private_pem(self) -> bytes:
        return self._private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def load_or_create_signer(path: Path) -> Ed25519Signer:
    """The signer whose key is at ``path``, creating the key file (0600) if it is absent."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists() and not path.is_symlink():
        _write_key_file(path, Ed25519Signer.generate(), replace=False)
    return _read_key_file(path)


def replace_signer(path: Path) -> Ed25519Signer:
    """Rotation: a new key atomically takes the old one's place at ``path``.

    The old private key is gone afterwards (processes that loaded it keep signing with it
    until restarted, which is harmless: its public key stays in the keyring).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.exists():
        _read_key_file(path)  # refuse to rotate over a file we would not have trusted
    signer = Ed25519Signer.generate()
    _write_key_file(path, signer, replace=True)
    return signer


def _write_key_file(path: Path, signer: Ed25519Signer, *, replace: bool) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(signer.private_pem())
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            temporary.replace(path)
        else:
            # link() fails if another process created the key first; theirs then wins.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_key_file(path: Path) -> Ed25519Signer:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise InsecureKeyFileError(f"cannot open key file {path} safely: {exc.strerror}") from exc
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InsecureKeyFileError(f"key file {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise InsecureKeyFileError(f"key file {path} is not owned by the service user")
        if info.st_mode & 0o077:
            raise InsecureKeyFileError(
                f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}; it must not be "
                "accessible to group or others (chmod 600)"
            )
        pem = handle.read(_MAX_KEY_FILE_BYTES)
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningKeyError(f"key file {path} does not hold a PEM private key") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"key file {path} does not hold an Ed25519 key")
    return Ed25519Signer(key)
