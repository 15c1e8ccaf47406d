"""Every exception the ``auth`` package raises, and what a client is told about it.

Third-party errors (joserfc, authlib, argon2, cryptography, httpx, SQLAlchemy integrity
errors) are caught where they enter and re-raised as one of these, so callers catch our
types only. The tree::

    AuthError                       base of everything raised by auth/
    ├── ConfigurationError          settings or key files unusable: refuse to start
    │   └── InsecureKeyFileError    KEK file is a symlink, not ours, or group/world accessible
    ├── KeyMaterialError            a stored private key cannot be decrypted (wrong KEK?)
    ├── ClientRegistrationError     create_client refused its input (also a ValueError)
    ├── UnknownClientError          no client with that id (also a LookupError)
    ├── JWKSFetchError              an external issuer's JWKS could not be fetched or parsed
    └── AccessDeniedError           a request is refused; carries its HTTP status and code
        │                           (also starlette's AuthenticationError, so the
        │                           AuthenticationMiddleware hands it to ``on_error``)
        ├── InvalidRequestError     400 error="invalid_request" (token in the query string)
        ├── MissingTokenError       401 ``Bearer realm=...`` with no error attribute
        ├── InvalidTokenError       401 error="invalid_token"
        ├── InsufficientScopeError  403 error="insufficient_scope", scope="..."
        ├── WrongForceError         403 error="insufficient_scope", code "wrong_force"
        └── RateLimitedError        429 with Retry-After

``AccessDeniedError.description`` is always a fixed sentence (a ``TokenFault`` or a class
default), never text that came from the token or from a library, so error responses
cannot leak token contents or internal details.
"""

from __future__ import annotations

from enum import StrEnum

from starlette.authentication import AuthenticationError


class AuthError(Exception):
    """Base class of every exception raised by the auth package."""


class ConfigurationError(AuthError):
    """Settings, key files or issuer configuration are unusable."""


class InsecureKeyFileError(ConfigurationError):
    """The key-encryption key file could be read or replaced by someone else."""


class KeyMaterialError(AuthError):
    """A stored signing key cannot be used (wrong KEK, corrupted row)."""


class ClientRegistrationError(AuthError, ValueError):
    """``create_client`` was given scopes, a force or a JWK it must refuse."""


class UnknownClientError(AuthError, LookupError):
    """No client has the given id."""


class JWKSFetchError(AuthError):
    """An external issuer's key set could not be fetched or parsed."""


class AccessDeniedError(AuthError, AuthenticationError):
    """A request is refused. Subclasses fix the status, RFC 6750 error and problem code."""

    status_code: int = 401
    code: str = "access_denied"
    title: str = "Access denied"
    bearer_error: str | None = None

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class InvalidRequestError(AccessDeniedError):
    status_code = 400
    code = "invalid_request"
    title = "Invalid request"
    bearer_error = "invalid_request"


class MissingTokenError(AccessDeniedError):
    status_code = 401
    code = "missing_token"
    title = "Authentication required"
    bearer_error = None

    def __init__(self, description: str = "A bearer access token is required") -> None:
        super().__init__(description)


class InvalidTokenError(AccessDeniedError):
    status_code = 401
    code = "invalid_token"
    title = "Invalid access token"
    bearer_error = "invalid_token"


class InsufficientScopeError(AccessDeniedError):
    status_code = 403
    code = "insufficient_scope"
    title = "Insufficient scope"
    bearer_error = "insufficient_scope"

    def __init__(self, required: str, description: str | None = None) -> None:
        noun = "scopes" if " " in required else "scope"
        super().__init__(description or f"This action requires the {noun}: {required}")
        #: Space-separated scopes the action needs, sent as ``scope="..."`` (RFC 6750 §3).
        self.required_scope = required


class WrongForceError(AccessDeniedError):
    status_code = 403
    code = "wrong_force"
    title = "Forbidden for this force"
    bearer_error = "insufficient_scope"

    def __init__(
        self, description: str = "The token does not allow access to this force's data"
    ) -> None:
        super().__init__(description)


class RateLimitedError(AccessDeniedError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"
    bearer_error = None

    def __init__(self, retry_after: int) -> None:
        super().__init__("Request rate limit exceeded; retry after the given delay")
        self.retry_after = retry_after


class TokenFault(StrEnum):
    """The fixed descriptions of ``InvalidTokenError`` and ``InvalidRequestError``.

    Tests compare against these, and nothing else is ever put in an ``error_description``.
    """

    MALFORMED = "The access token is malformed"
    EXPIRED = "The access token has expired"
    NOT_YET_VALID = "The access token is not yet valid"
    BAD_SIGNATURE = "The access token signature is invalid"
    UNTRUSTED_ISSUER = "The access token was not issued by a trusted issuer"
    WRONG_AUDIENCE = "The access token is not intended for this service"
    UNKNOWN_KEY = "The access token was signed with an unknown key"
    KEYS_UNAVAILABLE = "The issuer's signing keys are unavailable"
    BAD_ALGORITHM = "The access token signing algorithm is not allowed"
    BAD_TYPE = "The access token type must be at+jwt"
    BAD_CLAIMS = "The access token claims are invalid"
    REVOKED = "The access token has been revoked"
    IN_QUERY = "Access tokens are refused in the query string; send an Authorization: Bearer header"
    BAD_HEADER = "The Authorization header must be 'Bearer <token>' and appear once"
