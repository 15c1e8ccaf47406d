"""The key-encryption key file and sealing of private keys."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from auth.errors import ConfigurationError, InsecureKeyFileError, KeyMaterialError
from auth.kek import encode_kek, generate_kek, load_or_create_kek, parse_kek, seal, unseal


def test_creates_a_key_file_readable_only_by_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "var" / "keys" / "kek"

    kek = load_or_create_kek(path)

    assert len(kek) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_or_create_kek(path) == kek
    assert [entry.name for entry in path.parent.iterdir()] == ["kek"]  # no temporary left


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620])
def test_refuses_a_key_file_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "kek"
    load_or_create_kek(path)
    path.chmod(mode)
    with pytest.raises(InsecureKeyFileError, match=f"{mode:04o}"):
        load_or_create_kek(path)


def test_refuses_a_symlinked_key_file(tmp_path: Path) -> None:
    target = tmp_path / "real"
    load_or_create_kek(target)
    link = tmp_path / "kek"
    link.symlink_to(target)
    with pytest.raises(InsecureKeyFileError):
        load_or_create_kek(link)
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "nowhere")
    with pytest.raises(InsecureKeyFileError):
        load_or_create_kek(dangling)
    assert not (tmp_path / "nowhere").exists()


def test_refuses_a_key_file_that_holds_no_key(tmp_path: Path) -> None:
    path = tmp_path / "kek"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"too-short")
    os.close(fd)
    with pytest.raises(ConfigurationError, match=r"32 bytes|base64"):
        load_or_create_kek(path)


def test_parses_a_kek_from_settings() -> None:
    kek = generate_kek()
    assert parse_kek(encode_kek(kek)) == kek
    assert parse_kek(f"  {encode_kek(kek)}\n") == kek
    for bad in ("", "not base64 at all!", encode_kek(b"short")):
        with pytest.raises(ConfigurationError):
            parse_kek(bad)


def test_sealed_keys_open_only_with_the_same_kek_and_key_id() -> None:
    kek = generate_kek()
    sealed = seal(kek, b"private key bytes", associated_data=b"kid-1")

    assert b"private key bytes" not in sealed
    assert unseal(kek, sealed, associated_data=b"kid-1") == b"private key bytes"
    with pytest.raises(KeyMaterialError):
        unseal(generate_kek(), sealed, associated_data=b"kid-1")
    with pytest.raises(KeyMaterialError):
        unseal(kek, sealed, associated_data=b"kid-2")
    with pytest.raises(KeyMaterialError):
        unseal(kek, b"\x02" + sealed[1:], associated_data=b"kid-1")
    assert seal(kek, b"x", associated_data=b"k") != seal(kek, b"x", associated_data=b"k")
