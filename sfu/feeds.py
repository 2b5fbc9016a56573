"""The audience feed's delays: each stage member's loop latency L_i and D = max L_i.

L_i is estimated from the member's figures (``MemberLatency``), or measured where their microphone
hears the music (``LoopMeter``: their decoded voice correlated with the music sent to them).
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import av
import numpy as np

from .consumer import Consumer
from .producer import Producer

DEFAULT_EXTRA_MS = 60.0  # jitter buffer + devices, when a member sends no stats
DEFAULT_RTT_MS = 50.0  # until RTCP or the client tells us
MIN_STEP_MS = 40.0
MIN_INTERVAL_MS = 10_000.0
FRAME_MS = 20.0

# What every client that decodes the music and encodes its voice again adds to its loop, that no
# `stats` field reports (measured with tests/echo_client.py: 22.2-22.4 ms missing for it):
# its encoder sends a 20 ms frame when the frame's last sample is in (+20 ms) and libopus delays
# its input by its look-ahead (+6.5 ms); the W3C's jitterBufferDelay counts every sample from its
# packet's arrival, half a packet (10 ms) more on average than the sound itself waits, while the
# audio device takes 10 ms at a time, half of it (5 ms) later than its first sample (-10 + 5).
OPUS_FRAME_MS = 20.0
OPUS_LOOKAHEAD_MS = 6.5
DEVICE_CHUNK_MS = 10.0
CODEC_MS = OPUS_FRAME_MS + OPUS_LOOKAHEAD_MS - OPUS_FRAME_MS / 2 + DEVICE_CHUNK_MS / 2


@dataclass
class MemberLatency:
    """What we know of one stage member's loop: RTT, their client's own figures and ``codec_ms``,
    what their client adds that no figure reports (``CODEC_MS`` for a client that decodes and
    encodes again, as every real one does; 0 for one that sends the music's own packets back)."""

    rtcp_rtt_ms: float | None = None
    stats: dict[str, float] = field(default_factory=dict)
    codec_ms: float = 0.0
    measured_ms: float | None = None  # the loop as ``LoopMeter`` measured it lately
    correction_ms: float = 0.0  # the last measure less the estimate at the time

    def loop_ms(self) -> float:
        """L_i: as measured lately, else as estimated, corrected by the last measure."""
        return self.measured_ms if self.measured_ms is not None else self.estimate_ms() + self.correction_ms

    def measured(self, loop_ms: float) -> None:
        """A measure of the loop: used while fresh, and then still the estimate's correction.

        What the estimate misses (a WebAudio echo counted with a device latency it never pays,
        the queues of a client's own pipeline) does not go away when the meter misses a round
        or two, or for good (headphones on): the estimate then moves with the member's figures
        from where the last measure put it, instead of jumping back by the difference.
        """
        self.measured_ms = loop_ms
        if self.rtcp_rtt_ms is not None or "rtt_ms" in self.stats:  # not against the default RTT
            self.correction_ms = loop_ms - self.estimate_ms()

    def estimate_ms(self) -> float:
        """Network both ways, their jitter buffer, output and input latency and the codec's
        part (``codec_latency_ms`` in their stats, where the protocol takes it, else ``codec_ms``);
        RTT + 60 ms without figures."""
        rtt = self.rtcp_rtt_ms if self.rtcp_rtt_ms is not None else self.stats.get("rtt_ms")
        rtt = DEFAULT_RTT_MS if rtt is None else rtt
        parts = ("jitter_buffer_ms", "output_latency_ms", "input_latency_ms")
        if not any(p in self.stats for p in parts):
            return rtt + DEFAULT_EXTRA_MS
        codec = self.stats.get("codec_latency_ms", self.codec_ms)
        return rtt + sum(self.stats.get(p, 0.0) for p in parts) + codec


class AudienceDelay:
    """Chooses D: the largest loop latency on stage, capped, rounded up to the 20 ms frame grid.

    D never sits below the largest loop (a voice whose loop is longer than D
    would reach the audience late by the difference): it rises at once. It
    falls only when the target is more than 40 ms lower, and at most once every
    10 s, so listeners rarely hear a jump.
    """

    def __init__(self, cap_ms: float = 1000.0) -> None:
        self.cap_ms = cap_ms
        self.delay_ms = 0.0
        self._changed_at: float | None = None

    def target(self, loops_ms: list[float]) -> float:
        if not loops_ms:
            return 0.0
        wanted = min(self.cap_ms, max(loops_ms))
        return min(self.cap_ms, FRAME_MS * math.ceil(wanted / FRAME_MS))

    def update(self, loops_ms: list[float], now_ms: float) -> bool:
        """Apply the rules; True when D changed."""
        target = self.target(loops_ms)
        if target == self.delay_ms:
            return False
        if target < self.delay_ms:  # lower: worth a jump only now and then; higher: at once
            if self.delay_ms - target <= MIN_STEP_MS:
                return False
            if self._changed_at is not None and now_ms - self._changed_at < MIN_INTERVAL_MS:
                return False
        self.delay_ms = target
        self._changed_at = now_ms
        return True


# --- measuring the loop: the member's voice against the music ------------------------------------

MEASURE_EVERY_MS = 2_000.0
RETRY_MS = 10_000.0  # after 3 rounds in a row without the music in a voice (headphones)
VOICE_S, MUSIC_S = 3.0, 4.5  # what is correlated: the voice's last seconds, the music's
RATE = 16_000  # correlation rate: 48 kHz decoded, averaged in threes
CONFIDENT = 3.0  # the echo's peak over the next best (GCC-PHAT): a clear echo, not a guess
STALE_MS = 10_000.0  # a measure not renewed for this long is forgotten (back to the estimate)

Heard = list[tuple[int, float, bytes]]  # (RTP timestamp, time it reached or left the server, payload)


class Ear(Consumer):
    """A consumer without a wire on a producer's live feed: keeps the last packets and the time each
    left the server (music) or reached it (a voice). ``Consumer.__init__`` is not called, as for
    ``tap.Tap``: nothing is numbered or sent."""

    def __init__(self, seconds: float) -> None:
        self.heard: deque[tuple[int, float, bytes]] = deque(maxlen=int(seconds * 50))
        self.packets = 0
        self.octets = 0
        self.rtt_ms = None
        self._closed = False

    def rebase(self) -> None:
        """Nothing to renumber: packets are kept as they come."""

    def send(self, payload: bytes, timestamp: int, sequence: int, marker: bool, now: float) -> bool:
        if not self._closed:
            self.heard.append((timestamp, now, payload))
        return False  # nothing sent to anyone: the counters stay true

    def sender_report(self) -> None:
        """Nothing goes on a wire."""


def timeline(heard: Heard) -> tuple[np.ndarray, np.ndarray]:
    """The packets decoded and placed by timestamp at 16 kHz (mono), and the server time (s) of
    every sample (its packet's plus its place in it; NaN where no packet was)."""
    first = heard[0][0]
    placed = [((ts - first) & 0xFFFFFFFF, at, payload) for ts, at, payload in heard]
    size = max(pos for pos, _, _ in placed) + 960
    if size > 48_000 * (MUSIC_S + 2):  # a jump in the timestamps: not one stretch of sound
        return np.zeros(0, np.float32), np.zeros(0)
    pcm, times = np.zeros(size - size % 3, np.float32), np.full(size - size % 3, np.nan)
    decoder = av.CodecContext.create("libopus", "r")
    decoder.sample_rate, decoder.layout, decoder.format = 48_000, "stereo", "s16"
    for pos, at, payload in sorted(placed, key=lambda p: p[0]):
        try:
            frames = decoder.decode(av.Packet(payload))
        except av.FFmpegError:
            continue
        for frame in frames:  # one frame per packet (20 ms from browsers; any length placed right)
            mono = frame.to_ndarray().reshape(-1, 2)[:, 0].astype(np.float32)
            end = min(pos + len(mono), len(pcm))
            pcm[pos:end] = mono[: end - pos]
            times[pos:end] = at + np.arange(end - pos) / 48_000
    return pcm.reshape(-1, 3).mean(axis=1), times[::3]


def echo_lag(music: np.ndarray, voice: np.ndarray, lo: int, hi: int) -> int | None:
    """The lag (samples) with voice[j] ~ music[j - lag], searched in [lo, hi] by GCC-PHAT; None
    unless its peak stands ``CONFIDENT`` times above the best other peak (2 ms away or more)."""
    n = 1 << (len(music) + len(voice) - 1).bit_length()
    cross = np.fft.rfft(voice, n) * np.conj(np.fft.rfft(music, n))
    corr = np.fft.irfft(cross / (np.abs(cross) + 1e-9), n)
    lags = np.arange(lo, hi + 1)
    values = corr[lags % n]
    best = int(np.argmax(values))
    near = np.abs(lags - lags[best]) < RATE // 500
    rest = float(np.max(values[~near])) if (~near).any() else 0.0
    return int(lags[best]) if values[best] > CONFIDENT * max(rest, 1e-12) else None


Timeline = tuple[np.ndarray, np.ndarray]
NOTHING: Timeline = (np.zeros(0, np.float32), np.zeros(0))


def audible(voice: Timeline) -> bool:
    """Some sound in a voice's ``timeline``: not a closed or muted microphone, nor a voice that
    has not started yet."""
    return len(voice[0]) >= RATE and float(np.std(voice[0])) >= 1.0


def measure_loop(music: Timeline, voice: Timeline, cap_ms: float) -> float | None:
    """How long after the music (``timeline`` of what left the server) the member's voice carrying
    it came back (ms): from the later half of the voice (its ``timeline``), else from the earlier
    one; None unless one of them clearly carries the music (not with headphones, nor in silence).

    The later half wins even when the halves disagree: a loop that moved (a client's jitter buffer
    shrinking at once by 20 ms) is followed at the next round, not after the old figure has gone
    stale. What keeps a guess out is each half's own peak (``CONFIDENT`` over any other lag)."""
    m_pcm, m_times = music
    v_pcm, v_times = voice
    half = len(v_pcm) // 2
    if not len(m_pcm) or not audible(voice):
        return None
    m0 = float(np.nanmedian(m_times - np.arange(len(m_times)) / RATE))
    for at in (half, 0):
        loop = _half_loop(m_pcm, m_times, m0, v_pcm[at : at + half], v_times[at : at + half], cap_ms)
        if loop is not None:
            return loop
    return None


def _half_loop(m_pcm: np.ndarray, m_times: np.ndarray, m0: float, v_pcm: np.ndarray,
               v_times: np.ndarray, cap_ms: float) -> float | None:
    if not np.isfinite(v_times).any():
        return None
    v0 = float(np.nanmedian(v_times - np.arange(len(v_times)) / RATE))
    lo, hi = int((-(v0 - m0)) * RATE), int((cap_ms / 1000 - (v0 - m0)) * RATE)  # a loop of 0..cap
    lag = echo_lag(m_pcm, v_pcm, lo, hi)
    if lag is None:
        return None
    j = np.arange(max(0, lag), min(len(v_pcm), len(m_pcm) + lag))
    loops = (v_times[j] - m_times[j - lag]) * 1000.0
    loops = loops[np.isfinite(loops)]
    return float(np.median(loops)) if len(loops) > RATE // 4 else None


class LoopMeter:
    """Measures each stage member's loop where their microphone hears the music (speakers, not
    headphones): every 2 s their voice of the last 3 s is decoded and correlated with the music
    sent in the last 4.5 s, off the event loop (about 12 ms of CPU per round for the music and
    15 ms per voice). A clear measure (``measure_loop``) sets the member's ``measured_ms``; one
    not renewed for 10 s is dropped, and the estimate is used again, with the last measure's
    correction. A voice with sound but without the music three times in a row (headphones) is
    tried again only every 10 s; a silent one (a microphone not yet open, or muted) every 2 s,
    without decoding the music for it."""

    def __init__(self, cap_ms: float = 1000.0) -> None:
        self.cap_ms = cap_ms
        self.enabled = True
        self._music: tuple[Producer, Ear] | None = None
        self._voices: dict[str, tuple[Producer, Ear]] = {}
        self._measured_at: dict[str, float] = {}  # owner -> when their loop was last measured
        self._due: dict[str, float] = {}  # owner -> when to measure them next
        self._misses: dict[str, int] = {}  # owner -> rounds in a row without the music in their voice
        self._busy = False

    def update(self, music: Producer, voices: Mapping[str, Producer],
               members: Mapping[str, MemberLatency], now_ms: float) -> None:
        """Follow the producers; start a round of measures when one is due; forget stale ones."""
        self._listen(music, {o: p for o, p in voices.items() if o in members and not p.closed})
        for owner, member in members.items():
            if member.measured_ms is not None and now_ms - self._measured_at.get(owner, -STALE_MS) > STALE_MS:
                member.measured_ms = None
        due = {o: list(ear.heard) for o, (_, ear) in self._voices.items()
               if now_ms >= self._due.get(o, 0.0) and len(ear.heard) == ear.heard.maxlen}  # 3 s of voice
        if self._busy or self._music is None or not due:
            return
        self._busy = True
        heard = list(self._music[1].heard)
        job = asyncio.get_running_loop().run_in_executor(None, self._measure_all, heard, due)
        job.add_done_callback(lambda done: self._apply(done, members, now_ms))

    def _measure_all(self, music: Heard, voices: dict[str, Heard]) -> dict[str, tuple[bool, float | None]]:
        """Each voice: (audible, its loop or None); the music is decoded only for audible ones."""
        heard = {owner: timeline(voice) if len(voice) >= 50 else NOTHING for owner, voice in voices.items()}
        sound = {owner: audible(voice) for owner, voice in heard.items()}
        if not any(sound.values()):
            return {owner: (False, None) for owner in heard}
        sent = timeline(music) if len(music) >= 100 else NOTHING
        return {owner: (sound[owner], measure_loop(sent, voice, self.cap_ms) if sound[owner] else None)
                for owner, voice in heard.items()}

    def _apply(self, done: asyncio.Future, members: Mapping[str, MemberLatency], now_ms: float) -> None:
        self._busy = False
        if done.cancelled() or done.exception() is not None:
            return
        for owner, (sound, loop) in done.result().items():
            member = members.get(owner)
            if sound:  # silence (a mic not open yet, or muted) tells nothing of headphones
                self._misses[owner] = 0 if loop is not None else self._misses.get(owner, 0) + 1
            misses = self._misses.get(owner, 0)
            self._due[owner] = now_ms + (RETRY_MS if misses >= 3 else MEASURE_EVERY_MS)
            if member is not None and loop is not None:
                member.measured(loop)
                self._measured_at[owner] = now_ms

    def _listen(self, music: Producer | None, voices: dict[str, Producer]) -> None:
        """An ear on each voice and, while there is one, on the music."""
        wanted = voices if self.enabled and music is not None else {}
        for owner in [o for o, (p, _) in self._voices.items() if wanted.get(o) is not p]:
            producer, ear = self._voices.pop(owner)
            producer.remove_consumer(ear)
            self._measured_at.pop(owner, None)
            self._due.pop(owner, None)
            self._misses.pop(owner, None)
        for owner, producer in wanted.items():
            if owner not in self._voices:
                self._voices[owner] = (producer, Ear(VOICE_S))
                producer.add_consumer(self._voices[owner][1], live=True)
        if self._music is not None and (not self._voices or self._music[0] is not music):
            self._music[0].remove_consumer(self._music[1])
            self._music = None
        if self._voices and self._music is None and music is not None:
            self._music = (music, Ear(MUSIC_S))
            music.add_consumer(self._music[1], live=True)

    def close(self) -> None:
        self._listen(None, {})
