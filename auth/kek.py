"""The key-encryption key (KEK) that seals our signing keys at rest.

Private signing keys are stored in the database sealed with AES-256-GCM under a KEK that
never enters the database or the repository: it comes from configuration, or for the
embedded default from a key file under ``./var/`` that only the service user can read.
A database dump alone therefore cannot mint tokens.

The key file is created atomically (written to a temporary file, then hard-linked into
place, so a concurrent reader never sees half a key) with mode 0600, and an existing file
is refused if it is a symlink, not owned by us, or accessible to group or others.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from auth.errors import ConfigurationError, InsecureKeyFileError, KeyMaterialError

KEK_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_SEAL_VERSION: Final = b"\x01"


def generate_kek() -> bytes:
    return secrets.token_bytes(KEK_BYTES)


def encode_kek(kek: bytes) -> str:
    """The text form of a KEK (URL-safe base64), as settings and key files hold it."""
    return base64.urlsafe_b64encode(kek).decode("ascii")


def parse_kek(text: str) -> bytes:
    """Decode a KEK from settings; refuse anything that is not exactly 32 bytes."""
    try:
        kek = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise ConfigurationError("the key-encryption key is not valid base64") from exc
    if len(kek) != KEK_BYTES:
        raise ConfigurationError(f"the key-encryption key must be {KEK_BYTES} bytes")
    return kek


def load_or_create_kek(path: Path) -> bytes:
    """Return the KEK stored at ``path``, creating the file (mode 0600) if absent.

    Raises ``InsecureKeyFileError`` if the file exists but could be read or replaced by
    another user, and ``ConfigurationError`` if its content is not a KEK.
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists() and not path.is_symlink():
        _create_key_file(path)
    return _read_key_file(path)


def _create_key_file(path: Path) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encode_kek(generate_kek()) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # link() fails if another process created the file first; theirs then wins.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _read_key_file(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise InsecureKeyFileError(f"cannot open key file {path} safely: {exc.strerror}") from exc
    with os.fdopen(fd, "r", encoding="ascii") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise InsecureKeyFileError(f"key file {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise InsecureKeyFileError(f"key file {path} is not owned by the service user")
        if info.st_mode & 0o077:
            raise InsecureKeyFileError(
                f"key file {path} has mode {stat.S_IMODE(info.st_mode):04o}; "
                "it must not be accessible to group or others (chmod 600)"
            )
        try:
            text = handle.read(256)
        except UnicodeDecodeError as exc:
            raise ConfigurationError(f"key file {path} does not hold a KEK") from exc
    return parse_kek(text)


def seal(kek: bytes, plaintext: bytes, *, associated_data: bytes) -> bytes:
    """Encrypt ``plaintext`` under the KEK, bound to ``associated_data`` (the key id).

    Binding the ciphertext to its row's key id means a sealed key copied into another
    row fails to open instead of silently signing under the wrong ``kid``.
    """
    nonce = secrets.token_bytes(_NONCE_BYTES)
    return _SEAL_VERSION + nonce + AESGCM(kek).encrypt(nonce, plaintext, associated_data)


def unseal(kek: bytes, sealed: bytes, *, associated_data: bytes) -> bytes:
    if not sealed.startswith(_SEAL_VERSION) or len(sealed) <= 1 + _NONCE_BYTES:
        raise KeyMaterialError("sealed key has an unknown format")
    nonce = sealed[1 : 1 + _NONCE_BYTES]
    try:
        return AESGCM(kek).decrypt(nonce, sealed[1 + _NONCE_BYTES :], associated_data)
    except InvalidTag as exc:
        raise KeyMaterialError("sealed key does not open with this KEK") from exc
