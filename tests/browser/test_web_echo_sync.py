"""Sync for real clients, in real Chromium: the bundled room page as an echo host.

The page is rewired from the test (``add_init_script``; web/ is not touched): its microphone is a
WebAudio echo of the music it receives (the music's ``<audio>`` element through a
MediaStreamAudioSourceNode into a MediaStreamAudioDestinationNode), so Chromium decodes the music
with its own jitter buffer, runs it through WebAudio and encodes it again with its own Opus
encoder, and the page sends its own ``stats``. The server measures the loop from the echo (the desk's
sync panel says "measured"); an aiortc listener measures the voice against the music
(tests/echo_client.py ``offset_ms``); a moderator measures the loop on the live feed.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import urllib.request
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from benchmarks.server import LocalServer
from sfu.feeds import CODEC_MS
from tests.clients import RoomClient
from tests.echo_client import measure, write_click_track
from tests.helpers import close_all, create_room_sync

from .helpers import diagnostics, join_as_host, open_page, record_frames, record_sent

# The page's microphone: the music it hears. The page's room sockets are kept (to send desk
# commands as the host from the test).
ECHO_MIC = """
(() => {
  const Native = window.WebSocket;
  window.roomSockets = [];
  window.WebSocket = class extends Native {
    constructor(...args) { super(...args); window.roomSockets.push(this); }
  };
  const NativePC = window.RTCPeerConnection;
  window.peerConnections = [];
  window.RTCPeerConnection = class extends NativePC {
    constructor(...args) { super(...args); window.peerConnections.push(this); }
  };
  let ctx = null; let dest = null; let wired = null;
  const wire = () => {
    const el = document.querySelector('#audio-sink audio[data-kind="music"]');
    if (ctx && el && el.srcObject && el.srcObject !== wired) {
      wired = el.srcObject;
      ctx.createMediaStreamSource(wired).connect(dest);
    }
  };
  setInterval(wire, 50);
  navigator.mediaDevices.getUserMedia = async () => {
    if (!ctx) { ctx = new AudioContext({ sampleRate: 48000 }); dest = ctx.createMediaStreamDestination(); }
    await ctx.resume();
    wire();
    return dest.stream;
  };
})();
"""

# The music's jitter buffer as the page reports it (the average since the call began) and over the
# last 2 s (what the page should report: the buffer moves in a call's first seconds).
JITTER_BUFFER = """
async () => {
  const el = document.querySelector('#audio-sink audio[data-kind="music"]');
  const id = el && el.srcObject ? el.srcObject.getAudioTracks()[0].id : null;
  const sample = async () => {
    for (const pc of window.peerConnections) {
      for (const s of (await pc.getStats()).values()) {
        if (s.type === 'inbound-rtp' && s.kind === 'audio' && s.trackIdentifier === id) return s;
      }
    }
    return null;
  };
  const a = await sample();
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const b = await sample();
  if (!a || !b) return null;
  return { since_start_ms: 1000 * b.jitterBufferDelay / b.jitterBufferEmittedCount,
           last_2_s_ms: 1000 * (b.jitterBufferDelay - a.jitterBufferDelay)
             / (b.jitterBufferEmittedCount - a.jitterBufferEmittedCount) };
}
"""

MEASURED = """(id) => {
  const s = window.onair && window.onair.sync;
  return Boolean(s && s.members[id] && s.members[id].measured);
}"""
SEND = """(msg) => window.roomSockets.filter((s) => s.readyState === 1)
  .forEach((s) => s.send(JSON.stringify(msg)))"""
LISTEN_S = 6.0


@pytest.fixture(scope="module")
def clicks_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    music = tmp_path_factory.mktemp("clicks")
    write_click_track(music)
    with LocalServer(tmp_path_factory.mktemp("onair-echo"), extra_args=["--music-dir", str(music)]) as server:
        yield server


class Loop:
    """An event loop in a thread for the aiortc clients, while Playwright's sync API has this one."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def aio() -> Iterator[Loop]:
    loop = Loop()
    yield loop
    loop.close()


