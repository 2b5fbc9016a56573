"""The demo library: five short original pieces, synthesized with numpy on first start.

``ensure_demo_library(data_dir)`` writes them as Ogg/Opus files (48 kHz stereo,
128 kbit/s, title/artist/album tags) into ``data_dir/demo-music/``. Each file is
written under a temporary name and renamed when complete, so a crash never
leaves a half file under a final name; files already there are kept. The
music is composed deterministically (seeded), so every install gets the same
five pieces. Rendering and encoding all five takes about 2 s on one core.

The rendering runs in a child process (``write_missing`` there): its
buffers peak near 150 MB, and a server that rendered them itself kept that
heap for good (glibc does not give it back). In-process is the fallback.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from . import instruments as ins
from .audio import SAMPLE_RATE

log = logging.getLogger(__name__)

DEMO_DIR = "demo-music"
ARTIST = "OnAir Demo Band"
ALBUM = "OnAir Demo"
_BITRATE = 128_000
_CHUNK = 9600  # samples per frame handed to the encoder

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)


@dataclass(frozen=True)
class Piece:
    """The recipe of one demo piece."""

    slug: str
    title: str
    root: int  # MIDI note of the tonic, in the bass octave
    scale: tuple[int, ...]
    bpm: float
    bars: int
    progression: tuple[int, ...]  # scale degrees (0-based), one chord per bar, cycled
    lead: str  # "pluck" or "bell"
    drums: str  # "pop", "soft" or "none"
    seed: int


PIECES: tuple[Piece, ...] = (
    Piece(
        "01-morning-signal", "Morning Signal", 48, MAJOR, 100, 20, (0, 4, 5, 3), "pluck", "pop", 1
    ),
    Piece("02-night-bus", "Night Bus", 45, MINOR, 84, 16, (0, 5, 2, 6), "bell", "soft", 2),
    Piece("03-paper-kites", "Paper Kites", 43, MAJOR, 120, 24, (0, 3, 1, 4), "pluck", "pop", 3),
    Piece("04-low-tide", "Low Tide", 50, MINOR, 72, 12, (0, 3, 0, 4), "bell", "none", 4),
    Piece("05-open-window", "Open Window", 41, MAJOR, 108, 20, (3, 0, 4, 5), "pluck", "soft", 5),
)


def ensure_demo_library(data_dir: Path) -> Path:
    """Make sure ``data_dir/demo-music/`` holds the demo pieces; returns that folder.

    Idempotent: a piece whose file exists is not written again. Leftover
    temporary files of an interrupted run are removed. Missing pieces are
    rendered by a child process, or here if the child fails.
    """
    folder = Path(data_dir) / DEMO_DIR
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob(".*.tmp"):
        stale.unlink(missing_ok=True)
    if _missing(folder) and not _render_in_child(folder):
        write_missing(folder)
    return folder


def _missing(folder: Path) -> list[tuple[int, Piece]]:
    pieces = []
    for number, piece in enumerate(PIECES, start=1):
        path = folder / f"{piece.slug}.opus"
        if not (path.exists() and path.stat().st_size > 0):
            pieces.append((number, piece))
    return pieces


def write_missing(folder: Path) -> None:
    """Render and write, in this process, every piece missing from ``folder``."""
    for number, piece in _missing(folder):
        path = folder / f"{piece.slug}.opus"
        log.info("writing demo track %s", path)
        write_opus(path, render_piece(piece), piece.title, number)


_CHILD = "import sys, pathlib, mixer.synth; mixer.synth.write_missing(pathlib.Path(sys.argv[1]))"


def _render_in_child(folder: Path) -> bool:
    """``write_missing(folder)`` in a child process; True when every piece is there afterwards."""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    try:
        subprocess.run([sys.executable, "-c", _CHILD, str(folder)], env=env, check=True, timeout=300,
                       stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("demo library: the child process failed (%s), rendering here", exc)
        return False
    return not _missing(folder)


def write_opus(path: Path, audio: np.ndarray, title: str, track_number: int = 0) -> None:
    """Encode ``(n, 2)`` float32 ``audio`` to Ogg/Opus at ``path``, atomically, with tags."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with av.open(str(tmp), "w", format="ogg") as out:
            out.metadata.update({"title": title, "artist": ARTIST, "album": ALBUM})
            if track_number:
                out.metadata["track"] = str(track_number)
            stream = out.add_stream("libopus", rate=SAMPLE_RATE, layout="stereo")
            stream.bit_rate = _BITRATE
            stream.codec_context.format = "flt"
            for start in range(0, len(audio), _CHUNK):
                chunk = np.ascontiguousarray(audio[start : start + _CHUNK])
                frame = av.AudioFrame.from_ndarray(
                    chunk.reshape(1, -1), format="flt", layout="stereo"
                )
                frame.sample_rate = SAMPLE_RATE
                frame.pts = start
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def render_piece(piece: Piece) -> np.ndarray:
    """Compose and render one piece: ``(n, 2)`` float32 at 48 kHz."""
    rng = np.random.default_rng(piece.seed)
    beat = 60.0 / piece.bpm
    bar = 4 * beat
    seconds = piece.bars * bar + 2.0
    canvas = ins.Canvas(seconds)
    lead_canvas = ins.Canvas(seconds)
    motif = _motif(rng)
    for b in range(piece.bars):
        degree = piece.progression[b % len(piece.progression)]
        at = b * bar
        section = _section(b, piece.bars)
        _chord(canvas, piece, degree, at, bar)
        _bassline(canvas, piece, degree, at, beat, busy=section != "intro")
        if section in ("a", "b"):
            _melody(
                lead_canvas, piece, degree, at, beat, motif, variant=section == "b" or b % 8 >= 4
            )
        if piece.drums != "none" and section != "intro":
            _drums(canvas, piece.drums, at, beat, rng, fill=b % 4 == 3)
    lead_canvas.echo(delay=beat * 0.75, feedback=0.35, mix=0.3)
    canvas.buf += lead_canvas.buf
    return canvas.master(seconds)


