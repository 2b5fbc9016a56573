"""Library: recursive scan, tags with fallbacks, durations, loudness, rescans, unreadable files skipped."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

import mixer.library as library_module
from mixer import Library, Track
from tests.audio_helpers import write_audio

LEVEL = 0.2  # the tones' peak: -13.98 dBFS


def make_library(root: Path) -> Path:
    write_audio(root / "b" / "zeta.flac", 1.0, level=LEVEL, title="Zeta", artist="Bravo", album="Second")
    write_audio(root / "b" / "deep" / "alpha.flac", 2.5, level=LEVEL,
                title="Alpha", artist="bravo", album="Two")
    write_audio(root / "a.flac", 0.5, level=LEVEL, title="Omega", artist="Alpha Band", album="First")
    write_audio(root / "no tags here.wav", 1.5, codec="pcm_s16le", rate=44_100, layout="mono", level=0.0)
    (root / "broken.mp3").write_bytes(b"this is not an mp3 at all" * 10)
    (root / "empty.ogg").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


def test_scan_reads_tags_durations_and_sorts(tmp_path: Path) -> None:
    library = Library(make_library(tmp_path / "music"))
    tracks = library.scan()
    assert [(t.artist, t.title) for t in tracks] == [
        ("", "no tags here"),  # no tags: title from the file stem, empty artist sorts first
        ("Alpha Band", "Omega"),
        ("bravo", "Alpha"),
        ("Bravo", "Zeta"),
    ]
    by_title = {t.title: t for t in tracks}
    assert abs(by_title["Alpha"].duration_ms - 2500) <= 30
    assert abs(by_title["Zeta"].duration_ms - 1000) <= 30
    assert abs(by_title["no tags here"].duration_ms - 1500) <= 30
    assert by_title["Alpha"].album == "Two"
    assert by_title["Alpha"].path.is_absolute()
    assert library.tracks() == tracks
    assert len(library) == 4


def test_to_json_has_exactly_the_public_fields(tmp_path: Path) -> None:
    library = Library(make_library(tmp_path))
    library.scan()
    track = library.search("omega")[0]
    assert isinstance(track, Track)
    assert track.to_json() == {
        "track_id": track.track_id,
        "title": "Omega",
        "artist": "Alpha Band",
        "album": "First",
        "duration_ms": track.duration_ms,
    }


def test_track_ids_are_stable_and_get_finds_them(tmp_path: Path) -> None:
    root = make_library(tmp_path)
    first = {t.path: t.track_id for t in Library(root).scan()}
    again = Library([root])
    second = {t.path: t.track_id for t in again.scan()}
    assert first == second
    assert len(set(first.values())) == len(first)
    some = next(iter(second.values()))
    assert again.get(some) is not None and again.get(some).track_id == some
    assert again.get("nope") is None


def test_search_is_case_insensitive_on_title_artist_album(tmp_path: Path) -> None:
    library = Library(make_library(tmp_path))
    library.scan()
    assert [t.title for t in library.search("BRAVO")] == ["Alpha", "Zeta"]
    assert [t.title for t in library.search("seco")] == ["Zeta"]
    assert [t.title for t in library.search("alpha")] == ["Omega", "Alpha"]
    assert library.search("nothing like it") == []
    assert len(library.search("")) == 4


def test_missing_folder_and_several_folders(tmp_path: Path) -> None:
    write_audio(tmp_path / "one" / "x.flac", 0.2, level=LEVEL, title="X")
    write_audio(tmp_path / "two" / "y.flac", 0.2, level=LEVEL, title="Y")
    library = Library([tmp_path / "one", tmp_path / "absent", tmp_path / "two"])
    assert [t.title for t in library.scan()] == ["X", "Y"]


async def test_scan_async_runs_off_the_loop(tmp_path: Path) -> None:
    library = Library(make_library(tmp_path))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    tracks = await library.scan_async()
    task.cancel()
    assert len(tracks) == 4
    assert ticks > 1  # the loop kept running during the scan


# --- loudness, rescans, persistence --------------------------------------------------


def test_scan_measures_each_tracks_loudness(tmp_path: Path) -> None:
    library = Library(make_library(tmp_path))
    by_title = {t.title: t for t in library.scan()}
    # a 440 Hz sine peaking at 0.2 (-13.98 dBFS) in both channels; the K-weighting is flat at 440 Hz,
    # 0.69 dB under its gain at 997 Hz (where the level in dBFS and in LUFS agree)
    assert by_title["Alpha"].loudness_lufs == pytest.approx(-13.98 - 0.69, abs=0.05)
    assert by_title["Zeta"].loudness_lufs == pytest.approx(by_title["Alpha"].loudness_lufs, abs=0.05)
    assert by_title["no tags here"].loudness_lufs is None  # silence


def counting_measurements(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    measured: list[Path] = []
    real = library_module.measure_file

    def measure(path: Path) -> float | None:
        measured.append(Path(path))
        return real(path)

    monkeypatch.setattr(library_module, "measure_file", measure)
    return measured


def test_rescan_reads_only_new_and_changed_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured = counting_measurements(monkeypatch)
    root = make_library(tmp_path / "music")
    library = Library(root)
    first = {t.path.name: t for t in library.scan()}
    assert len(measured) == 4
    measured.clear()

    assert {t.path.name: t for t in library.scan()} == first  # nothing changed: nothing opened
    assert measured == []

    write_audio(root / "new.flac", 0.5, level=LEVEL, title="New")
    # changed: another size
    write_audio(root / "b" / "zeta.flac", 1.5, level=LEVEL, title="Zeta", artist="Bravo")
    (root / "a.flac").unlink()
    again = {t.path.name: t for t in library.scan()}
    assert sorted(p.name for p in measured) == ["new.flac", "zeta.flac"]
    assert set(again) == {"new.flac", "zeta.flac", "alpha.flac", "no tags here.wav"}
    assert abs(again["zeta.flac"].duration_ms - 1500) <= 30
    assert again["alpha.flac"] is first["alpha.flac"]
    assert library.get(first["a.flac"].track_id) is None  # removed


def test_same_size_but_touched_is_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured = counting_measurements(monkeypatch)
    path = write_audio(tmp_path / "x.flac", 0.5, level=LEVEL, title="X")
    library = Library(tmp_path)
    library.scan()
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    library.scan()
    assert [p.name for p in measured] == ["x.flac", "x.flac"]


def test_progress_counts_every_candidate_file(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    Library(make_library(tmp_path)).scan(progress=lambda done, total: seen.append((done, total)))
    # six audio files by name (two of them unreadable); notes.txt is no candidate
    assert seen == [(i, 6) for i in range(7)]


async def test_scan_async_reports_progress(tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    await Library(make_library(tmp_path)).scan_async(lambda done, total: seen.append((done, total)))
    assert seen[-1] == (6, 6)


def test_known_tracks_are_not_measured_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_library(tmp_path)
    saved = [t.to_record() for t in Library(root).scan()]  # what the store would keep
    measured = counting_measurements(monkeypatch)
    library = Library(root, known=[Track.from_record(r) for r in saved])
    tracks = library.scan()
    assert measured == [tmp_path / "no tags here.wav"]  # silent: it has no loudness to reuse
    assert [t.to_record() for t in tracks] == saved


def test_record_round_trip_and_public_view(tmp_path: Path) -> None:
    write_audio(tmp_path / "x.flac", 0.5, level=LEVEL, title="X", artist="Y", album="Z")
    (track,) = Library(tmp_path).scan()
    record = track.to_record()
    assert set(record) == {
        "track_id", "title", "artist", "album", "duration_ms", "path", "loudness_lufs", "mtime", "size",
    }  # fmt: skip
    assert record["path"] == str(tmp_path.resolve() / "x.flac")
    assert record["size"] == (tmp_path / "x.flac").stat().st_size
    assert Track.from_record(record) == track
    assert set(track.to_json()) == {"track_id", "title", "artist", "album", "duration_ms"}
