"""One lightweight listener: a WebSocket plus a receive-only aiortc connection.

The peer speaks the listener side of the protocol (welcome, offer/answer on
``sub``) and counts what arrives, in one of two modes:

- ``header`` (the default): each SRTP datagram's clear header is read as it
  arrives and the datagram dropped (``sfu.aiortc_seams.tap_rtp_headers``): no
  decryption, no queue, no aiortc receiver; the server's RTCP sender reports
  are dropped unread too (the receiver reports still go out, without a round
  trip). About half the CPU of ``decrypt`` (docs/benchmarks.md).
- ``decrypt``: aiortc decrypts and parses every packet, which is then tapped
  before its jitter buffer and decoder (``tap_receiver``): proves the packets
  are whole SRTP for this peer's keys. For correctness runs.

Either way it never decodes. WebSocket messages are counted; only those the
peer acts on (welcome, offer, error) are parsed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import aioice.ice
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtp import RtpPacket

from sfu.aiortc_seams import tap_receiver, tap_rtp_headers

from .stats import PeerStats, Window

CLOSE_TIMEOUT_S = 5.0
Mode = Literal["header", "decrypt"]
MODES: tuple[Mode, ...] = ("header", "decrypt")
# the message types the peer acts on; anything else is counted, not parsed
_WANTED = ('"welcome"', '"offer"', '"error"')


def gather_on_loopback() -> None:
    """Make every aiortc connection of this process gather on 127.0.0.1 only.

    aioice gathers host candidates on every interface *except* 127.0.0.1,
    through the module-level ``aioice.ice.get_host_addresses``; replacing it
    keeps all load-test traffic on loopback (the server offers 127.0.0.1 too).
    Call once per process, before the first connection gathers.
    """

    def loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return ["127.0.0.1"] if use_ipv4 else []

    aioice.ice.get_host_addresses = loopback


PEERS_PER_ADDRESS = 10  # well under the server's cap on sockets per address (20 by default)


def loopback_addresses(url: str, peers: int) -> list[str]:
    """Where ``peers`` listeners come from: 127.0.0.2, .3, ... (ten each) when the server is on
    loopback, as many people would; none (the system's choice) for a server elsewhere."""
    host = urlsplit(url).hostname or ""
    if not host.startswith("127."):
        return []
    count = min(max(1, math.ceil(peers / PEERS_PER_ADDRESS)), 250)
    return [f"127.0.0.{2 + i}" for i in range(count)]


def listener_sessions(url: str, peers: int) -> list[aiohttp.ClientSession]:
    """One HTTP session per address of ``loopback_addresses`` (or one plain session)."""
    addresses = loopback_addresses(url, peers)
    if not addresses:
        return [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))]
    return [
        aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, local_addr=(address, 0)))
        for address in addresses
    ]


def now_ms() -> float:
    """Monotonic milliseconds (one clock for every process of the machine)."""
    return time.monotonic() * 1000.0


