"""TURN for real: credentials minted per /api/config request, checked by a real coturn.

coturn (tests/daemons.py) runs in ``use-auth-secret`` mode on loopback. It must
take what the server mints from the same secret, and refuse what is minted from
another secret or has expired; a listener that may only relay hears the show
through it; the server's own peer connections gather a relay candidate on it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint
from aiortc import RTCConfiguration, RTCIceServer, RTCIceTransportPolicy, RTCPeerConnection

from sfu import Counters, Producer, SubscriberPeer
from sfu.ice import relay_through
from signaling.config import ConfigError, Settings, build_parser, settings_from_args
from signaling.model.turn import TurnRelay, credential_for, expiry_of, server_side_turn, turn_relay
from tests.clients import RoomClient
from tests.daemons import Coturn
from tests.helpers import MakeServer, create_room, url_of, wait_for

SECRET = "the-coturn-static-auth-secret"
STUN = "stun:127.0.0.1:3478"


# ---- the credentials ---------------------------------------------------------------------------


def test_a_credential_is_the_base64_hmac_sha1_of_its_username() -> None:
    relay = TurnRelay(["turn:turn.example.org:3478"], SECRET, ttl_s=600)
    username, credential = relay.credentials(now=1_700_000_000.7)
    expiry, _, ident = username.partition(":")
    assert expiry == "1700000600" and expiry_of(username) == 1_700_000_600
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", ident), ident
    expected = hmac.new(SECRET.encode(), username.encode(), hashlib.sha1).digest()
    assert base64.b64decode(credential, validate=True) == expected
    assert credential == credential_for(SECRET, username)
    assert credential != credential_for("another secret", username)


def test_every_credential_is_new_and_expires_ttl_seconds_from_now() -> None:
    relay = TurnRelay(["turn:a", "turns:b:5349?transport=tcp"], SECRET, ttl_s=3600)
    before = int(time.time())
    entries = [relay.ice_server() for _ in range(50)]
    after = int(time.time())
    assert len({e["username"] for e in entries}) == 50
    for entry in entries:
        assert entry["urls"] == ["turn:a", "turns:b:5349?transport=tcp"]
        assert before + 3600 <= (expiry_of(entry["username"]) or 0) <= after + 3600
        assert entry["credential"] == credential_for(SECRET, entry["username"])


@pytest.mark.parametrize("username", ["", "alice", ":x", "12ab:x", "-5:x"])
def test_a_username_that_is_not_ours_has_no_expiry(username: str) -> None:
    assert expiry_of(username) is None


@pytest.mark.parametrize(
    ("urls", "secret", "server_side"),
    [([], SECRET, True), (["turn:a"], None, True), (["turn:a"], "", True), (["turn:a"], SECRET, False)],
)
def test_no_relay_without_urls_and_secret_and_none_server_side_unless_asked(
    urls: list[str], secret: str | None, server_side: bool
) -> None:
    settings = Settings(turn_urls=urls, turn_secret=secret, turn_server_side=server_side)
    assert server_side_turn(settings) is None
    assert (turn_relay(settings) is None) == (not urls or not secret)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--turn-url", "turn:a"], "--turn-secret"),
        (["--turn-secret", "s"], "--turn-url"),
        (["--ice-transport-policy", "relay"], "--turn-url"),
        (["--turn-server-side"], "--turn-url"),
        (["--ice-transport-policy", "none"], "--ice-transport-policy"),
    ],
)
def test_turn_settings_that_cannot_work_are_refused_at_start(flags: list[str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        settings_from_args(build_parser().parse_args(["serve", *flags]), env={})


def test_turn_settings_that_work_together() -> None:
    flags = ["--turn-url", "turn:a", "--turn-secret", "s", "--ice-transport-policy", "relay",
             "--turn-server-side", "--turn-ttl", "600"]
    settings = settings_from_args(build_parser().parse_args(["serve", *flags]), env={})
    assert (settings.turn_urls, settings.turn_secret, settings.turn_ttl_s) == (["turn:a"], "s", 600)
    assert settings.ice_transport_policy == "relay" and settings.turn_server_side


# ---- GET /api/config ---------------------------------------------------------------------------


async def get_config(base_url: str) -> dict:
    async with aiohttp.ClientSession() as http, http.get(f"{base_url}/api/config") as resp:
        assert resp.status == 200
        return dict(await resp.json())


async def test_config_lists_stun_and_fresh_turn_credentials_per_request(make_server: MakeServer) -> None:
    urls = ["turn:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=tcp"]
    server = await make_server(ice_servers=[STUN], turn_urls=urls, turn_secret=SECRET, turn_ttl_s=120,
                               ice_transport_policy="relay")
    base = url_of(server)
    first, second = await get_config(base), await get_config(base)
    assert first["ice_transport_policy"] == "relay"
    for config in (first, second):
        stun_entry, turn_entry = config["ice_servers"]
        assert stun_entry == {"urls": STUN}
        assert turn_entry["urls"] == urls
        assert turn_entry["credential"] == credential_for(SECRET, turn_entry["username"])
        assert abs((expiry_of(turn_entry["username"]) or 0) - (time.time() + 120)) < 5
        assert SECRET not in str(config)
    assert first["ice_servers"][1]["username"] != second["ice_servers"][1]["username"]


async def test_config_without_a_secret_offers_no_turn_and_policy_all(make_server: MakeServer) -> None:
    base = url_of(await make_server(ice_servers=[STUN], turn_urls=["turn:127.0.0.1:3478"]))
    config = await get_config(base)
    assert config["ice_servers"] == [{"urls": STUN}]
    assert config["ice_transport_policy"] == "all"


# ---- a real coturn -----------------------------------------------------------------------------


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Coturn]:
    with Coturn(tmp_path / "coturn", SECRET) as server:
        yield server


class _Sink(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[bytes, Any]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.received.put_nowait((data, addr))


async def allocate(coturn: Coturn, username: str, password: str) -> Any:
    transport, _ = await create_turn_endpoint(asyncio.DatagramProtocol, ("127.0.0.1", coturn.port),
                                              username, password, lifetime=60)
    return transport


async def test_coturn_relays_with_minted_credentials(coturn: Coturn) -> None:
    loop = asyncio.get_running_loop()
    peer, sink = await loop.create_datagram_endpoint(_Sink, local_addr=("127.0.0.1", 0))
    relay = await allocate(coturn, *TurnRelay([coturn.url], SECRET, 60).credentials())
    try:
        relayed_host, relayed_port = relay.get_extra_info("sockname")  # the relayed address
        assert relayed_host == "127.0.0.1" and coturn.min_port <= relayed_port <= coturn.max_port
        relay.sendto(b"through the relay", peer.get_extra_info("sockname"))
        data, source = await asyncio.wait_for(sink.received.get(), 5)
        assert data == b"through the relay" and source == (relayed_host, relayed_port)
    finally:
        relay.close()
        peer.close()


@pytest.mark.parametrize(
    "mint",
    [
        lambda: TurnRelay(["x"], "not the secret", 60).credentials(),
        lambda: TurnRelay(["x"], SECRET, 3600).credentials(now=time.time() - 7200),  # expired an hour ago
        lambda: ("4102444800:someone", "made-up"),
        lambda: ("4102444800:someone", credential_for(SECRET, "4102444801:someone")),
    ],
    ids=["wrong-secret", "expired", "made-up", "credential-of-another-username"],
)
async def test_coturn_refuses_what_the_secret_did_not_mint(coturn: Coturn, mint: Any) -> None:
    with pytest.raises(stun.TransactionFailed) as refused:
        await allocate(coturn, *mint())
    assert refused.value.response.attributes["ERROR-CODE"][0] in (401, 438), refused.value.response


class RelayOnlyClient(RoomClient):
    """A listener whose ``sub`` connection may only use TURN (iceTransportPolicy relay)."""

    def __init__(self, *args: Any, ice_server: dict, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.configuration = RTCConfiguration(
            iceServers=[RTCIceServer(**ice_server)], iceTransportPolicy=RTCIceTransportPolicy.RELAY)
        self.answers: list[str] = []

    async def _answer_sub(self, msg: dict) -> None:
        if self.sub is None:
            self.sub = RTCPeerConnection(self.configuration)
            self.sub.on("track", self._on_track)
        await super()._answer_sub(msg)
        assert self.sub.localDescription is not None
        self.answers.append(self.sub.localDescription.sdp)


def candidate_types(sdp: str) -> set[str]:
    return set(re.findall(r"^a=candidate:.* typ (\w+)", sdp, re.MULTILINE))


async def relay_listener(base: str) -> RelayOnlyClient:
    """A relay-only listener in a new room, with the TURN entry the server gave the page."""
    turn_entry = (await get_config(base))["ice_servers"][-1]
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, base, "Relayed")
    client = RelayOnlyClient(base, room["room_id"], "Far away", ice_server=turn_entry)
    await client.connect()
    await wait_for(lambda: bool(client.answers))
    return client


async def test_a_relay_only_listener_hears_the_music_through_coturn(
    make_server: MakeServer, coturn: Coturn
) -> None:
    base = url_of(await make_server(turn_urls=[coturn.url], turn_secret=SECRET))
    listener = await relay_listener(base)
    try:
        assert candidate_types(listener.answers[0]) == {"relay"}, listener.answers[0]
        music = listener.mid_of("music")
        await wait_for(lambda: len(listener.recent_audio(music, 2.0)) >= 48_000 * 2, timeout=15)
        heard = listener.recent_audio(music, 2.0)
        assert float(np.sqrt(np.mean(heard**2))) > 0.01, "music is silent"
    finally:
        await listener.close()


async def test_with_a_wrong_secret_a_relay_only_listener_gets_no_path_and_no_audio(
    make_server: MakeServer, coturn: Coturn
) -> None:
    base = url_of(await make_server(turn_urls=[coturn.url], turn_secret="not the secret coturn has"))
    listener = await relay_listener(base)
    try:
        assert candidate_types(listener.answers[0]) == set(), listener.answers[0]
        await asyncio.sleep(3)
        assert not any(listener.payloads.values()), "audio arrived without a relay"
        assert listener.sub is not None and listener.sub.iceConnectionState != "completed"
    finally:
        await listener.close()


# ---- the server's own peer connections (--turn-server-side) ------------------------------------


async def server_offer(settings: Settings) -> str:
    """The SDP a server-side subscriber peer offers with ``settings``' TURN (as the media worker sets it)."""
    relay_through(server_side_turn(settings))
    peer = SubscriberPeer("p1", [])
    offers: list[str] = []
    peer.on("offer", lambda sdp, tracks: offers.append(sdp))
    try:
        await peer.reconcile([Producer("music", "room", Counters())])
        await wait_for(lambda: bool(offers))
        return offers[0]
    finally:
        await peer.close()
        relay_through(None)


