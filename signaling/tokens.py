"""Secrets handed to clients: random, 128+ bits, compared in constant time."""

from __future__ import annotations

import hmac
import secrets


def new_token() -> str:
    return secrets.token_urlsafe(24)  # 192 bits


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(9)}"


def same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def bearer(header: str | None) -> str | None:
    if header and header.startswith("Bearer "):
        return header[7:].strip() or None
    return None
