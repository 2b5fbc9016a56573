"""An echo host that behaves like a real client, and the listener's measure of sync.

``EchoHost`` hears the room's music through aiortc's own receive path (its jitter buffer and
Opus decoder), plays it on a simulated sound card that pulls 10 ms at a time (as WebRTC's audio
device does), "hears" it again on a simulated microphone ``output_ms + input_ms`` later, and sends
what it heard as its voice: 10 ms capture chunks, 20 ms frames, aiortc's Opus encoder. It tells
the server what a browser can tell (``stats``: the jitter buffer as the W3C defines it, per
sample from its packet's arrival to its leaving for the device; output and input latency), and
measures every stage of its own loop (``stages``). What its loop takes that no ``stats`` field
reports is the difference between the loop measured on the live feed and the server's estimate.

``PacketLog`` and ``offset_ms`` are the listener's side: every packet of a track with its arrival
time, decoded in timestamp order; the voice's content found in the music by cross-correlation,
then compared packet by packet: how much later than the music a listener gets the voice that
echoes it (what they hear, whatever the codecs did to the bytes).
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import itertools
import statistics
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.codecs.opus import OpusDecoder, OpusEncoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError

from sfu.router import Router
from signaling.keys import REGISTRY
from tests.audio_helpers import write_audio
from tests.clients import RATE, RoomClient, observe_packets
from tests.helpers import MakeServer, call, create_room, url_of, wait_for

FRAME = 960  # 20 ms: one Opus packet
CHUNK = 480  # 10 ms: what a sound card pulls or delivers at a time
STATS_EVERY_S = 2.0


# --- the music: clicks at irregular times, unambiguous to correlate -------------------------------


def click_signal(seconds: float, seed: int = 3) -> np.ndarray:
    """Short noise bursts 200-400 ms apart at random: (n, 2) float32 at 48 kHz."""
    rng = np.random.default_rng(seed)
    signal = np.zeros((int(RATE * seconds), 2), np.float32)
    at = 0.1
    while at < seconds - 0.5:
        start = int(at * RATE)
        signal[start : start + 144] = rng.uniform(-0.6, 0.6, (144, 1))
        at += rng.uniform(0.2, 0.4)
    return signal


def write_click_track(folder: Path, seconds: float = 120.0) -> Path:
    """The click track as a FLAC in ``folder`` (title "Clicks")."""
    return write_audio(folder / "clicks.flac", signal=click_signal(seconds), title="Clicks",
                       artist="Test", album="Sync")


@dataclass
class ClicksRoom:
    """A room on a server (in this process) whose library is the click track."""

    base_url: str
    room: dict
    track_id: str
    router: Router


async def clicks_room(make_server: MakeServer, tmp_path: Path) -> ClicksRoom:
    write_click_track(tmp_path / "music")
    server = await make_server(music_dirs=[tmp_path / "music"])
    base_url = url_of(server)
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, base_url, "Echo show")
        _, found = await call(http, "get", f"{base_url}/api/tracks", params={"q": "Clicks"})
    live = server.app[REGISTRY].get(room["room_id"])
    assert live is not None
    return ClicksRoom(base_url, room, found[0]["track_id"], live.router)  # type: ignore[index]


CLICKS_ALONE = ({"type": "ducking", "db": 0}, {"type": "crossfade", "seconds": 0})


async def play_clicks(client: RoomClient, track_id: str) -> None:
    """The click track, alone and now (no ducking under the echo, no crossfade)."""
    for message in (*CLICKS_ALONE, {"type": "queue_add", "track_id": track_id}, {"type": "skip"}):
        assert (await client.request(message))["type"] == "ack", message


# --- the listener's measure ---------------------------------------------------------------------


class PacketLog:
    """Every RTP packet ``receiver`` gets: by RTP timestamp, (arrival on time.monotonic, payload)."""

    def __init__(self, receiver: Any) -> None:
        self.packets: dict[int, tuple[float, bytes]] = {}
        observe_packets(receiver, self._record)

    def _record(self, packet: Any) -> None:
        self.packets.setdefault(packet.timestamp, (time.monotonic(), bytes(packet.payload)))

    def clear(self) -> None:
        self.packets.clear()

    def decode(self) -> tuple[np.ndarray, np.ndarray]:
        """The track's audio (mono float, silence where a packet is missing), placed by timestamp,
        and the time each sample arrived (its packet's arrival plus its place in the packet; NaN
        where none did)."""
        first = min(self.packets)
        at = {(ts - first) & 0xFFFFFFFF: value for ts, value in self.packets.items()}
        size = max(at) + FRAME
        pcm, arrival = np.zeros(size, np.float32), np.full(size, np.nan)
        decoder = OpusDecoder()
        for pos in sorted(at):
            arrived, payload = at[pos]
            for frame in decoder.decode(JitterFrame(payload, pos)):
                samples = frame.to_ndarray().reshape(-1, 2)[:, 0].astype(np.float32) / 32768.0
                pcm[pos : pos + len(samples)] = samples[: size - pos]
            arrival[pos : pos + FRAME] = arrived + np.arange(FRAME) / RATE
        return pcm, arrival


def lag_samples(reference: np.ndarray, delayed: np.ndarray) -> tuple[int, float]:
    """Where ``delayed`` best matches ``reference`` (delayed[j] ~ reference[j - lag]): the lag and
    the peak's height relative to the next best peak more than 5 ms away (above 2: unambiguous)."""
    n = len(reference) + len(delayed)
    corr = np.fft.irfft(np.fft.rfft(delayed, n) * np.conj(np.fft.rfft(reference, n)), n)
    k = int(np.argmax(corr))
    masked = corr.copy()
    masked[max(0, k - 240) : k + 240] = 0
    if k < 240:
        masked[n - 240 + k :] = 0
    clarity = float(corr[k] / max(float(np.max(masked)), 1e-12))
    return (k if k < n // 2 else k - n), clarity


def offset_ms(music: PacketLog, voice: PacketLog, window_s: float = 1.0) -> float:
    """How much later than the music a listener gets the voice that echoes it: each sample of the
    voice's arrival minus the arrival of the music sample it echoes; the median. The echo is found
    window by window, half a window apart (a jump of the audience delay moves it)."""
    m_pcm, m_arrival = music.decode()
    v_pcm, v_arrival = voice.decode()
    size, offsets, clarities = int(window_s * RATE), [], []
    for start in range(0, len(v_pcm) - size + 1, size // 2):
        lag, clarity = lag_samples(m_pcm, v_pcm[start : start + size])
        clarities.append(round(clarity, 2))
        if clarity < 1.5:  # silence, a jump, or a window the music log does not cover
            continue
        at = np.arange(start, start + size)
        ok = (at - start - lag >= 0) & (at - start - lag < len(m_arrival))
        heard = m_arrival[np.clip(at - start - lag, 0, len(m_arrival) - 1)]
        diff = (v_arrival[at] - heard)[ok] * 1000.0
        offsets.append(diff[np.isfinite(diff)][::FRAME // 4])
    found = np.concatenate(offsets) if offsets else np.zeros(0)
    assert len(offsets) >= 3 and len(found) > 200, f"the voice echoes the music clearly in {clarities}"
    return float(np.median(found))


async def measure(client: RoomClient, voice_of: str, seconds: float) -> float:
    """``offset_ms`` at ``client`` between the music and ``voice_of``'s voice, over ``seconds``."""
    await wait_for(lambda: client.sub is not None and client.sub.connectionState == "connected")
    await wait_for(lambda: any(t.get("participant_id") == voice_of for t in client.tracks))
    assert client.sub is not None
    logs = {t.mid: PacketLog(t.receiver) for t in client.sub.getTransceivers()}
    await asyncio.sleep(seconds)
    return offset_ms(logs[client.mid_of("music")], logs[client.mid_of("voice", voice_of)])


def opus_lookahead_ms() -> float:
    """How late aiortc's Opus encoder puts a click (its look-ahead), measured through a decoder."""
    encoder, decoder = OpusEncoder(), OpusDecoder()
    signal = np.zeros(RATE // 2, np.int16)
    signal[4800:4806] = 20000
    out = []
    for start in range(0, len(signal), FRAME):
        frame = av.AudioFrame.from_ndarray(np.repeat(signal[start : start + FRAME], 2).reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.pts = RATE, start
        frame.time_base = fractions.Fraction(1, RATE)
        payloads, ts = encoder.encode(frame)
        for payload in payloads:
            out += [f.to_ndarray().reshape(-1, 2)[:, 0] for f in decoder.decode(JitterFrame(payload, ts))]
    return (int(np.argmax(np.abs(np.concatenate(out)))) - 4800) / 48.0


# --- the echo host --------------------------------------------------------------------------------


class SoundCard:
    """A sound card on the stream's own clock: every 10 ms (absolute deadlines from ``prebuffer_ms``
    after the first decoded frame) it takes the next 10 ms of the music, "plays" them
    ``output_ms`` later, and its microphone hands them to the encoder ``input_ms`` after that,
    when the chunk's last sample is captured (10 ms after its first).

    Its latency is fixed from the start: a frame decoded late (the test's event loop shares two
    busy cores with the server) is taken late but played as if on time, so a stall delays some
    voice packets (like network jitter) and never lengthens the loop for good, as it would with a
    device that underruns. A frame still missing 200 ms after its turn is played as silence.
    """

    def __init__(self, output_ms: float, input_ms: float, arrived: dict[int, float]) -> None:
        self.output_ms, self.input_ms = output_ms, input_ms
        self.arrived = arrived  # frame timestamp (aiortc's numbering) -> arrival of its packet
        self.decoded: dict[int, tuple[np.ndarray, float]] = {}  # timestamp -> (pcm, decoded at)
        self.captured: deque[tuple[float, np.ndarray]] = deque()  # (handed over at, chunk)
        self.ready = asyncio.Event()
        self._new_frame = asyncio.Event()
        self.waits: deque[tuple[float, float, int]] = deque(maxlen=2000)  # (pulled at, sum ms, samples)
        self.decoder_ms: deque[float] = deque(maxlen=500)  # arrival -> out of aiortc's decoder
        self.playout_ms: deque[float] = deque(maxlen=500)  # out of the decoder -> its turn
        self.underruns = 0  # chunks played as silence
        self.late = 0  # chunks taken after their turn

    def push(self, ts: int, pcm: np.ndarray) -> None:
        now = time.monotonic()
        if ts in self.arrived:
            self.decoder_ms.append((now - self.arrived[ts]) * 1000.0)
        self.decoded[ts] = (pcm, now)
        self._new_frame.set()

    async def run(self, prebuffer_ms: float = 40.0) -> None:
        while not self.decoded:
            self._new_frame.clear()
            await self._new_frame.wait()
        first = min(self.decoded)
        start = self.decoded[first][1] + prebuffer_ms / 1000.0
        for k in itertools.count():
            due = start + k * CHUNK / RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            chunk = await self._take(first + k * CHUNK, due)
            self.captured.append((due + (self.output_ms + self.input_ms) / 1000.0 + CHUNK / RATE, chunk))
            self.ready.set()

    async def _take(self, pos: int, due: float) -> np.ndarray:
        """Samples ``pos`` to ``pos + CHUNK`` of the stream, once decoded."""
        frame_ts, offset = pos - pos % FRAME, pos % FRAME  # frames start on the 960 grid from 0
        while frame_ts not in self.decoded and time.monotonic() < due + 0.2:
            self._new_frame.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_frame.wait(), 0.02)
        for old in [ts for ts in self.decoded if ts < frame_ts]:
            del self.decoded[old]
        if frame_ts not in self.decoded:
            self.underruns += 1
            return np.zeros((CHUNK, 2), np.int16)
        taken = max(due, time.monotonic())  # a chunk taken late is heard, and sent, that late
        if taken > due + 0.005:
            self.late += 1
        pcm, decoded_at = self.decoded[frame_ts]
        if offset == 0:
            self.playout_ms.append((taken - decoded_at) * 1000.0)
        if frame_ts in self.arrived:  # the W3C's jitterBufferDelay: per sample, arrival to leaving
            self.waits.append((due, (taken - self.arrived[frame_ts]) * 1000.0 * CHUNK, CHUNK))
        return pcm[offset : offset + CHUNK]

    def jitter_buffer_ms(self, window_s: float = STATS_EVERY_S) -> float | None:
        """The average per-sample wait over the last ``window_s`` (what a client reports)."""
        since = time.monotonic() - window_s
        recent = [(total, n) for at, total, n in self.waits if at >= since]
        samples = sum(n for _, n in recent)
        return sum(t for t, _ in recent) / samples if samples else None


class VoiceTrack(MediaStreamTrack):
    """The microphone's chunks, two at a time: one 20 ms frame as soon as its last chunk is there."""

    kind = "audio"

    def __init__(self, card: SoundCard) -> None:
        super().__init__()
        self.card = card
        self.framing_ms: deque[float] = deque(maxlen=500)  # first sample captured -> frame out
        self._pts = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        chunks = self.card.captured
        while len(chunks) < 2:
            self.card.ready.clear()
            await self.card.ready.wait()
        while len(chunks) >= 4 and chunks[3][0] <= time.monotonic():  # the encoder started late
            chunks.popleft()
        (_, first), (due, second) = chunks.popleft(), chunks.popleft()
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        self.framing_ms.append((time.monotonic() - due) * 1000.0 + 2 * CHUNK / 48.0)
        frame = av.AudioFrame.from_ndarray(np.concatenate([first, second]).reshape(1, -1),
                                           format="s16", layout="stereo")
        frame.sample_rate, frame.pts = RATE, self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame


class EchoHost(RoomClient):
    """A stage member (the host, with its token) whose voice is the music it hears, decoded,
    played, captured and encoded again; ``output_ms`` and ``input_ms`` are its simulated sound
    card's latencies (told in ``stats``, as a browser tells its own; ``told_output_ms`` to tell
    another output latency than the card's)."""

    def __init__(self, base_url: str, room: dict, *, output_ms: float = 0.0, input_ms: float = 0.0,
                 told_output_ms: float | None = None, name: str = "Echo") -> None:
        super().__init__(base_url, room["room_id"], name, token=room["host_token"])
        self.told_output_ms = output_ms if told_output_ms is None else told_output_ms
        self.arrived: dict[int, float] = {}
        self.card = SoundCard(output_ms, input_ms, self.arrived)
        self.voice = VoiceTrack(self.card)
        self.stats_sent: list[dict] = []
        self._first_ts: int | None = None

    async def _drain(self, track: MediaStreamTrack, mid: str) -> None:
        if mid != self.mid_of("music"):
            await super()._drain(track, mid)
            return
        assert self.sub is not None
        receiver = next(t.receiver for t in self.sub.getTransceivers() if t.mid == mid)
        observe_packets(receiver, self._arrival)
        self._tasks.append(asyncio.ensure_future(self.card.run()))
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                self.card.push(int(frame.pts), frame.to_ndarray().reshape(-1, 2))
                if len(self.arrived) > 3000:  # keep a minute
                    for ts in sorted(self.arrived)[:1000]:
                        del self.arrived[ts]

    def _arrival(self, packet: Any) -> None:
        # aiortc's decoder numbers its frames from the first packet's timestamp (TimestampMapper)
        if self._first_ts is None:
            self._first_ts = packet.timestamp
        self.arrived.setdefault((packet.timestamp - self._first_ts) & 0xFFFFFFFF, time.monotonic())

    async def go_on_air(self) -> EchoHost:
        """Join, wait for the music, publish the echo and tell ``stats`` every 2 s from then on."""
        await self.connect()
        deadline = time.monotonic() + 10
        while not (self.sub is not None and self.tracks and self.card.waits):
            assert time.monotonic() < deadline, "no music reached the echo host"
            await asyncio.sleep(0.05)
        await self.publish(self.voice)
        self._tasks.append(asyncio.ensure_future(self._tell_stats()))
        return self

    def stats(self) -> dict[str, float]:
        """What a browser knows of its loop."""
        out = {"output_latency_ms": self.told_output_ms, "input_latency_ms": self.card.input_ms}
        jb = self.card.jitter_buffer_ms()
        if jb is not None:
            out["jitter_buffer_ms"] = round(jb, 1)
        return out

    async def _tell_stats(self) -> None:
        while True:
            message = {"type": "stats", **self.stats()}
            self.stats_sent.append(message)
            await self.send(message)
            await asyncio.sleep(STATS_EVERY_S)

    def stages(self) -> dict[str, float]:
        """The median of each stage of this client's loop, in ms."""
        card = self.card
        return {
            "decoder (aiortc jitter buffer + Opus decode)": statistics.median(card.decoder_ms),
            "playout queue to the card's pull": statistics.median(card.playout_ms),
            "jitter_buffer_ms (told: per sample, arrival to pull)": card.jitter_buffer_ms() or 0.0,
            "output + input latency (simulated)": card.output_ms + card.input_ms,
            "capture and framing (first sample to frame out)": statistics.median(self.voice.framing_ms),
            "Opus look-ahead (in the content)": opus_lookahead_ms(),
        }
