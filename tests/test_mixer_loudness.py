"""The R128 meter: the IIR filter against a direct form, the known levels, the gates, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer.loudness import IIRFilter, LoudnessMeter, integrated_loudness, k_weighting, measure_file
from tests.audio_helpers import write_audio

RATE = 48_000


def sine(dbfs: float, seconds: float, freq: float = 997.0, channels: int = 2) -> np.ndarray:
    """A sine whose peak is ``dbfs`` (0 dBFS: a full-scale sine) in each of ``channels``."""
    t = np.arange(int(RATE * seconds)) / RATE
    mono = 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t)
    return np.repeat(mono[:, None], channels, axis=1)


def direct_form(b: np.ndarray, a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The textbook difference equation, one sample at a time."""
    y = np.zeros_like(x)
    for n in range(len(x)):
        acc = sum(b[i] * x[n - i] for i in range(len(b)) if n >= i)
        acc = acc - sum(a[j] * y[n - j] for j in range(1, len(a)) if n >= j)
        y[n] = acc
    return y


def test_iir_filter_matches_the_difference_equation_in_any_chunks() -> None:
    b, a = k_weighting()
    x = np.random.default_rng(7).standard_normal((6000, 2))
    expected = direct_form(b, a, x)
    filt = IIRFilter(b, a)
    got, at = [], 0
    for size in (1, 2, 3, 700, 4096, 1198):  # odd sizes, one longer than a block
        got.append(filt.process(x[at : at + size]))
        at += size
    assert at == len(x)
    assert np.abs(np.concatenate(got) - expected).max() < 1e-6 * np.abs(expected).max()


def test_k_weighting_is_the_standard_curve() -> None:
    b, a = k_weighting()

    def gain_db(freq: float) -> float:
        z = np.exp(-2j * np.pi * freq / RATE * np.arange(len(b)))
        return float(20 * np.log10(abs(np.dot(b, z) / np.dot(a, z))))

    assert gain_db(997.0) == pytest.approx(0.691, abs=0.01)  # what the -0.691 in the formula undoes
    assert gain_db(10_000.0) == pytest.approx(4.0, abs=0.1)  # the +4 dB shelf
    assert gain_db(20.0) < -10.0  # the RLB high-pass


def test_997_hz_at_minus_20_dbfs_stereo_is_minus_20_lufs() -> None:
    # BS.1770: a 997 Hz sine with a peak of -20 dBFS in both channels reads -20 LUFS (tolerance 0.5 LU;
    # our meter does much better).
    assert integrated_loudness(sine(-20.0, 10.0)) == pytest.approx(-20.0, abs=0.05)
    # the channels' powers add up: the same sine in one channel only is 3 dB lower
    one = sine(-20.0, 10.0)
    one[:, 1] = 0.0
    assert integrated_loudness(one) == pytest.approx(-23.01, abs=0.05)


@pytest.mark.parametrize(
    ("segments", "expected"),
    [
        ([(-23.0, 20.0)], -23.0),  # EBU Tech 3341, case 1
        ([(-33.0, 20.0)], -33.0),  # case 2
        ([(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),  # case 3: the relative gate
        ([(-72.0, 10.0), (-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),  # case 4
        ([(-26.0, 20.0), (-20.0, 20.1), (-26.0, 20.0)], -23.0),  # case 5
    ],
)
def test_ebu_tech_3341_cases(segments: list[tuple[float, float]], expected: float) -> None:
    audio = np.concatenate([sine(db, seconds, freq=1000.0) for db, seconds in segments])
    assert integrated_loudness(audio) == pytest.approx(expected, abs=0.1)


def test_silence_and_short_input_have_no_loudness() -> None:
    assert integrated_loudness(np.zeros((RATE * 2, 2))) is None
    assert integrated_loudness(sine(-80.0, 2.0)) is None  # under the absolute gate
    assert integrated_loudness(sine(-20.0, 0.3)) is None  # not one whole 400 ms block


def test_feeding_in_any_chunks_gives_the_same_result() -> None:
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((RATE * 5, 2))).astype(np.float32)
    audio[RATE : 2 * RATE] *= 0.01  # a quiet second, for the gates
    whole = integrated_loudness(audio)
    meter = LoudnessMeter()
    at = 0
    while at < len(audio):
        size = int(rng.integers(1, 30_000))
        meter.feed(audio[at : at + size])
        at += size
    assert meter.integrated() == pytest.approx(whole, abs=1e-9)


def test_measure_file_decodes_and_measures(tmp_path: Path) -> None:
    # 44.1 kHz: resampled to 48 kHz to measure
    path = write_audio(tmp_path / "sine.flac", 5.0, rate=44_100, freq=997.0, level=0.1)
    assert measure_file(path) == pytest.approx(-20.0, abs=0.05)
