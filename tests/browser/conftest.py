"""Browser tests: the real server as a subprocess, headless Debian Chromium with a fake mic.

Flags are the ones TESTING.md verified; Playwright cannot download browsers here,
so Chromium is launched from its Debian path.
"""

from __future__ import annotations

import math
import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ONAIR_CHROMIUM", "/usr/lib/chromium/chromium")
ONAIR = ROOT / ".venv" / "bin" / "onair"
TONE_HZ = 1000.0
CALLER_TONE_HZ = 2000.0
ADMIN_TOKEN = "browser-tests-operator-token"


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command() -> list[str] | None:
    if ONAIR.exists():
        return [str(ONAIR)]
    app = ROOT / "signaling" / "app.py"
    if app.exists() and "create_app" in app.read_text():
        return [sys.executable, "-m", "signaling.cli"]  # not pip-installed yet
    return None


@dataclass
class LiveServer:
    url: str
    log: Path

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """`onair serve` on a free loopback port, media on 127.0.0.1 only."""
    cmd = _server_command()
    if cmd is None:
        pytest.skip("the server (signaling.app.create_app / .venv/bin/onair) is not there yet")
    data = tmp_path_factory.mktemp("onair-data")
    port = _free_port()
    log = data / "server.log"
    args = [*cmd, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data),
            "--media-address", "127.0.0.1", "--no-demo", "--log-level", "warning"]
    env = {**os.environ, "ONAIR_ADMIN_TOKEN": ADMIN_TOKEN}  # to read reports back
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = LiveServer(f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"server exited with {proc.returncode}:\n{server.log_tail()}")
            try:
                with urllib.request.urlopen(f"{server.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"server not healthy in 30 s:\n{server.log_tail()}")
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def playwright_sync() -> Iterator[object]:
    """One sync Playwright for the session (it cannot be nested)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

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
def new_page(browser, live_server: LiveServer) -> Iterator[Callable[..., object]]:  # type: ignore[no-untyped-def]
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
