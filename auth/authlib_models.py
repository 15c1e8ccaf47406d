"""Our rows and requests in the shapes authlib's server classes expect.

authlib is framework-neutral: it wants a client object implementing ``ClientMixin``, a
token object implementing ``TokenMixin`` and an ``OAuth2Request`` carrying method, URI,
headers and form. These classes are those shapes and nothing more; all decisions stay in
``auth.authorization_server`` and the modules it calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, TokenMixin
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy.orm import Session

from auth.clients import verify_client_secret
from auth.clock import to_epoch
from auth.models import Client
from auth.principal import Principal
from auth.revocation import is_token_live
from auth.scopes import Scope, format_scopes, parse_scopes

CLIENT_CREDENTIALS = "client_credentials"
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post"})


class FormRequest(OAuth2Request):  # type: ignore[misc]
    """An OAuth2Request built from an already-read, already-checked form body.

    ``uri`` is our configured public endpoint URL rather than the URL the request
    arrived on: behind a TLS-terminating proxy the latter is ``http://`` and authlib
    would refuse it as insecure transport.
    """

    def __init__(
        self, method: str, uri: str, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = dict(form)
        self.payload = BasicOAuth2Payload(self._form)

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


class OAuthClient(ClientMixin):  # type: ignore[misc]
    """A registered client, as authlib sees it. Only the client credentials grant."""

    def __init__(self, row: Client) -> None:
        self.row = row
        self.client_id = row.client_id
        self.public_jwk = row.public_jwk
        self.allowed_scopes: frozenset[Scope] = parse_scopes(row.scopes, strict=False)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        return format_scopes(parse_scopes(scope, strict=False) & self.allowed_scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return False

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_client_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """Key-pair clients use only private_key_jwt; secret clients only their secret."""
        if self.public_jwk is not None:
            return method == "private_key_jwt"
        return method in SECRET_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return False

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == CLIENT_CREDENTIALS


class IssuedTokenView(TokenMixin):  # type: ignore[misc]
    """One of our own access tokens, verified, as revocation and introspection see it."""

    def __init__(self, session: Session, principal: Principal, claims: Mapping[str, Any]) -> None:
        self._session = session
        self.principal = principal
        self.claims = claims

    def check_client(self, client: OAuthClient) -> bool:
        return self.principal.client_id == client.get_client_id()

    def get_scope(self) -> str:
        return format_scopes(self.principal.scopes)

    def get_expires_in(self) -> int:
        return int(self.claims["exp"]) - int(self.claims["iat"])

    def is_expired(self) -> bool:
        return False  # verified against the clock when the view was built

    def is_revoked(self) -> bool:
        return not is_token_live(
            self._session, jti=self.principal.token_id, client_id=self.principal.client_id
        )

    def introspection(self) -> dict[str, Any]:
        """The RFC 7662 §2.2 body for an active token."""
        body: dict[str, Any] = {
            "active": True,
            "token_type": "Bearer",
            "scope": self.get_scope(),
            "client_id": self.principal.client_id,
            "sub": self.principal.subject,
            "iss": self.principal.issuer,
            "aud": self.claims["aud"],
            "exp": to_epoch(self.principal.expires_at),
            "iat": int(self.claims["iat"]),
            "jti": self.principal.token_id,
        }
        if self.principal.force is not None:
            body["force"] = self.principal.force
        return body
