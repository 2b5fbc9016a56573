"""Behind a reverse proxy: the client's real address and scheme, believed only from trusted proxies.

Written here rather than taken from aiohttp-remotes: its ``XForwardedStrict``
wants every hop listed in order and refuses requests whose chain differs, and
``XForwardedRelaxed`` believes any peer. PROTOCOL.md asks for neither: when the
TCP peer is inside a trusted network, the client is the rightmost
``X-Forwarded-For`` entry that is not itself a trusted proxy; from anyone else
the headers are ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The client's address for the access log, which sees the request before the clone.
# web.RequestKey exists from aiohttp 3.14 (a plain string key warns there); older ones take a string.
CLIENT_ADDRESS: Any = (
    web.RequestKey("onair_client_address", str) if hasattr(web, "RequestKey") else "onair_client_address"
)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """Which peers may speak for a client, and what they say."""

    def __init__(self, cidrs: Iterable[str]) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(c, strict=False) for c in cidrs]

    def trusts(self, text: str | None) -> bool:
        address = _address(text or "")
        return address is not None and any(address in net for net in self.networks)

    def client_of(self, peer: str | None, forwarded_for: list[str]) -> str | None:
        """The client's address: ``peer`` itself unless it is trusted and forwarded for someone."""
        if not self.trusts(peer):
            return peer
        hops = [hop.strip() for header in forwarded_for for hop in header.split(",") if hop.strip()]
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                return peer  # a garbled chain: believe nothing of it
            if not self.trusts(str(address)):
                return str(address)
        return str(_address(hops[0])) if hops else peer

    def scheme_of(self, peer: str | None, scheme: str, forwarded_proto: str | None) -> str:
        if not self.trusts(peer) or not forwarded_proto:
            return scheme
        proto = forwarded_proto.split(",")[-1].strip().lower()
        return proto if proto in ("http", "https") else scheme


def forwarded_middleware(proxies: TrustedProxies) -> Middleware:
    """A middleware giving each request its real ``remote`` and ``scheme`` (a no-op with no proxies)."""

    @web.middleware
    async def forwarded(request: web.Request, handler: Handler) -> web.StreamResponse:
        if proxies.networks:
            peer = request.remote
            remote = proxies.client_of(peer, request.headers.getall("X-Forwarded-For", []))
            scheme = proxies.scheme_of(peer, request.scheme, request.headers.get("X-Forwarded-Proto"))
            if remote is not None and (remote != peer or scheme != request.scheme):
                request[CLIENT_ADDRESS] = remote
                request = request.clone(remote=remote, scheme=scheme)
        return await handler(request)

    return forwarded
