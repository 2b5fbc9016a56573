"""signaling/http/proxy.py: whose address and scheme a request has, and who may say so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from signaling.http.accesslog import AccessLogger
from signaling.http.proxy import TrustedProxies, forwarded_middleware

PROXIES = TrustedProxies(["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"])
PROXY = "10.0.0.1"


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        (["198.51.100.7"], "198.51.100.7"),
        (["198.51.100.7, 10.0.0.2"], "198.51.100.7"),  # a second proxy of ours in between
        (["203.0.113.66, 198.51.100.7"], "198.51.100.7"),  # what the client claimed, left of the truth
        (["203.0.113.66", "198.51.100.7, 10.0.0.3"], "198.51.100.7"),  # several headers, in order
        (["10.0.0.5, 10.0.0.6"], "10.0.0.5"),  # every hop ours: the first one
        ([" 198.51.100.7 ,10.0.0.2 "], "198.51.100.7"),
    ],
)
def test_the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(chain: list[str], client: str) -> None:
    assert PROXIES.client_of(PROXY, chain) == client


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        ([], PROXY),
        ([""], PROXY),
        ([" , ,"], PROXY),
        (["198.51.100.7, unknown"], PROXY),  # garbage where the client should be: believe nothing
        (["198.51.100.7, 1.2.3.4.5"], PROXY),
        (["198.51.100.7, 10.0.0.2, <script>"], PROXY),
        (["not-an-address, 198.51.100.7"], "198.51.100.7"),  # garbage left of the client is not read
        (["_hidden, 198.51.100.7"], "198.51.100.7"),
    ],
)
def test_a_missing_or_garbled_chain_leaves_the_proxys_address(chain: list[str], client: str) -> None:
    assert PROXIES.client_of(PROXY, chain) == client


@pytest.mark.parametrize(
    ("chain", "client"),
    [
        (["198.51.100.7:51234"], "198.51.100.7"),
        (["198.51.100.7, 10.0.0.2:8080"], "198.51.100.7"),  # a trusted hop with its port is still ours
        (["[2001:db8::5]:443"], "2001:db8::5"),
        (["[2001:db8::5]"], "2001:db8::5"),
        (["2001:DB8:0:0::5"], "2001:db8::5"),  # one spelling per address, for bans and limits
        (["2001:db8::5, fd00::7"], "2001:db8::5"),
        (["::ffff:198.51.100.7"], "198.51.100.7"),  # v4-mapped is the IPv4 client
        (["[::ffff:198.51.100.7]:80"], "198.51.100.7"),
        (["198.51.100.7, ::ffff:10.0.0.9"], "198.51.100.7"),  # a v4-mapped proxy of ours
    ],
)
def test_ports_ipv6_and_v4_mapped_addresses(chain: list[str], client: str) -> None:
    assert PROXIES.client_of(PROXY, chain) == client


@pytest.mark.parametrize("peer", ["::1", "fd00::2", "::ffff:10.0.0.1", "127.0.0.1"])
def test_trusted_peers_in_any_spelling(peer: str) -> None:
    assert PROXIES.client_of(peer, ["198.51.100.7"]) == "198.51.100.7"


@pytest.mark.parametrize("peer", ["192.0.2.1", "127.0.0.2", "::2", "fe80::1", "11.0.0.1", "", None])
def test_an_untrusted_peer_is_its_own_address_whatever_it_claims(peer: str | None) -> None:
    assert PROXIES.client_of(peer, ["198.51.100.7"]) == peer
    assert PROXIES.scheme_of(peer, "http", "https") == "http"


def test_no_trusted_proxy_trusts_nobody() -> None:
    nobody = TrustedProxies([])
    assert nobody.client_of("127.0.0.1", ["198.51.100.7"]) == "127.0.0.1"
    assert not nobody.trusts("127.0.0.1")


def test_a_network_with_host_bits_is_taken_as_its_network() -> None:
    assert TrustedProxies(["10.1.2.3/8"]).trusts("10.200.0.1")


@pytest.mark.parametrize(
    ("header", "scheme"),
    [("https", "https"), ("HTTPS", "https"), ("http, https", "https"), ("https, http", "http"),
     ("ftp", "http"), ("", "http"), (None, "http")],
)
def test_the_scheme_is_the_last_proto_from_a_trusted_peer(header: str | None, scheme: str) -> None:
    assert PROXIES.scheme_of(PROXY, "http", header) == scheme


# ---- the middleware on a real server -----------------------------------------------------------

Echo = Callable[..., Awaitable[dict]]


async def _whoami(request: web.Request) -> web.Response:
    return web.json_response({"remote": request.remote, "scheme": request.scheme, "host": request.host})


@pytest.fixture
async def echo(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Echo]:
    """``await echo(trusted, local_ip, headers)``: what a handler behind the middleware sees."""
    servers: list[TestServer] = []

    async def ask(trusted: list[str], local_ip: str, headers: dict[str, str]) -> dict:
        app = web.Application(middlewares=[forwarded_middleware(TrustedProxies(trusted))])
        app.router.add_get("/whoami", _whoami)
        server = TestServer(app, host="127.0.0.1")
        servers.append(server)
        await server.start_server(access_log_class=AccessLogger, access_log=logging.getLogger("test.access"))
        connector = aiohttp.TCPConnector(local_addr=(local_ip, 0))
        async with aiohttp.ClientSession(connector=connector) as http, \
                http.get(server.make_url("/whoami"), headers=headers) as resp:
            return dict(await resp.json())

    with caplog.at_level(logging.INFO, logger="test.access"):
        yield ask
    for server in servers:
        await server.close()


async def access_line(caplog: pytest.LogCaptureFixture) -> str:
    """The access log's line for the request (written just after the answer left)."""
    for _ in range(100):
        lines = [r.getMessage() for r in caplog.records if r.name == "test.access"]
        if lines:
            return lines[-1]
        await asyncio.sleep(0.02)
    raise AssertionError("no access log line")


FORWARDED = {"X-Forwarded-For": "203.0.113.66, 198.51.100.7", "X-Forwarded-Proto": "https"}


async def test_behind_a_trusted_proxy_the_handler_and_the_access_log_see_the_client(
    echo: Echo, caplog: pytest.LogCaptureFixture
) -> None:
    seen = await echo(["127.0.0.1/32"], "127.0.0.1", FORWARDED)
    assert (seen["remote"], seen["scheme"]) == ("198.51.100.7", "https")
    assert seen["host"].startswith("127.0.0.1:")
    assert (await access_line(caplog)).startswith('198.51.100.7 "GET /whoami"')


@pytest.mark.parametrize(
    ("trusted", "local_ip"),
    [([], "127.0.0.1"), (["127.0.0.1/32"], "127.0.0.2")],
    ids=["no-trusted-proxy", "untrusted-peer"],
)
async def test_the_same_headers_from_anyone_else_change_nothing(
    echo: Echo, caplog: pytest.LogCaptureFixture, trusted: list[str], local_ip: str
) -> None:
    seen = await echo(trusted, local_ip, FORWARDED)
    assert (seen["remote"], seen["scheme"]) == (local_ip, "http")
    assert (await access_line(caplog)).startswith(f'{local_ip} "GET /whoami"')
