"""The CPU of a room's program: the mix (``mixer.program.ProgramMix``) and each HTTP encoder.

The server runs one ``ProgramMix`` per room while something consumes it, and
feeds its frames to one encoder per format in use (``mixer.program_codecs``:
``OggOpusStream`` for ``listen.ogg`` and recordings, ``Mp3Stream`` for
``listen.mp3``, ``AacSegments`` for HLS). This drives them the same way, in
one process, without a network:

- the music is the first demo piece (``mixer.synth``), Opus-encoded as the
  room's mixer sends it (``OpusFrameEncoder``, its default bit rate); each
  voice a spoken-like signal (a 150 Hz harmonic series in 4 Hz syllables), Opus
  at 32 kbit/s, pushed 3 ms after the music as if from a separate path;
- ``push`` every source's packet, then ``render`` once per 20 ms tick, as
  ``signaling.model.program`` does on the room clock;
- the mix with music only, then with ``--voices`` voices (the cost per added
  voice is the difference over their number); then the frames of the mix with
  one voice through each encoder.

CPU is ``time.process_time`` over the loop (decode, level, mix, limit or
encode), per 20 ms frame, and as a share of one core (us / 20,000). ``--runs``
times each; prints JSON with the medians and every run.

``python -m benchmarks.mix_bench [--seconds 10] [--voices 3] [--runs 3] [--server-cpu 0]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from mixer.audio import FRAME_SAMPLES, SAMPLE_RATE
from mixer.encoder import OpusFrameEncoder
from mixer.program import ProgramMix
from mixer.program_codecs import AacSegments, Mp3Stream, OggOpusStream
from mixer.synth import PIECES, render_piece

FRAME_US = 20_000.0
VOICE_BITRATE = 32_000
VOICE_LAG_MS = 3.0
ENCODERS: dict[str, Callable[[], Any]] = {
    "ogg_opus": OggOpusStream,
    "mp3": Mp3Stream,
    "hls_aac": AacSegments,
}


def voice_signal(seconds: float, pitch: float = 150.0) -> np.ndarray:
    """``(n, 2)`` float32: a harmonic series at ``pitch`` Hz, in syllables of a quarter second."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = sum(np.sin(2 * np.pi * pitch * k * t) / k for k in range(1, 9))
    syllables = np.clip(np.sin(2 * np.pi * 2.0 * t), 0.0, None)  # 4 bursts a second, silence between
    mono = (0.15 * tone * syllables).astype(np.float32)
    return np.stack((mono, mono), axis=1)


def opus_packets(audio: np.ndarray, bitrate: int | None = None) -> list[bytes]:
    encoder = OpusFrameEncoder() if bitrate is None else OpusFrameEncoder(bitrate)
    return [encoder.encode(audio[i : i + FRAME_SAMPLES])
            for i in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES)]


def run_mix(music: list[bytes], voice: list[bytes], voices: int) -> tuple[float, list[np.ndarray]]:
    """CPU us per frame of pushing and rendering the music and ``voices`` voices; the frames."""
    mix = ProgramMix()
    frames = []
    t0 = time.process_time()
    for k, packet in enumerate(music):
        now = 1000.0 + k * 20.0
        mix.push("m1", packet, k * FRAME_SAMPLES, now, voice=False)
        for v in range(voices):
            mix.push(f"v{v}", voice[k], k * FRAME_SAMPLES, now + VOICE_LAG_MS, voice=True)
        frames.append(mix.render(now + 20.0))
    return (time.process_time() - t0) / len(music) * 1e6, frames


def run_encoder(make: Callable[[], Any], frames: list[np.ndarray]) -> float:
    """CPU us per frame of one encoder fed ``frames``."""
    encoder = make()
    t0 = time.process_time()
    for frame in frames:
        encoder.feed(frame)
    return (time.process_time() - t0) / len(frames) * 1e6


def run_once(music: list[bytes], voice: list[bytes], voices: int) -> dict[str, float]:
    music_only, _ = run_mix(music, voice, 0)
    with_voices, _ = run_mix(music, voice, voices)
    _, frames = run_mix(music, voice, 1)
    out = {
        "mix_music_us": music_only,
        f"mix_music_{voices}_voices_us": with_voices,
        "per_voice_us": (with_voices - music_only) / voices,
    }
    for name, make in ENCODERS.items():
        out[f"{name}_us"] = run_encoder(make, frames)
    return {k: round(v, 1) for k, v in out.items()}


def summary(median: dict[str, float]) -> dict[str, Any]:
    """Per figure: us per 20 ms frame and the share of one core (percent)."""
    return {k.removesuffix("_us"): {"us_per_frame": v, "core_pct": round(v / FRAME_US * 100, 2)}
            for k, v in median.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mix_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="audio per measurement (at most 40)")
    parser.add_argument("--voices", type=int, default=3, help="voices on stage for the per-voice cost")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server-cpu", default="0", help="pin to this CPU ('' for none)")
    parser.add_argument("--load-cpu", default="", help="unused (benchmarks.run passes it to every extra)")
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 40 or args.voices < 1 or args.runs < 1:
        parser.error("--seconds must be in (0, 40], --voices and --runs positive")
    if args.server_cpu and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {int(args.server_cpu)})
    piece = render_piece(PIECES[0])[: int(args.seconds * SAMPLE_RATE)]
    music = opus_packets(piece)
    voice = opus_packets(voice_signal(args.seconds), VOICE_BITRATE)
    runs = [run_once(music, voice, args.voices) for _ in range(args.runs)]
    median = {k: round(statistics.median(r[k] for r in runs), 1) for k in runs[0]}
    print(json.dumps({
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "settings": {"seconds": args.seconds, "voices": args.voices, "runs": args.runs,
                     "frames": len(music), "cpu": args.server_cpu},
        "median": summary(median),
        "runs": runs,
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
