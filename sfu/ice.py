"""ICE settings of the media plane: which addresses to gather on, which servers."""

from __future__ import annotations

from collections.abc import Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer


def gather_on(addresses: Sequence[str]) -> None:
    """Make every peer connection of this process gather host candidates on ``addresses``.

    aioice reads its host addresses from one module-level function and skips
    127.0.0.1; the server's ``--media-address`` setting replaces it. An empty
    list keeps aioice's default (every interface but loopback).
    """
    if not addresses:
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def rtc_configuration(ice_servers: Sequence[str]) -> RTCConfiguration:
    """An RTCConfiguration with exactly these STUN/TURN URLs (none: no server at all)."""
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
