"""Ten simulated minutes on a fake clock: exactly one frame per tick, whatever happens meanwhile."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from mixer import RoomMusic
from tests.audio_helpers import Ticks, events_of, tone_library

TICKS = 30_000  # 10 minutes of 20 ms
CEILING = 10 ** (-1 / 20)


def test_ten_minutes_are_exactly_28_8_million_samples(tmp_path: Path) -> None:
    tones = {f"T{i}": (200.0 + 37.3 * i, seconds) for i, seconds in enumerate((3.0, 4.5, 6.0, 2.5))}
    library = tone_library(tmp_path, tones)
    tracks = library.tracks()
    music = RoomMusic(library, crossfade_s=2.0)
    now = events_of(music)
    queued: list[list[dict]] = []
    music.on("queue", queued.append)

    clock = Ticks()
    samples = 0
    peak = 0.0
    energy = 0.0
    for n in range(TICKS):
        if n % 50 == 0:  # a speaker talks for 0.4 s every second
            music.set_voice_active(True)
        elif n % 50 == 20:
            music.set_voice_active(False)
        if n % 1500 == 700:  # twice a minute, the host skips
            music.skip()
        if n % 3000 == 100:  # once a minute, two requests; one is taken back
            music.queue_add(tracks[n // 3000 % len(tracks)])
            entry = music.queue_add(tracks[0])
            music.queue_remove(entry["entry_id"])
        if n % 6000 == 3000:
            music.set_crossfade(0 if music.crossfade_s else 2.0)
        frame = music.render(clock.ms())
        assert frame.shape == (960, 2) and frame.dtype == np.float32
        samples += len(frame)
        peak = max(peak, float(np.abs(frame).max()))
        energy += float(np.square(frame, dtype=np.float64).sum())
        clock.n += 1

    assert samples == 48_000 * 600
    assert math.isfinite(energy) and energy > 0
    assert peak <= CEILING + 1e-6
    rms_db = 10 * math.log10(energy / (2 * samples))
    assert -30 < rms_db < -14  # music all along (at -16 LUFS, ducked 40 % of the time)
    assert len(now) > 100  # track changes (about 140 by the tracks' lengths and the skips)
    assert len(queued) == 10 * 3 + 10  # three queue changes a minute, and ten entries that left to play
    assert music.queue() == []