def _section(bar: int, bars: int) -> str:
    if bar < 4:
        return "intro"
    if bar >= bars - 2:
        return "outro"
    return "b" if (bar // 4) % 3 == 2 else "a"


def _scale_note(piece: Piece, degree: int, octave: int = 0) -> int:
    n = len(piece.scale)
    return piece.root + 12 * (octave + degree // n) + piece.scale[degree % n]


def _chord(canvas: ins.Canvas, piece: Piece, degree: int, at: float, bar: float) -> None:
    for i, step in enumerate((0, 2, 4, 7)):
        note = _scale_note(piece, degree + step, octave=1)
        canvas.add(ins.pad(ins.midi_hz(note), bar + 0.3), at, gain=0.11, pan=(i - 1.5) * 0.35)


def _bassline(
    canvas: ins.Canvas, piece: Piece, degree: int, at: float, beat: float, busy: bool
) -> None:
    root = ins.midi_hz(_scale_note(piece, degree, octave=-1))
    fifth = ins.midi_hz(_scale_note(piece, degree + 4, octave=-1))
    if not busy:
        canvas.add(ins.bass(root, 4 * beat), at, gain=0.35)
        return
    pattern = ((0.0, root, 1.5), (1.5, root, 0.5), (2.0, fifth, 1.0), (3.0, root, 0.75))
    for offset, freq, length in pattern:
        canvas.add(ins.bass(freq, length * beat * 0.95), at + offset * beat, gain=0.38)


def _motif(rng: np.random.Generator) -> list[tuple[float, int, float]]:
    """A one-bar rhythm/contour: (beat offset, scale step from the chord root, length in beats)."""
    rhythms = (
        (0.0, 1.0, 1.5, 2.0, 3.0),
        (0.0, 0.5, 1.0, 2.0, 2.5, 3.0),
        (0.0, 1.5, 2.0, 3.0, 3.5),
        (0.0, 0.75, 1.5, 2.5, 3.0),
    )
    onsets = rhythms[int(rng.integers(len(rhythms)))]
    steps = [0]
    for _ in onsets[1:]:
        steps.append(int(np.clip(steps[-1] + rng.choice((-2, -1, 1, 1, 2, 3)), -2, 7)))
    ends = list(onsets[1:]) + [4.0]
    return [(o, s, e - o) for o, s, e in zip(onsets, steps, ends, strict=True)]


def _melody(
    canvas: ins.Canvas,
    piece: Piece,
    degree: int,
    at: float,
    beat: float,
    motif: list[tuple[float, int, float]],
    variant: bool,
) -> None:
    voice = ins.pluck if piece.lead == "pluck" else ins.bell
    for i, (offset, step, length) in enumerate(motif):
        if variant and i == len(motif) - 1:
            step += 2  # answer phrase: end higher
        note = _scale_note(piece, degree + step + (2 if variant else 0), octave=2)
        canvas.add(voice(ins.midi_hz(note), length * beat * 0.9), at + offset * beat, gain=0.16)


def _drums(
    canvas: ins.Canvas, style: str, at: float, beat: float, rng: np.random.Generator, fill: bool
) -> None:
    for b in range(4):
        t = at + b * beat
        if b in (0, 2) or (style == "pop" and fill and b == 3):
            canvas.add(ins.kick(rng), t, gain=0.55 if style == "pop" else 0.4)
        if b in (1, 3) and style == "pop":
            canvas.add(ins.snare(rng), t, gain=0.3, pan=0.1)
        if style == "pop":
            canvas.add(ins.hat(rng), t + beat / 2, gain=0.5, pan=0.3)
            canvas.add(ins.hat(rng, open_=fill and b == 3), t, gain=0.3, pan=0.3)
        else:
            for sub in range(4):
                canvas.add(
                    ins.shaker(rng), t + sub * beat / 4, gain=0.8 if sub % 2 else 0.5, pan=-0.3
                )