def track_id(server: LocalServer, query: str) -> str:
    with urllib.request.urlopen(f"{server.url}/api/tracks?q={query}", timeout=5) as resp:
        return str(json.loads(resp.read())[0]["track_id"])


def echo_page(browser: Browser, server: LocalServer, room: dict) -> tuple[Page, list[dict], list[dict]]:
    """The host's page with its microphone replaced by the echo, on air; what it receives and sends."""
    context = browser.new_context(permissions=["microphone"], base_url=server.url)
    context.set_default_timeout(15_000)
    context.add_init_script(ECHO_MIC)
    page = open_page(context)
    received, sent = record_frames(page), record_sent(page)
    join_as_host(page, room, "Echo")
    return page, received, sent


def latest(frames: list[dict], kind: str) -> dict:
    return next(f for f in reversed(frames) if f.get("type") == kind)


# What the page's host tells first, before the page's own stats: the D the show starts with.
STARTS = {
    "no stats yet": None,
    "D starts 400 ms too high": {"jitter_buffer_ms": 400.0, "output_latency_ms": 0, "input_latency_ms": 0},
    "D starts too low": {"jitter_buffer_ms": 0.0, "output_latency_ms": 0, "input_latency_ms": 0},
}


@pytest.mark.parametrize("start", list(STARTS))
def test_a_chromium_echo_host_lines_up_within_15_ms(
    browser: Browser, clicks_server: LocalServer, aio: Loop, start: str
) -> None:
    room = create_room_sync(clicks_server.url, "Echo show")
    page, received, sent = echo_page(browser, clicks_server, room)
    try:
        if STARTS[start] is not None:
            page.evaluate(SEND, {"type": "stats", **STARTS[start]})
        clicks = track_id(clicks_server, "Clicks")
        for msg in ({"type": "ducking", "db": 0}, {"type": "crossfade", "seconds": 0},
                    {"type": "queue_add", "track_id": clicks}, {"type": "skip"}):
            page.evaluate(SEND, msg)
        host_id = latest(received, "welcome")["participant_id"]
        listener = aio.run(RoomClient(clicks_server.url, room["room_id"], "Lis").connect())
        mod = aio.run(RoomClient(clicks_server.url, room["room_id"], "Mara").connect())
        page.evaluate(SEND, {"type": "make_moderator", "participant_id": mod.participant_id})
        # The server finds the music in the echo and says so; then D and the voice's delay follow
        # within a second, and the next measures (every 2 s) keep them there.
        page.wait_for_function(MEASURED, arg=host_id, timeout=30_000)
        row = page.locator(f'#sync-members li[data-participant-id="{host_id}"]')
        expect(row).to_contain_text(re.compile(r"loop \d+ ms \(measured\)"))
        page.wait_for_timeout(3_000)

        async def both() -> tuple[float, float]:
            return await asyncio.gather(measure(listener, host_id, LISTEN_S), measure(mod, host_id, LISTEN_S))

        audience, live = aio.run(both())
        jitter = page.evaluate(JITTER_BUFFER)
        sync, told = latest(received, "sync"), latest(sent, "stats")
        rows = [f["members"].get(host_id, {}) for f in received if f.get("type") == "sync"]
        history = [(row.get("loop_ms"), row.get("measured")) for row in rows]
        figures = ("rtt_ms", "jitter_buffer_ms", "output_latency_ms", "input_latency_ms")
        estimate = sum(told.get(k, 0) for k in figures) + CODEC_MS
        print(f"\n[{start}] audience feed: voice - music {audience:+.1f} ms. Loop on the live feed "
              f"{live:.1f} ms; the server uses {sync['members'][host_id]['loop_ms']} ms (D "
              f"{sync['audience_delay_ms']} ms); the page told {told}, an estimate of {estimate:.1f} ms; "
              f"the music's jitter buffer (ms) {jitter}; L_i (measured?) every 2 s: {history}")
        aio.run(close_all(listener, mod))
        assert abs(audience) < 15, f"{start}: the voice is {audience:+.1f} ms off the music"
    except Exception:
        print(diagnostics(page))
        raise
    finally:
        page.context.close()
