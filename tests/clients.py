"""Real protocol clients for tests: aiortc peers speaking PROTOCOL.md over loopback."""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import json
import time
from collections import defaultdict
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

from mixer.encoder import OpusFrameEncoder

RATE = 48_000
FRAME = 960


def tone(freq: float, seconds: float, level: float = 0.3, rate: int = RATE) -> np.ndarray:
    """A stereo sine, (n, 2) float32 (48 kHz unless ``rate`` says otherwise)."""
    t = np.arange(int(rate * seconds)) / rate
    mono = (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def peak_hz(samples: np.ndarray, rate: int = RATE) -> float:
    """The frequency of the strongest FFT bin of a mono signal."""
    windowed = samples * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(windowed))
    spectrum[:5] = 0
    return float(np.argmax(spectrum) * rate / len(samples))


def band_level(samples: np.ndarray, freq: float, rate: int = RATE, width: float = 30.0) -> float:
    """Energy near ``freq`` relative to the whole spectrum (0..1)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    band = spectrum[(freqs > freq - width) & (freqs < freq + width)].sum()
    return float(band / max(spectrum[freqs > 50].sum(), 1e-12))


def session_from(local_ip: str | None = None) -> aiohttp.ClientSession:
    """An HTTP client whose connections leave from ``local_ip`` (another loopback address, to be
    told apart by the server) and take a self-signed certificate (nginx's, in the proxy tests)."""
    connector = aiohttp.TCPConnector(local_addr=(local_ip, 0), ssl=False) if local_ip else None
    return aiohttp.ClientSession(connector=connector)


def observe_packets(receiver: Any, observe: Any) -> None:
    """Show every RTP packet ``receiver`` gets to ``observe(packet)``, then decode it as usual.

    (The SFU's ``aiortc_seams.tap_receiver`` replaces decoding; test clients keep it.)
    """
    original = receiver._handle_rtp_packet

    async def handle(packet: Any, arrival_time_ms: int) -> None:
        observe(packet)
        await original(packet, arrival_time_ms)

    receiver._handle_rtp_packet = handle


class EncodedToneTrack(MediaStreamTrack):
    """An audio track whose ``recv`` returns pre-encoded Opus packets of a tone.

    aiortc sends such packets as they are, so the test knows the exact payload
    bytes that left the host. Paced by absolute deadlines.
    """

    kind = "audio"

    def __init__(self, freq: float, level: float = 0.3, signal: np.ndarray | None = None) -> None:
        super().__init__()
        self._encoder = OpusFrameEncoder()
        self._signal = tone(freq, 1.0, level) if signal is None else signal  # (n, 2) float32, looped
        self._index = 0
        self._start: float | None = None
        self.sent: list[bytes] = []

    async def recv(self) -> av.Packet:
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        due = self._start + self._index * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        offset = (self._index * FRAME) % len(self._signal)
        frame = self._signal[offset : offset + FRAME]
        if len(frame) < FRAME:
            frame = np.concatenate([frame, self._signal[: FRAME - len(frame)]])
        data = self._encoder.encode(frame)
        packet = av.Packet(data)
        packet.pts = self._index * FRAME
        packet.time_base = fractions.Fraction(1, RATE)
        self._index += 1
        self.sent.append(data)
        return packet


class ToneFrames(MediaStreamTrack):
    """Raw audio frames of a tone: aiortc encodes them and adds the audio-level extension."""

    kind = "audio"

    def __init__(self, freq: float) -> None:
        super().__init__()
        self._signal = (tone(freq, 1.0, 0.5) * 32767).astype(np.int16)
        self._index = 0
        self._start = time.monotonic()

    async def recv(self) -> av.AudioFrame:
        due = self._start + self._index * 0.02
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        offset = (self._index * 960) % 48_000
        frame = av.AudioFrame.from_ndarray(
            self._signal[offset : offset + 960].reshape(1, -1), format="s16", layout="stereo"
        )
        frame.sample_rate = 48_000
        frame.pts = self._index * 960
        frame.time_base = fractions.Fraction(1, 48_000)
        self._index += 1
        return frame


class RoomClient:
    """One participant: a WebSocket, a ``sub`` connection answered automatically,
    and optionally a ``pub`` connection.

    Keeps every message by type, every received RTP payload by mid, and the
    decoded audio of every received track by mid. ``local_ip`` is the address its
    connections leave from (see ``session_from``); ``headers`` go with the socket's upgrade.
    """

    def __init__(
        self,
        base_url: str,
        room_id: str,
        name: str,
        token: str | None = None,
        *,
        local_ip: str | None = None,
        headers: dict[str, str] | None = None,
        media: bool = True,
    ) -> None:
        self.base_url = base_url
        self.media = media  # False: signaling only, the sub offer goes unanswered
        self.room_id = room_id
        self.name = name
        self.token = token
        self.local_ip = local_ip
        self.headers = headers or {}
        self.messages: dict[str, list[dict]] = defaultdict(list)
        self.inbox: asyncio.Queue[dict] = asyncio.Queue()
        self.payloads: dict[str, list[bytes]] = defaultdict(list)
        self.audio: dict[str, list[np.ndarray]] = defaultdict(list)
        self.seqs: dict[str, list[int]] = defaultdict(list)
        self.arrivals: dict[str, list[float]] = defaultdict(list)  # time.monotonic() of each payload
        self.tracks: list[dict] = []
        self.sub: RTCPeerConnection | None = None
        self.pub: RTCPeerConnection | None = None
        self.close_code: int | None = None
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._tasks: list[asyncio.Task] = []
        self.welcome: dict | None = None
        self.answer_munger: Any = None  # rewrites our sub answers (hostile-client tests)

    async def connect(self, expect_welcome: bool = True) -> RoomClient:
        self._http = session_from(self.local_ip)
        params = {"name": self.name}
        if self.token:
            params["token"] = self.token
        url = f"{self.base_url}/api/rooms/{self.room_id}/ws"
        self._ws = await self._http.ws_connect(url, params=params, headers=self.headers, max_msg_size=0)
        self._tasks.append(asyncio.ensure_future(self._read()))
        if expect_welcome:
            self.welcome = await self._welcome()
        return self

    async def _welcome(self, timeout: float = 10.0) -> dict:
        """The ``welcome``; TimeoutError at once if the server answered the join with an ``error``."""
        deadline = time.monotonic() + timeout
        while not self.messages["welcome"]:
            if self.messages["error"]:
                raise TimeoutError(f"{self.name}: join refused: {self.messages['error'][0]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: no welcome in {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.inbox.get(), 0.2)
        return self.messages["welcome"].pop(0)

    @property
    def participant_id(self) -> str:
        assert self.welcome is not None
        return self.welcome["participant_id"]

    async def _read(self) -> None:
        assert self._ws is not None
        close_code = None
        try:
            while True:
                frame = await self._ws.receive()
                if frame.type == aiohttp.WSMsgType.CLOSE:
                    close_code = frame.data  # the code the server sent, whatever happens next
                if frame.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                msg = json.loads(frame.data)
                self.messages[msg["type"]].append(msg)
                await self.inbox.put(msg)
                with contextlib.suppress(ConnectionError):  # the server may close meanwhile
                    await self._react(msg)
        finally:
            self.close_code = close_code if close_code is not None else self._ws.close_code

    async def _react(self, msg: dict) -> None:
        if msg["type"] == "offer" and msg.get("pc") == "sub" and self.media:
            await self._answer_sub(msg)
        elif msg["type"] == "answer" and msg.get("pc") == "pub" and self.pub is not None:
            await self.pub.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="answer"))

    async def next(self, kind: str, timeout: float = 10.0, **match: Any) -> dict:
        """The next message of ``kind`` (already received or still to come)."""
        seen = 0
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.messages[kind][seen:]:
                if all(msg.get(k) == v for k, v in match.items()):
                    self.messages[kind].remove(msg)
                    return msg
            seen = len(self.messages[kind])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.name}: no {kind} {match} in {timeout} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.inbox.get(), remaining)

    async def send(self, message: dict) -> None:
        assert self._ws is not None
        await self._ws.send_str(json.dumps(message))

    async def send_raw(self, data: str | bytes) -> None:
        assert self._ws is not None
        if isinstance(data, bytes):
            await self._ws.send_bytes(data)
        else:
            await self._ws.send_str(data)

    async def request(self, message: dict, timeout: float = 10.0) -> dict:
        """Send with an id and wait for its ack or error."""
        ref = f"req{time.monotonic_ns()}"
        await self.send({**message, "id": ref})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for kind in ("ack", "error"):
                for msg in self.messages[kind]:
                    if msg.get("ref") == ref:
                        self.messages[kind].remove(msg)
                        return msg
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.inbox.get(), 0.2)
        raise TimeoutError(f"no reply to {message['type']}")

    async def _answer_sub(self, msg: dict) -> None:
        if self.sub is None:
            self.sub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
            self.sub.on("track", self._on_track)
        self.tracks = msg["tracks"]
        await self.sub.setRemoteDescription(RTCSessionDescription(sdp=msg["sdp"], type="offer"))
        await self.sub.setLocalDescription(await self.sub.createAnswer())
        sdp = self.sub.localDescription.sdp
        if self.answer_munger is not None:
            sdp = self.answer_munger(sdp)
        await self.send({"type": "answer", "pc": "sub", "sdp": sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        assert self.sub is not None
        for transceiver in self.sub.getTransceivers():
            if transceiver.receiver.track is track:
                mid = transceiver.mid
                self._record_payloads(transceiver.receiver, mid)
                self._tasks.append(asyncio.ensure_future(self._drain(track, mid)))

    def _record_payloads(self, receiver: Any, mid: str) -> None:
        def record(packet: Any) -> None:
            self.payloads[mid].append(bytes(packet.payload))
            self.seqs[mid].append(packet.sequence_number)
            self.arrivals[mid].append(time.monotonic())

        observe_packets(receiver, record)

    async def _drain(self, track: MediaStreamTrack, mid: str) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                data = frame.to_ndarray().reshape(-1, len(frame.layout.channels))
                self.audio[mid].append(data[:, 0].astype(np.float32) / 32768.0)

    def mid_of(self, kind: str, participant_id: str | None = None) -> str:
        for t in self.tracks:
            if t["kind"] == kind and (participant_id is None or t.get("participant_id") == participant_id):
                return t["mid"]
        raise KeyError(f"{self.name} has no {kind} track {participant_id or ''}")

    def lost_frames(self, mid: str) -> int:
        """Sequence numbers that never arrived on ``mid`` (16-bit wrap aware)."""
        seqs = self.seqs.get(mid, [])
        lost = 0
        for a, b in zip(seqs, seqs[1:], strict=False):
            step = (b - a) & 0xFFFF
            if 1 < step < 0x8000:
                lost += step - 1
        return lost

    def recent_audio(self, mid: str, seconds: float) -> np.ndarray:
        chunks = self.audio.get(mid, [])
        if not chunks:
            return np.zeros(0, dtype=np.float32)
        data = np.concatenate(chunks)
        return data[-int(RATE * seconds) :]

    async def publish(self, track: MediaStreamTrack) -> None:
        self.pub = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.pub.addTransceiver(track, direction="sendonly")
        await self.pub.setLocalDescription(await self.pub.createOffer())
        await self.send({"type": "offer", "pc": "pub", "sdp": self.pub.localDescription.sdp})
        await self.next("answer", pc="pub")

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        for pc in (self.sub, self.pub):
            if pc is not None:
                await pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()
