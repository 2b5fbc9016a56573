"""Tiny numpy synthesizers for the demo music: notes, drums, an echo and a stereo canvas.

Everything is vectorised per note (no per-sample Python loop), and pitched notes
are cached (a song repeats its chords), so that minutes of music render in well
under a second. Cached arrays are shared: callers must not modify them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .audio import SAMPLE_RATE

SR = SAMPLE_RATE


def midi_hz(note: float) -> float:
    """Frequency of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SR), dtype=np.float64) / SR


def _adsr(n: int, attack: float, decay: float, sustain: float, release: float) -> np.ndarray:
    """An envelope of ``n`` samples: linear attack, exponential decay, linear release at the end."""
    t = np.arange(n, dtype=np.float64) / SR
    env = np.minimum(1.0, t / max(attack, 1e-4))
    env *= sustain + (1.0 - sustain) * np.exp(-np.maximum(0.0, t - attack) / max(decay, 1e-4))
    rel = int(min(n, release * SR))
    if rel:
        env[n - rel :] *= np.linspace(1.0, 0.0, rel)
    return env


def _partials(
    freq: float, t: np.ndarray, amps: tuple[float, ...], detune: float = 0.0
) -> np.ndarray:
    out = np.zeros_like(t)
    for k, amp in enumerate(amps, start=1):
        if freq * k < SR / 2.2:
            out += amp * np.sin(2 * np.pi * freq * k * (1.0 + detune * (k % 2 * 2 - 1)) * t)
    return out


@lru_cache(maxsize=256)
def pad(freq: float, seconds: float) -> np.ndarray:
    """A soft sustained chord voice: slightly detuned partials, slow attack and release."""
    t = _t(seconds)
    tone = _partials(freq, t, (1.0, 0.35, 0.18, 0.08), detune=0.0015)
    tone += 0.5 * _partials(freq * 1.003, t, (1.0, 0.2))
    return tone * _adsr(len(t), 0.25, 1.5, 0.7, min(0.4, seconds / 3))


@lru_cache(maxsize=256)
def pluck(freq: float, seconds: float) -> np.ndarray:
    """A bright plucked/bell lead note with a gentle vibrato."""
    t = _t(seconds)
    vib = 1.0 + 0.003 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(1.0, t / 0.3)
    phase = 2 * np.pi * freq * np.cumsum(vib) / SR
    tone = np.sin(phase) + 0.4 * np.sin(2 * phase) + 0.15 * np.sin(3 * phase)
    tone += 0.1 * np.sin(4.01 * phase) * np.exp(-t / 0.08)
    return tone * _adsr(len(t), 0.005, 0.35, 0.35, min(0.08, seconds / 2))


@lru_cache(maxsize=256)
def bell(freq: float, seconds: float) -> np.ndarray:
    """A soft glassy bell (inharmonic partials, long decay)."""
    t = _t(seconds)
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * freq * 2.76 * t) * np.exp(
        -t / 0.4
    )
    return tone * _adsr(len(t), 0.004, 0.9, 0.0, min(0.1, seconds / 2))


@lru_cache(maxsize=256)
def bass(freq: float, seconds: float) -> np.ndarray:
    """A round bass note: fundamental plus a little second harmonic."""
    t = _t(seconds)
    tone = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
    tone += 0.12 * np.sin(6 * np.pi * freq * t) * np.exp(-t / 0.1)
    return tone * _adsr(len(t), 0.008, 0.4, 0.6, min(0.06, seconds / 2))


def kick(rng: np.random.Generator) -> np.ndarray:
    """A kick drum: a sine sweeping down from 150 Hz to 45 Hz."""
    t = _t(0.35)
    freq = 45 + 105 * np.exp(-t / 0.04)
    phase = 2 * np.pi * np.cumsum(freq) / SR
    return np.sin(phase) * np.exp(-t / 0.12) + 0.05 * rng.standard_normal(len(t)) * np.exp(
        -t / 0.005
    )


def snare(rng: np.random.Generator) -> np.ndarray:
    """A snare: a noise burst over a short 190 Hz body."""
    t = _t(0.22)
    noise = rng.standard_normal(len(t))
    noise = np.diff(noise, prepend=0.0) * 0.5  # brighter
    return 0.5 * noise * np.exp(-t / 0.05) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.03)


def hat(rng: np.random.Generator, open_: bool = False) -> np.ndarray:
    """A hi-hat: high-passed noise, closed (short) or open (longer)."""
    t = _t(0.25 if open_ else 0.06)
    noise = np.diff(np.diff(rng.standard_normal(len(t)), prepend=0.0), prepend=0.0)
    return 0.25 * noise * np.exp(-t / (0.07 if open_ else 0.015))


def shaker(rng: np.random.Generator) -> np.ndarray:
    """A soft shaker tick."""
    t = _t(0.08)
    env = np.minimum(1.0, t / 0.02) * np.exp(-t / 0.025)
    return 0.12 * np.diff(rng.standard_normal(len(t)), prepend=0.0) * env


class Canvas:
    """A stereo float64 mix buffer that sounds are added into at a time and pan."""

    def __init__(self, seconds: float) -> None:
        self.buf = np.zeros((int(seconds * SR) + SR, 2), dtype=np.float64)

    def add(self, sound: np.ndarray, at: float, gain: float = 1.0, pan: float = 0.0) -> None:
        """Mix ``sound`` in at ``at`` seconds; ``pan`` -1 (left) .. 1 (right), equal power."""
        start = int(at * SR)
        end = min(len(self.buf), start + len(sound))
        if end <= start:
            return
        angle = (pan + 1.0) * np.pi / 4.0
        seg = sound[: end - start] * gain
        self.buf[start:end, 0] += seg * np.cos(angle)
        self.buf[start:end, 1] += seg * np.sin(angle)

    def echo(self, delay: float, feedback: float, mix: float) -> None:
        """A ping-pong echo over the whole canvas (block recursion, one step per delay)."""
        d = int(delay * SR)
        wet = np.zeros_like(self.buf)
        wet[d:] = self.buf[:-d][:, ::-1] * mix
        for start in range(2 * d, len(wet), d):
            end = min(len(wet), start + d)
            wet[start:end] += wet[start - d : end - d][:, ::-1] * feedback
        self.buf += wet

    def master(self, seconds: float, peak: float = 0.89) -> np.ndarray:
        """The final ``(n, 2)`` float32 mix: trimmed, faded in/out, gently limited, normalised."""
        out = self.buf[: int(seconds * SR)].copy()
        fade_in, fade_out = int(0.05 * SR), int(2.5 * SR)
        out[:fade_in] *= np.linspace(0.0, 1.0, fade_in)[:, None]
        out[-fade_out:] *= np.linspace(1.0, 0.0, fade_out)[:, None] ** 1.5
        out /= max(1e-9, float(np.abs(out).max()))
        out = np.tanh(1.6 * out) / np.tanh(1.6)
        return (out * peak).astype(np.float32)
