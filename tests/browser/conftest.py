"""Browser tests: the real server as a subprocess, headless Debian Chromium with a fake mic.

Flags are the ones TESTING.md verified; Playwright cannot download browsers here,
so Chromium is launched from its Debian path.
"""

from __future__ import annotations

import math
import os
import struct
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from benchmarks.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ONAIR_CHROMIUM", "/usr/lib/chromium/chromium")
TONE_HZ = 1000.0
CALLER_TONE_HZ = 2000.0


def chromium_args(wav: Path) -> list[str]:
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
        "--disable-features=WebRtcHideLocalIpsWithMdns",
    ]


def write_tone_wav(path: Path, freq: float = TONE_HZ, seconds: float = 4.0,
                   rate: int = 48_000, level: float = 0.5) -> Path:
    """A stereo 16-bit sine; a whole number of periods, so the fake mic loops it seamlessly."""
    frames = bytearray()
    for i in range(int(rate * seconds)):
        v = int(level * 32767 * math.sin(2 * math.pi * freq * i / rate))
        frames += struct.pack("<hh", v, v)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return path


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tone_wav(tmp_path_factory.mktemp("wav") / "tone-1khz.wav")


@pytest.fixture(scope="session")
def caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tone_wav(tmp_path_factory.mktemp("wav") / "tone-2khz.wav", freq=CALLER_TONE_HZ)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """`onair serve` on a free loopback port, media on 127.0.0.1 only (benchmarks.server)."""
    with LocalServer(tmp_path_factory.mktemp("onair-data")) as server:
        yield server


@pytest.fixture(scope="session")
def playwright_sync() -> Iterator[object]:
    """One sync Playwright for the session (it cannot be nested)."""
    if not Path(CHROMIUM).exists():  # `make test` installs it: missing is a failure, not a skip
        pytest.fail(f"no Chromium at {CHROMIUM} (apt-get install chromium)")

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_sync, tone_wav: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """Headless Chromium with exactly TESTING.md's flags and the 1 kHz WAV as microphone."""
    b = playwright_sync.chromium.launch(executable_path=CHROMIUM, args=chromium_args(tone_wav))
    yield b
    b.close()


@pytest.fixture(scope="session")
def caller_browser(playwright_sync, caller_wav: Path) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A second Chromium whose fake microphone plays 2 kHz: Chromium takes the
    capture file per launch, so a caller with its own tone needs its own browser."""
    b = playwright_sync.chromium.launch(executable_path=CHROMIUM, args=chromium_args(caller_wav))
    yield b
    b.close()


@pytest.fixture
def new_page(browser, live_server: LocalServer) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
    """Pages in fresh contexts (own localStorage), microphone granted to every one:
    without it Chromium gathers no 127.0.0.1 candidate, even to listen.
    `make(on=other_browser, viewport={"width": 390, "height": 844})` for another browser or size."""
    contexts = []

    def make(on=None, viewport=None):  # type: ignore[no-untyped-def]
        extra = {"viewport": viewport} if viewport else {}
        ctx = (on or browser).new_context(permissions=["microphone"], base_url=live_server.url, **extra)
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.console_lines = []  # type: ignore[attr-defined]
        page.on("console", lambda m, p=page: p.console_lines.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e, p=page: p.console_lines.append(f"pageerror: {e}"))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
