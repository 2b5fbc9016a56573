"""Levels on the music bus: loudness normalization, ducking under voices, the true-peak limiter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mixer import Library, PeakLimiter, RoomMusic, integrated_loudness
from mixer.limiter import LOOKAHEAD
from tests.audio_helpers import Ticks, tone_library, write_audio

RATE = 48_000
CEILING = 10 ** (-1 / 20)  # -1 dBTP


def song(seconds: float, level: float, seed: int) -> np.ndarray:
    """Something music-like: a chord with a beat on it, a little noise, not the same in both channels."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(RATE * seconds)) / RATE
    chord = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (196.0, 246.9, 293.7, 392.0))
    beat = 0.6 + 0.4 * np.cos(2 * np.pi * 2.0 * t) ** 8
    left = chord * beat + 0.3 * rng.standard_normal(len(t))
    right = np.roll(left, 37)
    audio = np.stack([left, right], axis=1)
    return level * audio / np.abs(audio).max()


def to_db(x: float | np.ndarray) -> float | np.ndarray:
    return 20 * np.log10(x)


# --- loudness normalization ------------------------------------------------------------


def test_tracks_mastered_10_db_apart_come_out_at_the_same_loudness(tmp_path: Path) -> None:
    loud_song, quiet_song = song(6.0, 0.9, seed=1), song(6.0, 0.9, seed=2)
    quiet_song *= 10 ** ((integrated_loudness(loud_song) - 10 - integrated_loudness(quiet_song)) / 20)
    write_audio(tmp_path / "a.flac", signal=loud_song, title="Loud")
    write_audio(tmp_path / "b.flac", signal=quiet_song, title="Quiet")
    library = Library(tmp_path)
    loud, quiet = library.scan()
    assert loud.loudness_lufs - quiet.loudness_lufs == pytest.approx(10.0, abs=0.2)

    audio = Ticks().run(RoomMusic(library, crossfade_s=0), 600)  # 12 s: both tracks, whole
    skip = LOOKAHEAD + RATE // 2  # the measure leaves out the seams
    out_loud = integrated_loudness(audio[skip : 6 * RATE - RATE // 2])
    out_quiet = integrated_loudness(audio[6 * RATE + skip : 12 * RATE - RATE // 2])
    assert abs(out_loud - out_quiet) <= 1.0
    assert out_loud == pytest.approx(-16.0, abs=0.5)
    assert out_quiet == pytest.approx(-16.0, abs=0.5)


def test_target_and_boost_cap(tmp_path: Path) -> None:
    write_audio(tmp_path / "faint.flac", signal=song(3.0, 0.01, seed=3), title="Faint")  # about -45 LUFS
    library = Library(tmp_path)
    (faint,) = library.scan()
    assert faint.loudness_lufs < -40
    audio = Ticks().run(RoomMusic(library, crossfade_s=0, target_lufs=-20.0), 100)
    # at most +12 dB, however faint
    assert integrated_loudness(audio[RATE // 2 :]) == pytest.approx(faint.loudness_lufs + 12, abs=0.3)
    off = Ticks().run(RoomMusic(library, crossfade_s=0, target_lufs=None), 100)
    assert integrated_loudness(off[RATE // 2 :]) == pytest.approx(faint.loudness_lufs, abs=0.3)


# --- ducking ---------------------------------------------------------------------------


@pytest.fixture
def long_tone(tmp_path: Path) -> Library:
    return tone_library(tmp_path, {"Long": (441.7, 12.0)})


def gain_db(out: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """The gain of ``out`` against ``ref`` (the same music undisturbed), sample by sample (NaN near 0)."""
    loud = np.abs(ref[:, 0]) > 0.02
    ratio = np.full(len(ref), np.nan)
    ratio[loud] = out[loud, 0] / ref[loud, 0]
    return to_db(ratio)


def test_ducking_dips_12_db_within_50_ms_and_recovers(long_tone: Library) -> None:
    ducked, ref = RoomMusic(long_tone, crossfade_s=0), RoomMusic(long_tone, crossfade_s=0)
    clock_a, clock_b = Ticks(), Ticks()
    clock_a.run(ducked, 50)
    clock_b.run(ref, 50)

    ducked.set_voice_active(True)
    out, expected = clock_a.run(ducked, 50), clock_b.run(ref, 50)  # 1 s of voice
    g = gain_db(out, expected)
    ms = np.arange(len(g)) / 48
    assert np.nanmax(g[ms < LOOKAHEAD / 48]) == pytest.approx(0.0, abs=1e-3)  # was already out
    assert np.nanmax(g[ms >= 50]) == pytest.approx(-12.0, abs=0.05)  # the full dip within 50 ms
    assert np.nanmin(g) == pytest.approx(-12.0, abs=0.05)  # and no deeper
    steps = np.diff(g[~np.isnan(g)])
    assert steps.max() <= 1e-3 and steps.min() > -0.5  # going down smoothly

    ducked.set_voice_active(False)
    out, expected = clock_a.run(ducked, 50), clock_b.run(ref, 50)
    g = gain_db(out, expected)
    assert np.nanmax(g[ms < 100]) == pytest.approx(-12.0, abs=0.05)  # a short hold first
    assert np.nanmin(g[ms >= 600]) >= -1.0  # back within 1 dB of full by 600 ms
    assert np.nanmin(g[ms >= 800]) == pytest.approx(0.0, abs=1e-3)  # and all the way by 800 ms
    steps = np.diff(g[~np.isnan(g)])
    assert steps.min() >= -1e-3 and steps.max() < 0.5  # coming up smoothly


def test_voice_flapping_per_packet_keeps_the_music_down(long_tone: Library) -> None:
    ducked, ref = RoomMusic(long_tone, crossfade_s=0), RoomMusic(long_tone, crossfade_s=0)
    clock_a, clock_b = Ticks(), Ticks()
    outs, refs = [], []
    for n in range(100):
        ducked.set_voice_active(n % 3 != 2)  # voice packets with gaps, as levels arrive
        outs.append(clock_a.run(ducked, 1))
        refs.append(clock_b.run(ref, 1))
    g = gain_db(np.concatenate(outs[10:]), np.concatenate(refs[10:]))
    assert np.nanmax(g) == pytest.approx(-12.0, abs=0.05)


def test_ducking_depth_is_configurable(long_tone: Library) -> None:
    for depth in (6.0, 0.0):
        ducked = RoomMusic(long_tone, crossfade_s=0, ducking_db=24.0)
        ref = RoomMusic(long_tone, crossfade_s=0)
        ducked.set_ducking(depth)
        assert ducked.ducking_db == depth
        ducked.set_voice_active(True)
        g = gain_db(Ticks().run(ducked, 20), Ticks().run(ref, 20))
        assert np.nanmin(g[-4800:]) == pytest.approx(-depth, abs=0.05)


# --- the limiter -----------------------------------------------------------------------


def true_peak(audio: np.ndarray, factor: int = 8) -> float:
    """The peak of ``audio`` upsampled ``factor`` times (band-limited interpolation by FFT)."""
    n = len(audio)
    spectrum = np.fft.rfft(audio, axis=0)
    wide = np.zeros((n * factor // 2 + 1, audio.shape[1]), dtype=complex)
    wide[: len(spectrum)] = spectrum
    return float(np.abs(np.fft.irfft(wide, n * factor, axis=0) * factor).max())


def click(rng: np.random.Generator, n: int = 48) -> np.ndarray:
    """A burst of noise band-limited to 16 kHz (as real recordings are), peaking at 1."""
    spectrum = np.fft.rfft(rng.standard_normal(4 * n))
    spectrum[np.fft.rfftfreq(4 * n, 1 / RATE) > 16_000] = 0
    burst = np.fft.irfft(spectrum, 4 * n)[:n] * np.hanning(n)
    return burst / np.abs(burst).max()


def test_boosted_track_with_full_scale_peaks_stays_under_the_ceiling(tmp_path: Path) -> None:
    audio = song(6.0, 0.03, seed=4)  # a quiet track (-40 LUFS)...
    rng = np.random.default_rng(9)
    for start in range(RATE // 4, len(audio), RATE // 2):  # ...with 1 ms clicks peaking at 0 dBFS
        audio[start : start + 48] += click(rng)[:, None] * 0.969
    write_audio(tmp_path / "peaky.flac", signal=audio, title="Peaky")
    library = Library(tmp_path)
    (track,) = library.scan()
    assert track.loudness_lufs < -16 - 12  # normalization boosts it the full +12 dB: peaks at +12 dBFS
    out = Ticks().run(RoomMusic(library, crossfade_s=0), 300)
    assert float(np.abs(out).max()) <= CEILING + 1e-6  # never over, at the samples
    assert to_db(true_peak(out.astype(np.float64))) <= -1.0 + 0.2  # and hardly between them
    # between the hits the music keeps its +12 dB
    quiet = out[LOOKAHEAD + RATE // 4 - 4800 : LOOKAHEAD + RATE // 4 - 480]
    source = audio[RATE // 4 - 4800 : RATE // 4 - 480]
    assert to_db(np.abs(quiet).max() / np.abs(source).max()) == pytest.approx(12.0, abs=0.2)


def test_limiter_is_a_pure_delay_under_the_ceiling() -> None:
    rng = np.random.default_rng(5)
    noise = (0.1 * rng.standard_normal((RATE, 2))).clip(-0.4, 0.4)  # 6 dB under: not even looked at
    t = np.arange(RATE) / RATE
    sine = np.stack([0.85 * np.sin(2 * np.pi * 100 * t)] * 2, axis=1)  # just under: no reduction
    for audio in (noise.astype(np.float32), sine.astype(np.float32)):
        limiter = PeakLimiter()
        out = np.concatenate([limiter.process(audio[i : i + 960]) for i in range(0, RATE, 960)])
        assert limiter.latency_ms == 5.0
        assert not out[:LOOKAHEAD].any()
        assert np.array_equal(out[LOOKAHEAD:], audio[:-LOOKAHEAD])


def test_limiter_holds_loud_noise_under_the_ceiling_and_releases() -> None:
    limiter = PeakLimiter(-1.0, release_ms=200.0)
    rng = np.random.default_rng(6)
    loud = (0.8 * rng.standard_normal((RATE, 2))).astype(np.float32)  # peaks near +10 dBFS
    quiet = (0.05 * rng.standard_normal((RATE, 2))).astype(np.float32)
    audio = np.concatenate((loud, quiet))
    out = np.concatenate([limiter.process(audio[i : i + 960]) for i in range(0, len(audio), 960)])
    assert float(np.abs(out).max()) <= CEILING + 1e-6
    assert limiter.reduction == 1.0  # recovered within the quiet second
    gains = out[LOOKAHEAD:, 0] / np.where(audio[:-LOOKAHEAD, 0] == 0, 1, audio[:-LOOKAHEAD, 0])
    assert np.abs(np.diff(gains[RATE // 2 : -RATE // 2])).max() < 0.01  # the gain moves, never jumps
