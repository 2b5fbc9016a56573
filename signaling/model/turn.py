"""Short-lived TURN credentials, the TURN REST API way (coturn's ``use-auth-secret``).

The username is ``"<unix expiry>:<random id>"`` and the password is
``base64(HMAC-SHA1(secret, username))``. coturn, given the same
``static-auth-secret``, recomputes the password and refuses a username whose
expiry has passed, so the secret never leaves the server and a leaked
credential dies by itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sfu.ice import TurnServers

from ..config import Settings


def credential_for(secret: str, username: str) -> str:
    """The TURN password of ``username``: base64 of its HMAC-SHA1 under ``secret``."""
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def expiry_of(username: str) -> int | None:
    """The unix time a minted username stops working (None: not one of ours)."""
    head, sep, _ = username.partition(":")
    return int(head) if sep and head.isdigit() else None


@dataclass(frozen=True)
class TurnRelay:
    """The operator's TURN servers and their shared secret; mints a fresh credential per call."""

    urls: Sequence[str]
    secret: str
    ttl_s: int = 3600

    def credentials(self, now: float | None = None) -> tuple[str, str]:
        """A new ``(username, password)`` valid for ``ttl_s`` seconds from ``now``."""
        expiry = int(time.time() if now is None else now) + self.ttl_s
        username = f"{expiry}:{secrets.token_urlsafe(12)}"
        return username, credential_for(self.secret, username)

    def ice_server(self, now: float | None = None) -> dict[str, Any]:
        """An ``RTCIceServer`` entry for the page: every URL, one fresh credential."""
        username, credential = self.credentials(now)
        return {"urls": list(self.urls), "username": username, "credential": credential}


def turn_relay(settings: Settings) -> TurnRelay | None:
    """The relay of ``--turn-url`` and ``--turn-secret``: None unless both are set."""
    if not settings.turn_urls or not settings.turn_secret:
        return None
    return TurnRelay(tuple(settings.turn_urls), settings.turn_secret, settings.turn_ttl_s)


def server_side_turn(settings: Settings) -> TurnServers | None:
    """What the media worker relays through: the same TURN servers, if ``--turn-server-side``."""
    relay = turn_relay(settings)
    if relay is None or not settings.turn_server_side:
        return None
    return TurnServers(relay.urls, relay.credentials)
