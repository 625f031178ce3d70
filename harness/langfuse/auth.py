"""Langfuse's project keys over HTTP Basic auth: public key as the user name,
secret key as the password, on both ingestion routes."""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Credentials:
    public_key: str
    secret_key: str

    def __post_init__(self) -> None:
        if not self.public_key or not self.secret_key:
            raise ValueError("a public key and a secret key, both non-empty")
        if ":" in self.public_key:
            raise ValueError("a public key cannot contain ':' (Basic auth splits on it)")


def refusal(authorization: str | None, expected: Credentials | None) -> str | None:
    """Why a request's ``Authorization`` is refused, or None when it passes
    (always, when no keys are configured)."""
    if expected is None:
        return None
    if not authorization:
        return "No authorization header"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic":
        return "Invalid authorization header: Basic auth expected"
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "Invalid authorization header: not base64 of public:secret"
    public, colon, secret = decoded.partition(":")
    # Both compared in constant time, both always compared.
    public_ok = hmac.compare_digest(public.encode(), expected.public_key.encode())
    secret_ok = hmac.compare_digest(secret.encode(), expected.secret_key.encode())
    if not (colon and public_ok and secret_ok):
        return "Invalid credentials. Confirm that you've configured the correct host."
    return None
