"""Decoder: any file in, 960-sample 48 kHz stereo float32 frames out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer import DecodeError, Decoder
from tests.audio_helpers import write_audio
from tests.clients import peak_hz


def write_mono_sine(path: Path, freq: float, seconds: float, rate: int = 44_100) -> Path:
    return write_audio(path, seconds, codec="pcm_s16le", rate=rate, layout="mono", freq=freq, level=0.5)


def test_mono_44k1_wav_comes_out_as_48k_stereo_frames(tmp_path: Path) -> None:
    path = write_mono_sine(tmp_path / "a.wav", 1234.0, 2.0)
    with Decoder(path) as decoder:
        frames = list(decoder)
        assert decoder.finished
        assert decoder.position_ms == pytest.approx(2000.0, abs=1.0)
    assert len(frames) == 100  # 2 s at 48 kHz = 96000 samples = 100 frames
    for frame in frames:
        assert frame.shape == (960, 2)
        assert frame.dtype == np.float32
    audio = np.concatenate(frames)
    assert np.array_equal(audio[:, 0], audio[:, 1])  # mono copied to both channels
    assert peak_hz(audio[4800:-4800, 0]) == pytest.approx(1234.0, abs=2.0)
    # same level as the source (no -3 dB pan law on mono)
    assert float(np.abs(audio[4800:-4800]).max()) == pytest.approx(0.5, abs=0.01)


def test_read_returns_exact_counts_and_the_end(tmp_path: Path) -> None:
    path = write_mono_sine(tmp_path / "short.wav", 440.0, 0.05)  # 2400 samples at 48 kHz
    with Decoder(path) as decoder:
        sizes = [len(decoder.read(1000)) for _ in range(4)]
        assert decoder.read_frame() is None
    assert sizes == [1000, 1000, 400, 0]


def test_last_frame_is_padded(tmp_path: Path) -> None:
    path = write_mono_sine(tmp_path / "short.wav", 440.0, 0.05)
    frames = list(Decoder(path))
    assert [f.shape for f in frames] == [(960, 2)] * 3
    assert not frames[-1][480:].any()


def test_seek_continues_the_same_signal(tmp_path: Path) -> None:
    path = write_mono_sine(tmp_path / "b.wav", 500.0, 3.0)
    whole = np.concatenate(list(Decoder(path)))
    with Decoder(path) as decoder:
        decoder.read(5000)
        decoder.seek(1500)
        assert decoder.position_ms == 1500
        part = decoder.read(4800)
        assert decoder.position_ms == 1600
        start = 1500 * 48
        assert np.abs(part - whole[start : start + 4800]).max() < 0.01
        decoder.seek(0)
        assert np.abs(decoder.read(960) - whole[:960]).max() < 1e-6
        decoder.seek(10_000)  # past the end
        assert len(decoder.read(960)) == 0 and decoder.finished


def test_unreadable_files_raise_decode_error(tmp_path: Path) -> None:
    garbage = tmp_path / "x.mp3"
    garbage.write_bytes(b"\x00\x01garbage" * 50)
    with pytest.raises(DecodeError):
        Decoder(garbage)
    with pytest.raises(DecodeError):
        Decoder(tmp_path / "missing.flac")
