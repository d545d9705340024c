"""Users and tokens from the environment, password hashing, roles and CSRF tokens.

NIANBAO_WEB_USERS="admin:pbkdf2_sha256$260000$<salt hex>$<hash hex>:admin,alice:<hash>:viewer"
NIANBAO_WEB_TOKENS="ci:<sha256 hex of the token>:viewer" (API: Authorization: Bearer <token>)
NIANBAO_WEB_SECRET signs the session cookie (a random one per process when unset).
Hashes come from `nianbao web hash-password`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

ROLES = ("viewer", "admin")
ITERATIONS = 260_000


class AuthConfigError(ValueError):
    pass


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        algo, iterations, salt, digest = encoded.split("$")
        if algo != "pbkdf2_sha256":
            return False
        computed = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed.hex(), digest)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class User:
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass
class Accounts:
    passwords: dict[str, tuple[str, str]]  # name -> (hash, role)
    tokens: dict[str, User]  # sha256 of token -> user

    def login(self, name: str, password: str) -> User | None:
        entry = self.passwords.get(name)
        if entry is None:
            verify_password(password, hash_password("x", iterations=1000))  # similar work either way
            return None
        return User(name, entry[1]) if verify_password(password, entry[0]) else None

    def by_token(self, token: str) -> User | None:
        digest = hash_token(token)
        for known, user in self.tokens.items():
            if hmac.compare_digest(known, digest):
                return user
        return None


def _entries(value: str, variable: str):
    for item in filter(None, (part.strip() for part in value.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise AuthConfigError(f"{variable}: {item.split(':')[0]!r}: expected name:hash:role")
        if parts[2] not in ROLES:
            raise AuthConfigError(f"{variable}: {parts[0]!r}: role must be one of {', '.join(ROLES)}, not {parts[2]!r}")
        yield parts


def accounts_from_env(env: dict | None = None) -> Accounts:
    env = os.environ if env is None else env
    passwords = {}
    for name, encoded, role in _entries(env.get("NIANBAO_WEB_USERS", ""), "NIANBAO_WEB_USERS"):
        if not encoded.startswith("pbkdf2_sha256$") or encoded.count("$") != 3:
            raise AuthConfigError(f"NIANBAO_WEB_USERS: {name!r}: the hash must come from `nianbao web hash-password`")
        passwords[name] = (encoded, role)
    tokens = {}
    for name, digest, role in _entries(env.get("NIANBAO_WEB_TOKENS", ""), "NIANBAO_WEB_TOKENS"):
        if len(digest) != 64:
            raise AuthConfigError(f"NIANBAO_WEB_TOKENS: {name!r}: give the sha256 hex of the token, not the token")
        tokens[digest.lower()] = User(name, role)
    return Accounts(passwords, tokens)


def new_csrf() -> str:
    return secrets.token_urlsafe(32)
