"""Crossfades: equal-power overlaps at track ends and on skip, no discontinuity, hard cuts at 0."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer import Library, RoomMusic
from tests.audio_helpers import LATENCY_MS, Ticks, events_of, tone_library

RATE = 48_000
# low tones, so that a sample-to-sample step of the music itself is small and a click would stand out;
# odd frequencies, so that no seam falls on a zero crossing
TONES = {"A": (223.3, 4.0), "B": (331.7, 4.0), "C": (277.1, 1.0)}


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return tone_library(tmp_path, TONES)


def at(seconds: float) -> int:
    return int(seconds * RATE + LATENCY_MS * 48)


def max_step(audio: np.ndarray) -> float:
    return float(np.abs(np.diff(audio, axis=0)).max())


def level_db(audio: np.ndarray) -> float:
    return float(10 * np.log10(np.mean(audio**2)))


def band(audio: np.ndarray, freq: float) -> float:
    """Amplitude of the ``freq`` component of ``audio`` (one channel; Hann window, little leakage)."""
    t = np.arange(len(audio)) / RATE
    window = np.hanning(len(audio))
    return float(2 * abs(np.sum(audio * window * np.exp(-2j * np.pi * freq * t))) / window.sum())


def test_track_end_crossfades_without_a_discontinuity(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=1.0)
    events = events_of(music)
    audio = clock.run(music, 300)  # 6 s: A alone, A -> B over 1 s from 3 s, B alone
    starts = [(e["track"]["title"], e["server_ms"] - e["position_ms"]) for e in events]
    assert starts == [("A", pytest.approx(LATENCY_MS)), ("B", pytest.approx(3000 + LATENCY_MS))]

    alone_a, alone_b = audio[at(0.5) : at(3.0)], audio[at(4.0) : at(6.0) - 300]
    fade = audio[at(2.9) : at(4.1)]
    # no step at the seam bigger than both tracks' own biggest steps added
    assert max_step(fade) <= max_step(alone_a) + max_step(alone_b) + 1e-4
    # in the middle both play, at equal-power gains
    middle = audio[at(3.5) - 2400 : at(3.5) + 2400, 0]
    assert band(middle, 223.3) == pytest.approx(band(middle, 331.7), rel=0.1)
    assert band(middle, 223.3) == pytest.approx(band(alone_a[:, 0], 223.3) / np.sqrt(2), rel=0.1)
    # and the level holds through the fade (both tracks were brought to the same loudness)
    for start in np.arange(2.9, 4.1, 0.05):
        assert level_db(audio[at(start) : at(start) + 2400]) == pytest.approx(level_db(alone_a), abs=0.5)


def test_skip_crossfades_from_the_current_position(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=1.0)
    events = events_of(music)
    before = clock.run(music, 50)
    music.skip()
    assert events[-1]["track"]["title"] == "B" and events[-1]["position_ms"] == 0
    after = clock.run(music, 100)
    audio = np.concatenate((before, after))
    seam = at(1.0)
    assert max_step(audio[seam - 4800 : seam + 48_000]) <= max_step(before) + max_step(after[-48_000:]) + 1e-4
    half = after[at(0.5) - 2400 : at(0.5) + 2400, 0]  # A from 1 s on, under B from its start
    assert band(half, 223.3) == pytest.approx(band(half, 331.7), rel=0.1)
    assert band(after[at(1.1) :, 0], 223.3) < 1e-3  # A is gone after the crossfade
    assert music.now_playing()["position_ms"] == 2000


def test_skip_during_a_crossfade_turns_the_rising_track_back(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=1.0)
    before = clock.run(music, 50)
    music.skip()  # A -> B
    middle = clock.run(music, 10)
    music.skip()  # B (at 0.2 s of its fade-in) -> C, A still fading out
    after = clock.run(music, 100)
    assert music.now_playing()["track"]["title"] == "A"  # C (1 s) ended; the rotation goes on
    audio = np.concatenate((before, middle, after))
    assert max_step(audio) <= 3 * max_step(before) + 1e-4  # three tones at most, no jump
    assert np.abs(audio).max() <= 10 ** (-1 / 20) + 1e-6


def test_short_tracks_crossfade_over_half_their_length(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=3.0)
    events = events_of(music)
    clock.run(music, 400)
    starts = [(e["track"]["title"], round(e["server_ms"] - e["position_ms"] - LATENCY_MS)) for e in events]
    # A (4 s) -> B starts 2 s before A's end (half of B); B -> C (1 s) 0.5 s before B's end;
    # C -> A 0.5 s before C's end
    assert starts[:4] == [("A", 0), ("B", 2000), ("C", 5500), ("A", 6000)]


def test_crossfade_zero_is_a_gapless_cut(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=3.0)
    music.set_crossfade(0)
    assert music.crossfade_s == 0.0
    events = events_of(music)
    audio = clock.run(music, 300)
    starts = [(e["track"]["title"], round(e["server_ms"] - e["position_ms"] - LATENCY_MS)) for e in events]
    assert starts == [("A", 0), ("B", 4000)]
    seam = at(4.0)
    assert band(audio[seam - 4800 : seam - 480, 0], 331.7) < 1e-3  # no overlap before the seam
    assert band(audio[seam + 480 : seam + 4800, 0], 223.3) < 1e-3  # nor after it
    # the 10 ms fades keep the step at the seam within what the tones do themselves (plus the fade's own)
    assert max_step(audio[seam - 960 : seam + 960]) <= max_step(audio[at(1) : at(3)]) * 1.5 + 2e-3


def test_seek_to_the_end_moves_on_without_a_slow_fade_in(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=1.0)
    clock.run(music, 25)
    music.seek(4000)  # the end of A: nothing left to crossfade from
    audio = clock.run(music, 10)
    assert music.now_playing()["track"]["title"] == "B"
    full = band(Ticks().run(RoomMusic(library, crossfade_s=1.0), 50)[at(0.5) :, 0], 223.3)
    assert band(audio[at(0.05) :, 0], 331.7) == pytest.approx(full, rel=0.1)  # B at full level at once
