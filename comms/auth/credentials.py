"""Password hashing (argon2id), API key minting and console JWTs."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from comms.auth.models import Role
from comms.db.base import utcnow

API_KEY_PREFIX = "hk_"


class Passwords:
    def __init__(self, time_cost: int = 3, memory_kib: int = 65536) -> None:
        self._ph = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib)
        # Verified against when the e-mail is unknown, so both paths cost the same time.
        self._dummy = self._ph.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return str(self._ph.hash(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return bool(self._ph.verify(stored_hash or self._dummy, password)) and bool(stored_hash)
        except (VerificationError, InvalidHashError):
            return False


@dataclass(frozen=True)
class MintedKey:
    prefix: str
    secret: str  # the whole key, shown once
    digest: str


def mint_api_key() -> MintedKey:
    prefix = secrets.token_hex(6)
    secret = f"{API_KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    return MintedKey(prefix, secret, digest_key(secret))


def digest_key(secret: str) -> str:
    # API keys carry 256 random bits, so a plain SHA-256 is as strong as a slow hash here and
    # keeps per-request verification cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(token: str) -> str | None:
    """The key's lookup prefix, or None when the token is not shaped like one of our keys."""
    if not token.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, rest = token[len(API_KEY_PREFIX) :].partition("_")
    return prefix if sep and rest and len(prefix) == 12 else None


def key_matches(secret: str, digest: str) -> bool:
    return hmac.compare_digest(digest_key(secret), digest)


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    tenant_id: uuid.UUID


class Tokens:
    def __init__(self, key: str, ttl_seconds: int) -> None:
        self._key = key
        self.ttl = ttl_seconds

    def issue(self, user_id: uuid.UUID, tenant_id: uuid.UUID, role: Role) -> str:
        now = utcnow()
        claims = {
            "sub": str(user_id),
            "tid": str(tenant_id),
            "role": role.value,
            "iat": now,
            "exp": now + timedelta(seconds=self.ttl),
            "typ": "console",
        }
        return jwt.encode(claims, self._key, algorithm="HS256")

    def read(self, token: str) -> TokenClaims | None:
        try:
            claims = jwt.decode(
                token, self._key, algorithms=["HS256"], options={"require": ["sub", "tid", "exp"]}
            )
            return TokenClaims(uuid.UUID(claims["sub"]), uuid.UUID(claims["tid"]))
        except (jwt.PyJWTError, ValueError, KeyError):
            return None
