"""A station's rotation rules in the mixer, on a fake clock: 40 plays over generated tracks of 4
artists never break ``artist_separation = 2``; titles kept apart; shuffle deals every track once a
round; too few artists for the rule still never stop the music."""

from __future__ import annotations

import random
from pathlib import Path

from mixer import Library, RoomMusic, Track
from mixer.rotation import Rotation
from tests.audio_helpers import write_audio


def folder_of(tmp_path: Path, artists: list[str], titles: list[str], seconds: float = 0.3) -> Library:
    """A library of one short track per (artist, title), each at its own pitch."""
    folder = tmp_path / "station"
    for a, artist in enumerate(artists):
        for t, title in enumerate(titles):
            write_audio(folder / f"{a}{t}.flac", seconds, freq=220.0 + 40 * (a * len(titles) + t),
                        title=title, artist=artist)
    library = Library([folder])
    library.scan()
    assert len(library.tracks()) == len(artists) * len(titles)
    return library


def play(music: RoomMusic, plays: int, max_frames: int = 20_000) -> list[Track]:
    """Render on a fake clock (20 ms a frame, as fast as the CPU goes) until ``plays`` tracks started."""
    started: list[str] = []

    def on_now_playing(state: dict) -> None:
        if not started or started[-1] != state["track"]["track_id"]:
            started.append(state["track"]["track_id"])

    music.on("now_playing", on_now_playing)
    now = 0.0
    for _ in range(max_frames):
        music.render(now)
        now += 20.0
        if len(started) >= plays:
            break
    by_id = {t.track_id: t for t in music.library.tracks()}
    return [by_id[i] for i in started[:plays]]


async def test_forty_shuffled_plays_never_break_artist_separation(tmp_path: Path) -> None:
    library = folder_of(tmp_path, ["Ana", "Ben", "Cleo", "Dev"], ["One", "Two", "Three"])
    rotation = Rotation(library.tracks, shuffle=True, artist_separation=2, rng=random.Random(7))
    music = RoomMusic(library, crossfade_s=0.0, rotation=rotation)
    played = play(music, 40)
    assert len(played) == 40
    artists = [t.artist for t in played]
    for i, artist in enumerate(artists):
        assert artist not in artists[max(0, i - 2):i], (i, artists)
    # Shuffled, not the library's order; a round deals each track once (the rule may bring one
    # back early when only one artist is left in the deck).
    assert len({t.track_id for t in played[:12]}) >= 10
    assert {t.track_id for t in played} == {t.track_id for t in library.tracks()}
    assert [t.track_id for t in played[:12]] != [t.track_id for t in library.tracks()]
    music.close()


async def test_the_library_order_is_rearranged_to_keep_artists_apart(tmp_path: Path) -> None:
    library = folder_of(tmp_path, ["Ana", "Ben", "Cleo", "Dev"], ["One", "Two", "Three"])
    # Without rules the A-Z rotation plays each artist's three tracks in a row.
    plain = play(RoomMusic(library, crossfade_s=0.0, rotation=Rotation(library.tracks)), 6)
    assert [t.artist for t in plain[:3]] == ["Ana"] * 3
    music = RoomMusic(library, crossfade_s=0.0, rotation=Rotation(library.tracks, artist_separation=3))
    artists = [t.artist for t in play(music, 40)]
    for i, artist in enumerate(artists):
        assert artist not in artists[max(0, i - 3):i], (i, artists)
    music.close()


async def test_titles_are_kept_apart_and_too_few_artists_never_stop_the_music(tmp_path: Path) -> None:
    library = folder_of(tmp_path, ["Ana", "Ben", "Cleo"], ["Same Song", "Other"])
    rotation = Rotation(library.tracks, shuffle=True, title_separation=1, rng=random.Random(3))
    titles = [t.title for t in play(RoomMusic(library, crossfade_s=0.0, rotation=rotation), 20)]
    assert all(a != b for a, b in zip(titles, titles[1:], strict=False)), titles

    # Three artists cannot honour a separation of 5: the one heard longest ago comes next.
    strict = Rotation(library.tracks, shuffle=True, artist_separation=5, rng=random.Random(5))
    played = play(RoomMusic(library, crossfade_s=0.0, rotation=strict), 20)
    assert len(played) == 20
    artists = [t.artist for t in played]
    for i in range(3, 20):
        assert len(set(artists[i - 3:i])) == 3, artists  # each window of 3 holds all three


def test_rules_are_counts() -> None:
    try:
        Rotation(list, artist_separation=-1)
    except ValueError:
        return
    raise AssertionError("a negative separation was accepted")
