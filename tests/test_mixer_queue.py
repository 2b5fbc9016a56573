"""The queue: add, remove, move, skip to the head, back to the rotation, events, state and restore."""

from __future__ import annotations

from pathlib import Path

import pytest

from mixer import Library, PlayQueue, RoomMusic
from tests.audio_helpers import Ticks, by_title, events_of, plain, tone_library


@pytest.fixture
def library(tmp_path: Path) -> Library:
    return tone_library(tmp_path)  # A 1 s, B 1.5 s, C 2 s


def queue_events(music: RoomMusic) -> list[list[dict]]:
    seen: list[list[dict]] = []
    music.on("queue", seen.append)
    return seen


def titles(entries: list[dict]) -> list[str]:
    return [e["track"]["title"] for e in entries]


def test_add_remove_move_and_their_events(library: Library) -> None:
    music = plain(library)
    seen = queue_events(music)
    c, b = by_title(library, "C"), by_title(library, "B")
    first = music.queue_add(c)
    assert set(first) == {"entry_id", "track"} and first["track"] == c.to_json()
    second = music.queue_add(b)
    third = music.queue_add(c, entry_id="mine")
    assert third["entry_id"] == "mine"
    assert first["entry_id"] != second["entry_id"]
    assert titles(music.queue()) == ["C", "B", "C"]
    assert seen == [music.queue()[:1], music.queue()[:2], music.queue()]

    assert music.queue_move("mine", 0)
    assert [e["entry_id"] for e in music.queue()] == ["mine", first["entry_id"], second["entry_id"]]
    assert music.queue_move(first["entry_id"], 99)  # clamped to the end
    assert music.queue_move(second["entry_id"], -5)  # and to the start
    assert [e["entry_id"] for e in music.queue()] == [second["entry_id"], "mine", first["entry_id"]]
    assert music.queue_remove("mine")
    assert titles(music.queue()) == ["B", "C"]
    assert len(seen) == 7 and seen[-1] == music.queue()

    assert not music.queue_remove("nope") and not music.queue_move("nope", 0)
    assert len(seen) == 7  # nothing changed, nothing said
    with pytest.raises(ValueError):
        music.queue_add(b, entry_id=first["entry_id"])


def test_skip_plays_the_queue_head_then_the_rotation_resumes(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    now = events_of(music)
    seen = queue_events(music)
    clock.run(music, 10)  # A (rotation)
    entry = music.queue_add(by_title(library, "C"))
    music.queue_add(by_title(library, "C"))
    music.skip()
    assert now[-1]["track"]["title"] == "C"
    assert music.state()["entry_id"] == entry["entry_id"]
    assert titles(seen[-1]) == ["C"]  # the head left the queue to play
    music.skip()
    assert seen[-1] == [] and music.queue() == []
    music.skip()  # the queue ran out: the rotation goes on after A
    assert now[-1]["track"]["title"] == "B"
    assert music.state()["entry_id"] is None


def test_a_track_ending_gives_way_to_the_queue(library: Library) -> None:
    clock = Ticks()
    music = plain(library)
    now = events_of(music)
    clock.run(music, 10)  # A, 1 s long
    music.queue_add(by_title(library, "C"))
    clock.run(music, 40 + 100 + 75 + 50)  # A ends at 1 s, then C (2 s), then B (1.5 s), then C
    assert [e["track"]["title"] for e in now] == ["A", "C", "B", "C"]
    starts = [e["server_ms"] - e["position_ms"] for e in now]
    assert starts[1:] == pytest.approx([1005, 3005, 4505], abs=1)


def test_crossfade_into_the_queue_head(library: Library) -> None:
    clock = Ticks()
    music = RoomMusic(library, crossfade_s=0.4)
    now = events_of(music)
    seen = queue_events(music)
    clock.run(music, 1)
    music.queue_add(by_title(library, "C"))
    clock.run(music, 59)  # A 1 s: C comes in 0.4 s before A's end
    assert [e["track"]["title"] for e in now] == ["A", "C"]
    assert now[1]["server_ms"] - now[1]["position_ms"] == pytest.approx(605, abs=1)
    assert seen[-1] == []


def test_unplayable_queue_entry_is_passed_over(library: Library, tmp_path: Path) -> None:
    music = plain(library)
    music.queue_add(by_title(library, "B"))
    music.queue_add(by_title(library, "C"))
    (tmp_path / "B.flac").write_bytes(b"not flac at all" * 50)
    music.skip()  # A -> (B is broken) -> C
    assert music.now_playing()["track"]["title"] == "C"
    assert music.queue() == []


def test_restore_queue_state_and_playback(library: Library) -> None:
    a, b, c = (by_title(library, t) for t in "ABC")
    music = RoomMusic(library, queue=[("e1", c), ("e2", b)], crossfade_s=0)
    assert [e["entry_id"] for e in music.queue()] == ["e1", "e2"]
    seen = queue_events(music)
    music.restore_queue([("e9", a)])
    assert seen == [[{"entry_id": "e9", "track": a.to_json()}]]
    with pytest.raises(ValueError):
        music.restore_queue([("x", a), ("x", b)])

    clock = Ticks()
    clock.run(music, 10)  # nothing was current: the queue's head (A, e9) plays first
    music.set_gain(0.5)
    music.set_crossfade(2.5)
    state = music.state()
    assert state == {
        "track_id": a.track_id,
        "entry_id": "e9",
        "position_ms": 200,
        "paused": False,
        "gain": 0.5,
        "crossfade_s": 2.5,
        "ducking_db": 12.0,
        "queue": [],
    }

    # a restart: a new RoomMusic put back where the old one was
    again = RoomMusic(library, queue=[("e2", c)], crossfade_s=0)
    now = events_of(again)
    assert again.restore_playback(b, 700, paused=True)
    assert now[-1]["track"]["title"] == "B" and now[-1]["position_ms"] == 700 and now[-1]["paused"]
    assert again.state()["track_id"] == b.track_id and again.state()["entry_id"] is None
    again.play()
    Ticks().run(again, 5)
    assert again.now_playing()["position_ms"] == 800
    assert again.queue_remove("e2")
    again.skip()  # the rotation resumes after the restored track
    assert again.now_playing()["track"]["title"] == "C"


def test_restore_playback_of_a_missing_file_fails(library: Library, tmp_path: Path) -> None:
    music = plain(library)
    a = by_title(library, "A")
    (tmp_path / "A.flac").unlink()
    assert not music.restore_playback(a, 100)
    assert music.now_playing()["track"]["title"] == "B"


def test_play_queue_unit() -> None:
    queue = PlayQueue()
    assert queue.pop() is None and queue.peek() is None and len(queue) == 0
    with pytest.raises(ValueError):
        PlayQueue([("a", None), ("a", None)])  # type: ignore[list-item]
