"""ICE settings of the media plane: which addresses to gather on, which servers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer


@dataclass(frozen=True)
class TurnServers:
    """TURN URLs for the server's own peer connections, and where their credentials come from.

    The credentials are short-lived (the TURN REST API convention), so each
    peer connection asks ``credentials()`` for a fresh ``(username, password)``.
    aiortc uses only the first TURN URL.
    """

    urls: Sequence[str]
    credentials: Callable[[], tuple[str, str]]

    def ice_server(self) -> RTCIceServer:
        username, credential = self.credentials()
        return RTCIceServer(urls=list(self.urls), username=username, credential=credential)


_turn: TurnServers | None = None


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


def relay_through(turn: TurnServers | None) -> None:
    """Make every peer connection of this process also gather relay candidates on ``turn``.

    Process-wide like ``gather_on``: the routers hand their peers only the STUN
    URLs, and the TURN credentials must be minted per connection. ``None``
    stops using TURN.
    """
    global _turn
    _turn = turn


def rtc_configuration(ice_servers: Sequence[str]) -> RTCConfiguration:
    """An RTCConfiguration with exactly these STUN URLs (none: no server at all), plus TURN if set."""
    servers = [RTCIceServer(urls=url) for url in ice_servers]
    if _turn is not None:
        servers.append(_turn.ice_server())
    return RTCConfiguration(iceServers=servers)
