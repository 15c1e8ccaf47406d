"""Building the audit trail from ``Settings``: where the keys live, how often to sign.

One place decides the file layout under the var directory, so the gateway, the CLI and
an auditor's verification all look in the same places:

``<var>/audit-signing-key.pem``   the checkpoint signing key (0600, created if absent)
``<var>/audit-public-keys.json``  every public key the gateway ever signed with (copy it
                                  somewhere the gateway cannot write, and verify with that)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gateway.audit.keyring import KEYRING_FILE_NAME, add_to_keyring
from gateway.audit.signing import KEY_FILE_NAME, PublicKey, load_or_create_signer, replace_signer
from gateway.audit.trail import AuditTrail
from gateway.settings import Settings

# Six years: the common retention for law-enforcement processing logs; override per force
# agreement with SOTERIA_AUDIT_RETENTION_DAYS once Settings carries it.
DEFAULT_RETENTION_DAYS: Final = 2192


@dataclass(frozen=True, slots=True)
class AuditSettings:
    key_path: Path
    keyring_path: Path
    checkpoint_every: int = 1000
    retention_days: int = DEFAULT_RETENTION_DAYS
    purposes: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditSettings:
        retention = getattr(settings, "audit_retention_days", DEFAULT_RETENTION_DAYS)
        return cls(
            key_path=settings.var_dir / KEY_FILE_NAME,
            keyring_path=settings.var_dir / KEYRING_FILE_NAME,
            checkpoint_every=settings.audit_checkpoint_every,
            retention_days=int(retention),
            purposes=settings.purposes,
        )

    def retention_cut(self, now: dt.datetime) -> dt.datetime:
        """Events that occurred before this moment are due for archiving."""
        return now - dt.timedelta(days=self.retention_days)


def open_trail(settings: AuditSettings) -> AuditTrail:
    """The trail, signing with the key file (created if absent, and added to the keyring)."""
    signer = load_or_create_signer(settings.key_path)
    add_to_keyring(settings.keyring_path, signer.public_key())
    return AuditTrail(signer, checkpoint_every=settings.checkpoint_every)


def rotate_key(settings: AuditSettings) -> PublicKey:
    """Replace the signing key; the new public key joins the keyring, the old one stays."""
    signer = replace_signer(settings.key_path)
    add_to_keyring(settings.keyring_path, signer.public_key())
    return signer.public_key()
