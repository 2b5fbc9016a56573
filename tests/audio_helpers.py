"""Helpers shared by the audio and mixer tests: audio files made by PyAV, tone libraries, and a
fake room clock. (Spectra and the tone itself are in clients.py: ``tone``, ``peak_hz``.)"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from mixer import Library, RoomMusic, Track
from mixer.limiter import LOOKAHEAD
from tests.clients import RATE, tone

LATENCY_MS = LOOKAHEAD / 48  # the limiter's look-ahead: samples come out 5 ms after they are rendered

# title: (Hz, seconds); whole cycles do not fit, so every track ends mid-wave (a click if cut)
TONES = {"A": (443.3, 1.0), "B": (661.7, 1.5), "C": (883.1, 2.0)}
TONE_LEVEL = 0.5  # the peak of the tones in tone libraries


def write_audio(
    path: Path,
    seconds: float = 1.0,
    *,
    codec: str = "flac",
    container: str | None = None,
    rate: int = RATE,
    layout: str = "stereo",
    freq: float = 440.0,
    level: float = 0.25,
    signal: np.ndarray | None = None,
    **tags: str,
) -> Path:
    """A tagged sine of ``freq`` (or ``signal``: ``(n, channels)`` floats in -1..1) in any format
    PyAV writes (flac, pcm_s16le, libmp3lame, libopus, aac); the container follows the file's
    name unless ``container`` names it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 2 if layout == "stereo" else 1
    samples = tone(freq, seconds, level, rate) if signal is None else signal
    planar = np.ascontiguousarray(samples[:, :channels].T, dtype=np.float32)
    with av.open(str(path), "w", format=container) as out:
        out.metadata.update(tags)
        stream = out.add_stream(codec, rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate = rate
        frame.pts = 0
        want = stream.codec_context.codec.audio_formats[0].name
        for converted in av.AudioResampler(format=want, layout=layout, rate=rate).resample(frame):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))
    return path


def write_tones(folder: Path, tones: dict[str, tuple[float, float]] = TONES) -> None:
    """One FLAC per title of ``tones`` ({title: (Hz, seconds)}), artist "Test", album "Tones"."""
    for title, (freq, seconds) in tones.items():
        write_audio(folder / f"{title}.flac", seconds, freq=freq, level=TONE_LEVEL,
                    title=title, artist="Test", album="Tones")


def tone_library(folder: Path, tones: dict[str, tuple[float, float]] = TONES) -> Library:
    """A scanned library of ``write_tones``: with TONES, A 1 s, B 1.5 s, C 2 s."""
    write_tones(folder, tones)
    library = Library(folder)
    library.scan()
    return library


def by_title(library: Library, title: str) -> Track:
    return next(t for t in library.tracks() if t.title == title)


class Ticks:
    """A fake room clock: tick n is at n * 20 ms."""

    def __init__(self) -> None:
        self.n = 0

    def ms(self) -> float:
        return self.n * 20.0

    def run(self, music: RoomMusic, count: int) -> np.ndarray:
        frames = []
        for _ in range(count):
            frames.append(music.render(self.ms()))
            self.n += 1
        return np.concatenate(frames)


def plain(library: Library, **kw: object) -> RoomMusic:
    """A RoomMusic without crossfades or loudness normalization."""
    return RoomMusic(library, crossfade_s=0, target_lufs=None, **kw)  # type: ignore[arg-type]


def events_of(music: RoomMusic) -> list[dict]:
    """Every ``now_playing`` the music emits from now on."""
    seen: list[dict] = []
    music.on("now_playing", seen.append)
    return seen
