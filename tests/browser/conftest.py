"""Browser tests: the real server as a subprocess, headless Debian Chromium with a fake mic.

Flags are the ones TESTING.md verified; Playwright cannot download browsers here,
so Chromium is launched from its Debian path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio

from .helpers import CALLER_TONE_HZ, CHROMIUM, TONE_HZ, chromium_args, mic_context, open_page

# The fake microphones' WAVs: stereo 16-bit sines of whole numbers of periods in 4 s, so that
# Chromium loops them seamlessly.


@pytest.fixture(scope="session")
def tone_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = tmp_path_factory.mktemp("wav") / "tone-1khz.wav"
    return write_audio(wav, 4.0, codec="pcm_s16le", freq=TONE_HZ, level=0.5)


@pytest.fixture(scope="session")
def caller_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wav = tmp_path_factory.mktemp("wav") / "tone-2khz.wav"
    return write_audio(wav, 4.0, codec="pcm_s16le", freq=CALLER_TONE_HZ, level=0.5)


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
        contexts.append(mic_context(on or browser, live_server.url, **extra))
        return open_page(contexts[-1])

    yield make
    for ctx in contexts:
        ctx.close()
