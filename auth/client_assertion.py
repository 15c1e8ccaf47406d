"""``private_key_jwt`` client authentication (RFC 7523 §2.2) for force systems with a key pair.

authlib's ``JWTBearerClientAssertion`` does the protocol; this subclass pins what it
leaves open:

* the algorithms: asymmetric only, so a client's public key can never be used as an
  HMAC secret (authlib would otherwise accept joserfc's default list);
* the clock: the injected one, so tests can move time;
* the audience: our issuer or our token endpoint URL;
* the lifetime: an assertion may not claim to live more than an hour;
* replay: each ``jti`` is recorded in ``auth_client_assertions`` until the assertion
  expires, inside a savepoint so a replay is refused without spoiling the transaction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from joserfc import jwk, jwt
from joserfc.errors import JoseError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from auth.clock import Clock, from_epoch, to_epoch
from auth.models import ClientAssertion
from auth.settings import ASYMMETRIC_ALGORITHMS

PRIVATE_KEY_JWT: Final = "private_key_jwt"
ASSERTION_ALGORITHMS: Final = sorted(ASYMMETRIC_ALGORITHMS)
MAX_ASSERTION_LIFETIME: Final = timedelta(hours=1)
_MAX_JTI_LENGTH: Final = 128


def record_assertion_jti(
    session: Session, *, client_id: str, jti: str, expires_at_epoch: int
) -> bool:
    """Remember ``jti`` for ``client_id``; False if it was already used (a replay)."""
    try:
        with session.begin_nested():
            session.add(
                ClientAssertion(
                    client_id=client_id, jti=jti, expires_at=from_epoch(expires_at_epoch)
                )
            )
    except IntegrityError:
        return False
    return True


class PrivateKeyJWTAuthentication(JWTBearerClientAssertion):  # type: ignore[misc]
    """The ``private_key_jwt`` method, registered on the authorization server."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __init__(
        self, session: Session, *, audiences: list[str], clock: Clock, leeway: int
    ) -> None:
        super().__init__(validate_jti=True, leeway=leeway)
        self._session = session
        self._audiences = audiences
        self._clock = clock

    def get_audiences(self) -> list[str]:
        return self._audiences

    def resolve_client_public_key(self, client: Any) -> jwk.Key:
        public = getattr(client, "public_jwk", None)
        if not public:
            raise InvalidClientError(description="The client has no registered key")
        return jwk.import_key(dict(public))

    def process_assertion_claims(self, assertion: str, resolve_key: Any) -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, resolve_key, algorithms=ASSERTION_ALGORITHMS)
        except (JoseError, ValueError) as exc:
            raise InvalidClientError(description="Invalid client assertion") from exc
        self.verify_claims(token.claims)
        return token.claims

    def verify_claims(self, claims: dict[str, Any]) -> None:
        now = to_epoch(self._clock())
        registry = jwt.JWTClaimsRegistry(
            now=now,
            leeway=self.leeway,
            iss={"essential": True},
            sub={"essential": True},
            aud={"essential": True, "values": self.get_audiences()},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClientError(description="Invalid client assertion") from exc
        if claims["sub"] != claims["iss"]:
            raise InvalidClientError(description="Invalid client assertion")
        if claims["exp"] > now + MAX_ASSERTION_LIFETIME.total_seconds() + self.leeway:
            raise InvalidClientError(description="The client assertion lives too long")
        jti = claims["jti"]
        if len(jti) > _MAX_JTI_LENGTH or not self.validate_jti(claims, jti):
            raise InvalidClientError(description="The client assertion was already used")

    def validate_jti(self, claims: dict[str, Any], jti: str) -> bool:
        return record_assertion_jti(
            self._session, client_id=claims["sub"], jti=jti, expires_at_epoch=int(claims["exp"])
        )