def relay_ports(sdp: str) -> list[int]:
    return [int(m) for m in re.findall(r"^a=candidate:\S+ \d+ udp \d+ [\d.]+ (\d+) typ relay", sdp, re.M)]


async def test_the_servers_peer_connections_gather_a_relay_candidate_on_coturn(coturn: Coturn) -> None:
    settings = Settings(media_addresses=["127.0.0.1"], turn_urls=[coturn.url], turn_secret=SECRET,
                        turn_server_side=True)
    ports = relay_ports(await server_offer(settings))
    assert len(ports) == 1 and coturn.min_port <= ports[0] <= coturn.max_port


@pytest.mark.parametrize(
    "overrides", [{"turn_secret": "not the secret"}, {"turn_server_side": False}],
    ids=["wrong-secret", "not-server-side"],
)
async def test_no_server_relay_candidate_without_the_secret_or_the_setting(
    coturn: Coturn, overrides: dict
) -> None:
    settings = Settings(media_addresses=["127.0.0.1"], turn_urls=[coturn.url], turn_secret=SECRET,
                        turn_server_side=True)
    for key, value in overrides.items():
        setattr(settings, key, value)
    sdp = await server_offer(settings)
    assert relay_ports(sdp) == [] and "typ host" in sdp, sdp


def test_the_coturn_fixture_answers_stun_on_its_port(coturn: Coturn) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(b"\x00\x01\x00\x00\x21\x12\xa4\x42" + b"0123456789ab", ("127.0.0.1", coturn.port))
        data, _ = sock.recvfrom(2048)
    assert data[:2] == b"\x01\x01" and data[8:20] == b"0123456789ab"
