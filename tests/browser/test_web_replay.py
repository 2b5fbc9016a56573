"""Real Chromium: the embed player inside an iframe of another site plays the show (WebAudio hears
it), and the replay page plays a recording and shows its chat line when the playhead reaches it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Frame, Page, expect

from benchmarks.server import LocalServer, free_port
from tests.helpers import create_room_sync

from .console_helpers import CHAT_AT_S, record_a_show


@pytest.fixture
def other_site() -> Iterator[Callable[[str], str]]:
    """Another origin (its own port) serving pages that frame a given URL: ``frame(url)`` -> page URL."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = pages.get(self.path)
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write((body or "").encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def frame(url: str) -> str:
        path = f"/blog-{len(pages)}.html"
        pages[path] = (f'<!doctype html><title>A blog</title><h1>My blog</h1>'
                       f'<iframe src="{url}" width="480" height="120" allow="autoplay"></iframe>')
        return f"http://127.0.0.1:{server.server_address[1]}{path}"

    yield frame
    server.shutdown()
    server.server_close()


def embed_frame(page: Page) -> Frame:
    for frame in page.frames:
        if "/embed/" in frame.url:
            return frame
    raise AssertionError(f"no embed frame in {[f.url for f in page.frames]}")


def test_the_embed_player_plays_inside_another_site(new_page, live_server: LocalServer,  # type: ignore[no-untyped-def]
                                                      other_site: Callable[[str], str]) -> None:
    room = create_room_sync(live_server.url, "Embedded show", "Eve")
    page = new_page()
    blog = other_site(f"{live_server.url}/embed/{room['room_id']}")
    page.goto(blog)
    assert not page.url.startswith(live_server.url)  # the parent really is another origin
    frame = embed_frame(page)
    expect(frame.locator("#embed-title")).to_have_text("Embedded show")
    expect(frame.locator("#embed-host")).to_have_text("with Eve")
    expect(frame.locator("#embed-now")).not_to_be_empty()
    frame.get_by_role("button", name="Play").click()
    expect(frame.locator("#embed-live")).to_be_visible()
    frame.wait_for_function(
        "() => Number(document.getElementById('embed-meter').dataset.level || 0) > 0.01", timeout=15_000)
    level = float(frame.locator("#embed-meter").get_attribute("data-level") or 0)
    print(f"\nembed player level (WebAudio rms): {level:.3f}")
    assert frame.locator("#chat-log, .chat-log, #chat-form").count() == 0  # no chat in the embed
    frame.get_by_role("button", name="Pause").click()
    expect(frame.locator("#embed-live")).to_be_hidden()


def test_the_replay_page_plays_with_its_chat(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Replayed show", "Rita")
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
        recording_id = pool.submit(asyncio.run, record_a_show(live_server.url, room)).result(30)
    page = new_page()
    page.goto(f"/replay/{recording_id}")
    expect(page.locator("#replay-title")).to_have_text("Replayed show")
    expect(page.locator("#replay-meta")).to_contain_text("with Rita")
    expect(page.locator("#replay-chat li")).to_have_count(0)  # nothing said yet at 0:00
    page.evaluate("""() => {
        const audio = document.getElementById('replay-audio');
        const context = new AudioContext();
        const analyser = context.createAnalyser();
        context.createMediaElementSource(audio).connect(analyser);
        analyser.connect(context.destination);
        const data = new Float32Array(2048);
        window.__peak = 0;
        setInterval(() => {
            analyser.getFloatTimeDomainData(data);
            let sum = 0; for (const v of data) sum += v * v;
            window.__peak = Math.max(window.__peak, Math.sqrt(sum / data.length));
        }, 50);
        return audio.play();
    }""")
    line = page.locator("#replay-chat li")
    expect(line).to_have_count(1, timeout=10_000)
    expect(line).to_contain_text("two seconds in")
    shown_at = page.evaluate("document.getElementById('replay-audio').currentTime")
    peak = page.evaluate("window.__peak")
    print(f"\nreplay: chat line shown at {shown_at:.2f} s of the recording (written at ~{CHAT_AT_S} s); "
          f"audio rms peak {peak:.3f}")
    assert CHAT_AT_S - 0.5 <= shown_at <= CHAT_AT_S + 1.5
    assert peak > 0.01, "the replay is silent"
    # Seeking back before the line hides it again.
    page.evaluate("document.getElementById('replay-audio').currentTime = 0.2")
    expect(line).to_have_count(0)
