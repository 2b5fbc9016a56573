"""A library scan of many files, and how late it makes the event loop.

Writes ``--files`` small tagged WAV files into a temporary folder, then runs the
server's own ``library_sync.open_library`` (scan in a thread, loudness measured,
written to a real SQLite store) while a task sleeps 10 ms again and again and
records how late it wakes; then an incremental rescan with nothing changed.
Prints JSON.

``python -m benchmarks.scan_bench --files 1000``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import av
import numpy as np

from signaling.config import Settings
from signaling.model import library_sync
from signaling.store import Store


def write_tone(path: Path, freq: float, index: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(4000) / 8000.0
    signal = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[None, :]
    with av.open(str(path), "w") as out:
        out.metadata.update({"title": f"Tone {index}", "artist": "Generated"})
        stream = out.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(signal, format="fltp", layout="mono")
        frame.sample_rate = 8000
        frame.pts = 0
        for converted in av.AudioResampler(format="s16", layout="mono", rate=8000).resample(frame):
            out.mux(stream.encode(converted))
        out.mux(stream.encode(None))


T = TypeVar("T")


async def late_while(coro: Awaitable[T]) -> tuple[T, list[float], float]:
    """Run ``coro`` while a task sleeps 10 ms in a loop: result, lateness samples (ms), seconds."""
    late: list[float] = []
    done = False

    async def ticker() -> None:
        while not done:
            before = time.perf_counter()
            await asyncio.sleep(0.010)
            late.append((time.perf_counter() - before - 0.010) * 1000.0)

    task = asyncio.ensure_future(ticker())
    started = time.perf_counter()
    try:
        result = await coro
    finally:
        done = True
        await task
    return result, late, time.perf_counter() - started


def summary(late: list[float], seconds: float) -> dict[str, float]:
    ordered = sorted(late) or [0.0]
    return {
        "seconds": round(seconds, 2),
        "loop_late_ms_max": round(ordered[-1], 1),
        "loop_late_ms_p99": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 1),
    }


async def run(files: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        music, demo = root / "music", root / "demo"
        demo.mkdir()
        for i in range(files):
            write_tone(music / f"{i // 100:02}" / f"tone-{i:04}.wav", 200.0 + i, i)
        settings = Settings(data_dir=root / "data", music_dirs=[music])
        store = Store.in_data_dir(settings.data_dir)
        library, late, seconds = await late_while(library_sync.open_library(settings, store, demo))
        first = summary(late, seconds)
        _, late, seconds = await late_while(library_sync.open_library(settings, store, demo))
        again = summary(late, seconds)
        count = store.track_count()
        store.close()
    return {"files": files, "tracks_stored": count, "first_scan": first, "scan_again_unchanged": again}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scan_bench", description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.files)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
