"""Who is calling: the one object the rest of the service sees after token validation.

Tokens from our own issuer and from external identity providers are both reduced to a
``Principal``, so policy and auditing never look at raw claims and never need to know
which issuer a caller came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from auth.scopes import Scope


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``force`` is the force code the client is bound to, or ``None`` for a national client
    (the Joint Unit, analysts). ``token_id`` is the token's ``jti`` (or a digest of the token
    when an external issuer sends none) so audit records can name the token without
    holding it.
    """

    subject: str
    client_id: str
    force: str | None
    scopes: frozenset[Scope]
    issuer: str
    token_id: str
    expires_at: datetime

    def has_scopes(self, *required: Scope) -> bool:
        """True if every one of ``required`` was granted."""
        return self.scopes.issuperset(required)

    @property
    def is_force_bound(self) -> bool:
        return self.force is not None
