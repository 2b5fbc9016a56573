"""The operator's console (/admin) in real headless Chromium against a server of its own.

An operator signs in (a wrong token first: the page says so), sees a live room with its listener
and ends it (the listener's socket closes 4004), resolves a report with a note, lifts a ban and
deletes a track; a refusal shows its error code in words, and text from users stays text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio
from tests.helpers import create_room_sync

from .console_helpers import FILE_A_REPORT, upload
from .helpers import diagnostics, join, mic_context, open_page, operator

pytestmark = pytest.mark.browser

# A listener page records the close codes of its sockets.
RECORD_CLOSES = """
window.__closes = [];
const NativeSocket = window.WebSocket;
window.WebSocket = class extends NativeSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('close', (e) => window.__closes.push(e.code));
  }
};
"""



@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """Its own server: this test ends rooms and deletes tracks."""
    with LocalServer(tmp_path_factory.mktemp("onair-admin")) as srv:
        yield srv


@pytest.fixture
def context(browser: Browser, server: LocalServer) -> Iterator[BrowserContext]:
    ctx = mic_context(browser, server.url)
    yield ctx
    ctx.close()


def sign_in(page: Page, token: str) -> None:
    page.get_by_label("Admin token").fill(token)
    page.get_by_role("button", name="Open the console").click()


@pytest.mark.timeout(90)
def test_the_operator_signs_in_sees_a_room_and_ends_it(context: BrowserContext, server: LocalServer) -> None:
    room = create_room_sync(server.url, "Admin <img src=x onerror=window.__pwned=1> Show", "Hosty")
    listener = open_page(context)
    listener.add_init_script(RECORD_CLOSES)
    listener.goto(room["room_url"])
    join(listener, "Ears", wait_audio=False)

    console = open_page(context)
    console.goto("/admin")
    sign_in(console, "not-the-token")
    expect(console.locator("#login-error")).to_contain_text("wrong admin token (unauthorized)")
    expect(console.locator("#console")).to_be_hidden()
    sign_in(console, server.admin_token)
    expect(console.locator("#console")).to_be_visible()
    assert console.evaluate("sessionStorage.getItem('onair:admin-token')") == server.admin_token
    console.reload()  # asked once: the tab keeps it
    expect(console.locator("#console")).to_be_visible()
    expect(console.locator("#login")).to_be_hidden()

    row = console.locator("#rooms li").filter(has_text="Admin <img")
    expect(row).to_contain_text("1 listening")
    expect(row).to_contain_text("Host: Hosty (away)")
    expect(console.locator('[data-figure="listeners"]')).to_have_text("1")
    expect(console.locator('[data-figure="cpu"]')).to_contain_text("%")
    expect(console.locator('[data-figure="tick"]')).to_contain_text("ms")
    end = row.get_by_role("button", name="End room")
    end.click()
    row.get_by_role("button", name="Really end it?").click()
    expect(row).to_have_count(0)
    listener.wait_for_function("window.__closes.includes(4004)")
    expect(console.locator("#rooms-empty")).to_be_visible()
    expect(console.locator("#audit li").first).to_contain_text("operator ended the room")
    assert console.evaluate("window.__pwned") is None, diagnostics(console, listener)
    assert listener.evaluate("window.__pwned") is None

    console.get_by_role("button", name="Sign out").click()
    expect(console.locator("#login")).to_be_visible()
    assert console.evaluate("sessionStorage.getItem('onair:admin-token')") is None


@pytest.mark.timeout(90)
def test_the_operator_resolves_a_report_lifts_a_ban_and_deletes_a_track(
    context: BrowserContext, server: LocalServer, tmp_path: Path
) -> None:
    room = create_room_sync(server.url, "Moderated", "Mod")
    helper = open_page(context)
    helper.goto("/")
    filed = helper.evaluate(FILE_A_REPORT, {
        "roomId": room["room_id"], "text": "buy <b>cheap</b> stuff", "reason": "spam <script>x</script>"})
    assert filed == {"said": "ack", "filed": "ack"}
    _, ban = operator(server, "POST", "/api/bans", {"ip": "192.0.2.77", "reason": "flooding"})
    keep = write_audio(tmp_path / "keep.flac", 1.0, title="Admin Delete Me", artist="Console")
    gone = write_audio(tmp_path / "gone.flac", 1.0, title="Admin Gone Already", artist="Console")
    doomed, early = upload(server, keep, room["host_token"]), upload(server, gone, room["host_token"])

    console = open_page(context)
    console.goto("/admin")
    sign_in(console, server.admin_token)

    report = console.locator("#reports li").filter(has_text="spam <script>")
    expect(report).to_contain_text("About Pest")
    expect(report).to_contain_text("“buy <b>cheap</b> stuff” by Pest")
    expect(report).to_contain_text("from Reporter")
    report.get_by_label("Note").fill("warned them")
    report.get_by_role("button", name="Resolve").click()
    expect(report).to_have_count(0)  # the list shows the open ones
    console.locator("#reports-filter").select_option("")
    expect(report).to_contain_text("resolved")
    expect(report).to_contain_text("Note: warned them")
    _, reports = operator(server, "GET", "/api/reports")
    ours = [r for r in reports if r["room_id"] == room["room_id"]]  # type: ignore[union-attr]
    assert [(r["status"], r.get("note")) for r in ours] == [("resolved", "warned them")]

    banned = console.locator("#bans li").filter(has_text="address 192.0.2.77")
    expect(banned).to_contain_text("Reason: flooding")
    banned.get_by_role("button", name="Lift").click()
    expect(banned).to_have_count(0)
    _, bans = operator(server, "GET", "/api/bans")
    assert ban["ban_id"] not in [b["ban_id"] for b in bans]  # type: ignore[index, union-attr]

    console.get_by_label("Search tracks").fill("Admin")
    console.get_by_role("button", name="Search").click()
    rows = console.locator("#tracks li")
    expect(rows).to_have_count(2)
    operator(server, "DELETE", f"/api/tracks/{early['track_id']}")  # gone before the click
    late = rows.filter(has_text="Admin Gone Already")
    late.get_by_role("button", name="Delete").click()
    late.get_by_role("button", name="Really delete?").click()
    expect(console.locator("#tracks-error")).to_have_text(
        "Could not delete “Admin Gone Already”: not found: it may be gone already (not_found).")
    expect(rows).to_have_count(1)  # the list was searched again
    row = rows.filter(has_text="Admin Delete Me")
    row.get_by_role("button", name="Delete").click()
    row.get_by_role("button", name="Really delete?").click()
    expect(console.locator("#tracks-empty")).to_be_visible()
    expect(console.locator("#tracks-error")).to_be_hidden()
    _, found = operator(server, "GET", "/api/tracks?q=Admin")
    assert found == []
    uploads = server.data_dir / "uploads"
    assert not [p for p in uploads.iterdir() if p.is_file()], list(uploads.iterdir())
    expect(console.locator("#audit li").first).to_contain_text("deleted the track " + doomed["track_id"])