class ListenerPeer:
    """Joins a room as a listener, answers the server's offers and counts what arrives."""

    # the message types this peer acts on (others are only counted); None: every message
    PARSED: tuple[str, ...] | None = _WANTED

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        window: Window,
        *,
        jitter_ms: float = 200.0,
        join_timeout_s: float = 20.0,
        mode: Mode = "header",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
        self.url = url
        self.mode = mode
        self.messages = 0  # WebSocket messages received
        self.stats = PeerStats(jitter_ms)
        self.started_ms: float | None = None
        self.welcome_ms: float | None = None
        self.failure: str | None = None  # never joined
        self.dropped: str | None = None  # joined, then lost before the end
        self.offers = 0
        self.errors = 0
        self._session = session
        self._window = window
        self._join_timeout_s = join_timeout_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._tapped: set[int] = set()
        self._stopping = False

    # -- state seen by the worker --------------------------------------------------------

    @property
    def joined(self) -> bool:
        return self.welcome_ms is not None

    def settled(self, now: float) -> bool:
        """Done joining: audio flows, the join failed, or the join timeout passed."""
        if self.failure or self.dropped or self.stats.first_packet_ms is not None:
            return True
        return self.started_ms is not None and now - self.started_ms > self._join_timeout_s * 1e3

    def result(self) -> dict[str, Any]:
        """A plain dict for the parent process (picklable, JSON-able)."""
        start = self.started_ms
        first = self.stats.first_packet_ms
        welcome = self.welcome_ms
        return {
            "joined": self.joined,
            "failure": self.failure,
            "dropped": self.dropped,
            "join_ms": None if start is None or welcome is None else welcome - start,
            "first_audio_ms": None if start is None or first is None else first - start,
            "offers": self.offers,
            "errors": self.errors,
            "messages": self.messages,
            **self.stats.summary(self._window.length_ms),
        }

    # -- life cycle ------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Join, then receive until ``stop`` is set; always closes cleanly."""
        self.started_ms = now_ms()
        try:
            self._ws = await asyncio.wait_for(
                self._session.ws_connect(self.url, autoping=True), self._join_timeout_s
            )
            await self._until_stopped(stop)
        except Exception as exc:  # any failure is a figure of the test, not a crash
            self._fail(f"{type(exc).__name__}")
        finally:
            await self.close()

    async def _until_stopped(self, stop: asyncio.Event) -> None:
        reader = asyncio.ensure_future(self._read())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {reader, stopper}, timeout=self._join_timeout_s, return_when="FIRST_COMPLETED"
            )
            if not done and not self.joined:
                self._fail("timeout")
                return
            if not done:
                await asyncio.wait({reader, stopper}, return_when="FIRST_COMPLETED")
            if reader.done() and reader.exception() is not None:
                exc = reader.exception()
                self._fail(f"{type(exc).__name__}: {exc}"[:120])
        finally:
            self._stopping = True
            for task in (reader, stopper):
                task.cancel()
            await asyncio.gather(reader, stopper, return_exceptions=True)

    async def close(self) -> None:
        """Close the peer connection and the socket (idempotent)."""
        self._stopping = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._pc.close(), CLOSE_TIMEOUT_S)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._ws.close(), CLOSE_TIMEOUT_S)

    def _fail(self, reason: str) -> None:
        if not self.joined:
            self.failure = self.failure or reason
        elif not self._stopping:
            self.dropped = self.dropped or reason

    # -- protocol ----------------------------------------------------------------------------

    async def _read(self) -> None:
        assert self._ws is not None
        async for msg in self._ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.messages += 1
                data = msg.data
                if self.PARSED is None or any(kind in data for kind in self.PARSED):
                    await self._handle(json.loads(data))
            elif msg.type == aiohttp.WSMsgType.ERROR:
                break
        self._fail(f"closed:{self._ws.close_code}")

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "welcome":
            self.welcome_ms = now_ms()
        elif kind == "offer" and message.get("pc") == "sub":
            await self._answer(message["sdp"])
        elif kind == "error":
            self.errors += 1
            if not self.joined:  # a refused join: the server closes next
                self._fail(f"error:{message.get('code')}")

    async def _answer(self, sdp: str) -> None:
        """Apply the server's offer, tap any new receiver, send the answer."""
        assert self._ws is not None
        self.offers += 1
        await self._pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        for transceiver in self._pc.getTransceivers():
            receiver = transceiver.receiver
            if self.mode == "decrypt" and id(receiver) not in self._tapped:
                self._tapped.add(id(receiver))
                tap_receiver(receiver, self._on_packet)
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        if self.mode == "header":  # after gathering: the ICE sockets exist
            for transceiver in self._pc.getTransceivers():
                dtls = transceiver.receiver.transport
                if id(dtls) not in self._tapped:
                    self._tapped.add(id(dtls))
                    tap_rtp_headers(dtls, self._on_header, keep_rtcp=False)
        answer = {"type": "answer", "pc": "sub", "sdp": self._pc.localDescription.sdp}
        await self._ws.send_str(json.dumps(answer))

    def _on_header(self, ssrc: int, sequence: int, timestamp: int, size: int) -> None:
        self.stats.add(ssrc, sequence, timestamp, size, now_ms(), self._window)

    def _on_packet(self, packet: RtpPacket, arrival_ms: int) -> None:
        self.stats.add(
            packet.ssrc,
            packet.sequence_number,
            packet.timestamp,
            len(packet.payload),
            now_ms(),
            self._window,
        )
