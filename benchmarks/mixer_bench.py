"""CPU per room of the music: ``RoomMusic.next_frame`` (render + Opus encode) on the demo library.

Each run plays a fresh room for ``--ticks`` ticks (3000: one minute of audio)
with the conditions of a live show: crossfades on (3 s), the host skipping
every 20 s (so crossfades happen), a speaker talking 0.4 s of every second
(ducking in and out), loudness normalization and the limiter always on.
Reported: process CPU seconds per second of audio (the share of one core a
room costs), the median of ``--runs`` runs, split into render and encode,
and the rooms one core could carry. Prints JSON.

``python -m benchmarks.mixer_bench [--ticks 3000] [--runs 3]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from mixer import Library, OpusFrameEncoder, RoomMusic, ensure_demo_library
from mixer.audio import FRAME_MS

TARGET_SHARE = 0.03  # at most 3 % of a core per room


def run_once(library: Library, ticks: int, crossfade_s: float) -> dict[str, float]:
    """One room for ``ticks`` ticks; CPU seconds spent rendering and encoding."""
    music = RoomMusic(library, crossfade_s=crossfade_s)
    encoder = OpusFrameEncoder()
    render_s = encode_s = 0.0
    for n in range(ticks):
        if n % 50 == 0:
            music.set_voice_active(True)
        elif n % 50 == 20:
            music.set_voice_active(False)
        if n % 1000 == 999:
            music.skip()
        t0 = time.process_time()
        frame = music.render(n * FRAME_MS)
        t1 = time.process_time()
        encoder.encode(frame)
        t2 = time.process_time()
        render_s += t1 - t0
        encode_s += t2 - t1
    music.close()
    return {"render_s": render_s, "encode_s": encode_s}


def bench(ticks: int, runs: int, crossfade_s: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        demo = ensure_demo_library(Path(tmp))
        library = Library(demo)
        library.scan()
        setup_s = time.perf_counter() - t0
        results = [run_once(library, ticks, crossfade_s) for _ in range(runs)]
    audio_s = ticks * FRAME_MS / 1000
    total = statistics.median(r["render_s"] + r["encode_s"] for r in results)
    share = total / audio_s
    return {
        "ticks": ticks,
        "runs": runs,
        "audio_s": audio_s,
        "crossfade_s": crossfade_s,
        "tracks": len(library),
        "setup_s": round(setup_s, 2),
        "cpu_share_per_room": round(share, 5),
        "render_share": round(statistics.median(r["render_s"] for r in results) / audio_s, 5),
        "encode_share": round(statistics.median(r["encode_s"] for r in results) / audio_s, 5),
        "us_per_frame": round(total / ticks * 1e6, 1),
        "rooms_per_core": int(1 / share) if share > 0 else None,
        "target_share": TARGET_SHARE,
        "within_target": share <= TARGET_SHARE,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--ticks", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--crossfade", type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps(bench(args.ticks, args.runs, args.crossfade), indent=2))


if __name__ == "__main__":
    main()
