"""RoomMusic on a fake clock: one frame per tick, rotation, controls, events, no clicks.

Most tests here check the transport with crossfades off and no loudness
normalization (``plain``): gapless rotation, 10 ms seams. Crossfades, queue,
loudness, ducking and the limiter have their own test files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer import Library
from mixer.limiter import LOOKAHEAD
from tests.audio_helpers import (
    LATENCY_MS,
    TONE_LEVEL,
    TONES,
    Ticks,
    events_of,
    plain,
    tone_library,
    write_audio,
)
from tests.clients import peak_hz


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return tone_library(tmp_path)


def test_ten_seconds_is_exactly_480000_samples_and_rotation(library: Library) -> None:
    clock = Ticks()
    music = plain(library, clock_ms=clock.ms)
    events = events_of(music)
    shapes = set()
    frames = []
    for _ in range(500):
        frame = music.render(clock.ms())
        shapes.add((frame.shape, frame.dtype))
        frames.append(frame)
        clock.n += 1
    audio = np.concatenate(frames)
    assert shapes == {((960, 2), np.dtype(np.float32))}
    assert audio.shape == (480_000, 2)

    # A 1.0 s, B 1.5 s, C 2.0 s, gapless, in rotation: starts at 0, 1, 2.5, 4.5, 5.5, 7, 9 s;
    # A ends with the 500th frame, so B is already loaded (to start at 10 s).
    titles = [e["track"]["title"] for e in events]
    assert titles == ["A", "B", "C", "A", "B", "C", "A", "B"]
    starts = [e["server_ms"] - e["position_ms"] for e in events]
    expected = [0, 1000, 2500, 4500, 5500, 7000, 9000, 10_000]
    assert starts == pytest.approx([t + LATENCY_MS for t in expected], abs=1.0)
    assert not any(e["paused"] for e in events)
    for title, at in (("A", 0.5), ("B", 1.75), ("C", 3.5), ("A", 5.0)):
        start = int(at * 48_000)
        assert peak_hz(audio[start : start + 9600, 0]) == pytest.approx(TONES[title][0], abs=6)


def test_no_clicks_at_track_seams(library: Library) -> None:
    audio = Ticks().run(plain(library), 300)
    # a 0.5 sine at 880 Hz moves at most 0.058 per sample; a cut would jump up to 0.5
    assert float(np.abs(np.diff(audio[:, 0])).max()) < 0.07


def test_now_playing_advances_with_the_clock(library: Library) -> None:
    clock = Ticks()
    clock.n = 1000  # the clock does not start at zero
    music = plain(library, clock_ms=clock.ms)
    before = music.now_playing()
    assert before is not None and before["position_ms"] == 0
    assert before["server_ms"] == pytest.approx(20_000.0 + LATENCY_MS)
    clock.run(music, 10)
    state = music.now_playing()
    assert state["track"]["title"] == "A"
    assert state["position_ms"] == 200
    assert state["server_ms"] == pytest.approx(20_200.0 + LATENCY_MS)
    clock.run(music, 15)
    assert music.now_playing()["position_ms"] == 500
    assert set(state) == {"track", "position_ms", "server_ms", "paused"}


def test_skip_moves_on_and_emits(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    events = events_of(music)
    clock.run(music, 10)
    music.skip()
    assert events[-1]["track"]["title"] == "B"
    assert events[-1]["position_ms"] == 0
    assert events[-1]["server_ms"] == pytest.approx(clock.ms() + LATENCY_MS)
    audio = clock.run(music, 20)
    assert peak_hz(audio[960:, 0]) == pytest.approx(661.7, abs=6)
    assert float(np.abs(np.diff(audio[:, 0])).max()) < 0.07  # the skip faded, no click
    music.skip()
    music.skip()
    assert [e["track"]["title"] for e in events[-3:]] == ["B", "C", "A"]


def test_skip_before_the_first_tick_skips_the_first_track(library: Library) -> None:
    music = plain(library)
    assert music.now_playing()["track"]["title"] == "A"
    music.skip()
    assert music.now_playing()["track"]["title"] == "B"
    music = plain(library)
    music.skip()
    assert music.now_playing()["track"]["title"] == "B"


def test_pause_gives_silence_and_play_resumes(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    events = events_of(music)
    clock.run(music, 10)
    music.pause()
    assert events[-1]["paused"] is True and events[-1]["position_ms"] == 200
    fade = clock.run(music, 1)  # what was already in the limiter's look-ahead, a 10 ms fade out, silence
    assert float(np.abs(fade[LOOKAHEAD : LOOKAHEAD + 480]).max()) > 0.01
    assert float(np.abs(np.diff(fade[:, 0])).max()) < 0.07
    assert not fade[LOOKAHEAD + 480 :].any()
    assert not clock.run(music, 50).any()
    assert music.now_playing()["position_ms"] == 200  # the position holds
    music.play()
    assert events[-1]["paused"] is False and events[-1]["position_ms"] == 200
    assert events[-1]["server_ms"] == pytest.approx(clock.ms() + LATENCY_MS)
    resumed = clock.run(music, 10)
    assert peak_hz(resumed[:, 0]) == pytest.approx(443.3, abs=6)
    assert float(np.abs(np.diff(resumed[:, 0], prepend=0.0)).max()) < 0.07  # faded in
    assert music.now_playing()["position_ms"] == 400


def test_seek_and_gain(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    events = events_of(music)
    clock.run(music, 5)
    music.seek(800)
    assert events[-1]["position_ms"] == 800 and events[-1]["track"]["title"] == "A"
    clock.run(music, 5)
    assert music.now_playing()["position_ms"] == 900
    music.set_gain(0.0)
    audio = clock.run(music, 10)  # A ends at 1000 ms, B begins: still ramping down
    assert float(np.abs(np.diff(audio[:, 0])).max()) < 0.07
    assert not audio[-960:].any()
    music.set_gain(0.5)
    audio = clock.run(music, 10)
    assert float(np.abs(audio[-960:]).max()) == pytest.approx(0.25, abs=0.01)


def test_next_frame_is_one_opus_packet_per_tick(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    packets = []
    for _ in range(100):
        packets.append(music.next_frame(clock.ms()))
        clock.n += 1
    assert len(packets) == 100
    assert all(isinstance(p, bytes) and len(p) > 0 for p in packets)


def test_empty_library_gives_silence(tmp_path: Path) -> None:
    library = Library(tmp_path)
    library.scan()
    music = plain(library)
    events = events_of(music)
    clock = Ticks()
    assert not clock.run(music, 50).any()
    assert music.now_playing() is None
    music.skip()
    music.pause()
    music.play()
    music.seek(1000)
    assert len(music.next_frame(clock.ms())) > 0
    assert events == []
    # music starts once the library has something
    write_audio(tmp_path / "late.flac", 1.0, freq=440.0, level=TONE_LEVEL, title="Late")
    library.scan()
    assert clock.run(music, 5).any()
    assert events[-1]["track"]["title"] == "Late"


def test_unreadable_file_is_skipped(library: Library, tmp_path: Path) -> None:
    (tmp_path / "B.flac").write_bytes(b"fLaC but not really" * 100)  # broken after the scan
    clock = Ticks()
    music = plain(library)
    events = events_of(music)
    audio = clock.run(music, 250)  # 5 s: A, C, A, ...
    assert audio.shape == (240_000, 2)
    assert [e["track"]["title"] for e in events] == ["A", "C", "A", "C"]
    assert peak_hz(audio[48_000 + 4800 : 48_000 + 14_400, 0]) == pytest.approx(883.1, abs=6)


def test_missed_ticks_restate_now_playing(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    events = events_of(music)
    clock.run(music, 5)
    clock.n += 10  # the room clock skipped ten ticks (an underrun)
    clock.run(music, 1)
    assert events[-1]["position_ms"] == 120
    assert events[-1]["server_ms"] == pytest.approx(clock.ms() + LATENCY_MS)
