"""The demo library: written once, as real tagged Opus files that the Library reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from mixer import Decoder, Library, ensure_demo_library
from mixer.synth import ALBUM, ARTIST, PIECES


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_demo_library(tmp_path_factory.mktemp("data"))


def test_demo_library_is_written_and_readable(demo_dir: Path) -> None:
    assert demo_dir.name == "demo-music"
    files = sorted(demo_dir.glob("*.opus"))
    assert len(files) == len(PIECES) >= 4
    assert not list(demo_dir.glob(".*"))  # no temporary file left behind

    library = Library(demo_dir)
    tracks = library.scan()
    assert len(tracks) == len(PIECES)
    assert {t.title for t in tracks} == {p.title for p in PIECES}
    for track in tracks:
        assert track.artist == ARTIST
        assert track.album == ALBUM
        assert 35_000 <= track.duration_ms <= 65_000
    total_s = sum(t.duration_ms for t in tracks) / 1000
    assert 180 <= total_s <= 300


def test_demo_music_is_stereo_48k_and_not_silent(demo_dir: Path) -> None:
    path = sorted(demo_dir.glob("*.opus"))[0]
    with Decoder(path) as decoder:
        decoder.seek(10_000)
        audio = np.concatenate([decoder.read_frame() for _ in range(100)])  # 2 s
    assert audio.shape == (96_000, 2)
    rms = float(np.sqrt(np.mean(audio**2)))
    assert 0.03 < rms < 0.5
    assert float(np.abs(audio).max()) <= 1.0
    assert not np.allclose(audio[:, 0], audio[:, 1])  # really stereo


def test_second_call_does_not_rewrite(demo_dir: Path) -> None:
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in demo_dir.iterdir()}
    assert ensure_demo_library(demo_dir.parent) == demo_dir
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in demo_dir.iterdir()}
    assert after == before


def test_interrupted_run_is_completed(demo_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "demo-music"
    folder.mkdir()
    kept = sorted(demo_dir.glob("*.opus"))[1:]
    for path in kept:
        shutil.copy2(path, folder / path.name)
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    missing = f"{PIECES[0].slug}.opus"
    (folder / f".{missing}.tmp").write_bytes(b"half a file")  # a crash mid-write

    ensure_demo_library(tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == sorted([missing, *before])
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name != missing} == before
    rewritten = {t.path.name: t for t in Library(folder).scan()}[missing]
    original = {t.path.name: t for t in Library(demo_dir).scan()}[missing]
    assert rewritten.duration_ms == original.duration_ms  # complete, same music
