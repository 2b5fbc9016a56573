"""The soak's participants: a listener that chats and can be brought on stage, and the host.

``SoakPeer`` is a ``ListenerPeer`` that says one chat line once welcomed and,
when promoted, publishes a ``pub`` connection carrying Opus silence (pre-encoded
packets: nothing is encoded or decoded) until it is sent back to the audience.
``HostPeer`` joins with the host token and promotes and demotes listeners.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import json
import time
from typing import Any

import aiohttp
import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError

from .peer import CLOSE_TIMEOUT_S, ListenerPeer
from .stats import Window

OPUS_SILENCE = b"\xfc\xff\xfe"  # one 20 ms stereo CELT frame of silence (RFC 6716 code 0)
FRAME_SAMPLES = 960
_refs = itertools.count(1)


class SilenceTrack(MediaStreamTrack):
    """An audio track of pre-encoded Opus silence, one packet every 20 ms by absolute deadline."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._start: float | None = None
        self._index = 0

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        packet = av.Packet(OPUS_SILENCE)
        packet.pts = self._index * FRAME_SAMPLES
        packet.time_base = fractions.Fraction(1, 48_000)
        self._index += 1
        return packet


class SoakPeer(ListenerPeer):
    """A listener that chats once and goes on stage when the host says so."""

    PARSED = None

    def __init__(
        self,
        url: str,
        session: aiohttp.ClientSession,
        window: Window,
        *,
        chat_line: str | None = None,
        join_timeout_s: float = 20.0,
    ) -> None:
        # it chats, goes on stage and comes back: it reads every message, and hears its packets
        # the way the server's listeners are heard (decrypted), as before the header mode existed
        super().__init__(url, session, window, join_timeout_s=join_timeout_s, mode="decrypt")
        self.chat_line = chat_line
        self.participant_id: str | None = None
        self.role = "listener"
        self.acks = 0
        self.published = asyncio.Event()  # the server answered our pub offer
        self.roles: asyncio.Queue[str] = asyncio.Queue()
        self._pub: RTCPeerConnection | None = None
        self._pub_task: asyncio.Future[None] | None = None
        self._unpublish: asyncio.Future[None] | None = None  # kept: the loop holds tasks weakly

    async def send(self, message: dict[str, Any]) -> str:
        """Send one message with a fresh ``id``; returns the id."""
        assert self._ws is not None
        ref = f"s{next(_refs)}"
        await self._ws.send_str(json.dumps({**message, "id": ref}))
        return ref

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "welcome":
            self.participant_id = message.get("participant_id")
            self.role = str(message.get("role"))
            if self.chat_line:
                await self.send({"type": "chat", "text": self.chat_line})
        elif kind == "ack":
            self.acks += 1
        elif kind == "role_changed":
            self._on_role(str(message.get("role")))
        elif kind == "answer" and message.get("pc") == "pub" and self._pub is not None:
            await self._pub.setRemoteDescription(RTCSessionDescription(sdp=message["sdp"], type="answer"))
            self.published.set()
        await super()._handle(message)

    def _on_role(self, role: str) -> None:
        was_listener, self.role = self.role == "listener", role
        self.roles.put_nowait(role)
        if was_listener and role != "listener":
            self._pub_task = asyncio.ensure_future(self._publish())
        elif role == "listener":
            self.published.clear()
            self._unpublish = asyncio.ensure_future(self._close_pub())

    async def _publish(self) -> None:
        pc = self._pub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        pc.addTransceiver(SilenceTrack(), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        await self.send({"type": "offer", "pc": "pub", "sdp": pc.localDescription.sdp})

    async def _close_pub(self) -> None:
        pc, self._pub = self._pub, None
        if self._pub_task is not None:
            with contextlib.suppress(Exception):
                await self._pub_task
        if pc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pc.close(), CLOSE_TIMEOUT_S)

    async def close(self) -> None:
        await self._close_pub()
        await super().close()


class HostPeer(SoakPeer):
    """The show's host: joins with the host token, moves listeners on and off the stage."""

    async def promote(self, peer: SoakPeer, timeout_s: float) -> bool:
        """Bring ``peer`` on stage and wait until its voice is published."""
        if peer.participant_id is None:
            return False
        await self.send({"type": "promote", "participant_id": peer.participant_id})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(peer.published.wait(), timeout_s)
        return peer.published.is_set()

    async def demote(self, peer: SoakPeer, timeout_s: float) -> bool:
        """Send ``peer`` back to the audience and wait until it is told."""
        if peer.participant_id is None:
            return False
        await self.send({"type": "demote", "participant_id": peer.participant_id})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                role = await asyncio.wait_for(peer.roles.get(), deadline - time.monotonic())
            except TimeoutError:
                return False
            if role == "listener":
                return True
        return False
