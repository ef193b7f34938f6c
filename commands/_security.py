"""Password hashing (argon2id) and signed tokens (JWT, HS256), shared by the auth commands and the web layer."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.errors import Unauthorized

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return _hasher.hash("dummy password that matches nothing")


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown account) a dummy hash is checked so the time is the same."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


class TokenExpired(Unauthorized):
    """A correctly signed token past its ``exp``."""

    code = "token_expired"


@dataclass(frozen=True)
class TokenSigner:
    """Signs and checks JWTs with the deployment's secret key (HS256). ``typ`` separates the token kinds."""

    secret: str
    algorithm: str = "HS256"

    def sign(self, typ: str, ttl_s: float, **claims: Any) -> tuple[str, dict[str, Any]]:
        """A token of kind ``typ`` valid for ``ttl_s`` seconds, and its claims (with ``jti`` and ``exp``)."""
        now = int(time.time())
        body = {**claims, "typ": typ, "jti": uuid.uuid4().hex, "iat": now, "exp": now + int(ttl_s)}
        return jwt.encode(body, self.secret, algorithm=self.algorithm), body

    def check(self, token: str, typ: str, *, verify_exp: bool = True) -> dict[str, Any]:
        """The claims of a genuine token of kind ``typ``; Unauthorized (``invalid_token``/``token_expired``) else."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.secret,
                algorithms=[self.algorithm],
                options={"require": ["exp", "jti", "typ"], "verify_exp": verify_exp},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("The token has expired: sign in again or refresh it.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token is not valid: sign in again.", code="invalid_token") from None
        if claims.get("typ") != typ:
            raise Unauthorized("The token is not valid here: sign in again.", code="invalid_token")
        return claims
