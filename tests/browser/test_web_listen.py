"""Listen elsewhere, share, record (issue 11, items 2-4, the page's parts), in real Chromium.

The "Listen in your player" menu lists the show's Ogg, MP3 and HLS addresses, absolute and
copyable, and each one answers with that format; "Share" copies the link and an embed code
whose frame page exists. The host's "Record" switch puts a REC badge on every page (a late
joiner's too, from `welcome`), a caller brought on air while it records is told so, and a
listener has no switch.
"""

from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import assert_accessible, dismiss_rules, join, join_as_host

pytestmark = pytest.mark.browser


def first_bytes(url: str, n: int = 4096) -> tuple[int, str, bytes]:
    """Status, content type and the first bytes of a (possibly endless) HTTP answer."""
    with urllib.request.urlopen(url, timeout=15) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read(n)


def clipboard(page: Page) -> str:
    return str(page.evaluate("navigator.clipboard.readText()"))


@pytest.mark.timeout(60)
def test_listen_in_your_player_and_share(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Everywhere radio", "Ubiq")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Ubiq", wait_audio=False)
    fan.context.grant_permissions(["clipboard-read", "clipboard-write"])
    fan.goto(room["room_url"])
    join(fan, "Fan", wait_audio=False)
    dismiss_rules(fan)
    base = f"{live_server.url}/r/{room['room_id']}"

    fan.locator("#listen-menu summary").click()
    expected = {"ogg": f"{base}/listen.ogg", "mp3": f"{base}/listen.mp3", "hls": f"{base}/hls/live.m3u8"}
    names = {"ogg": "Ogg/Opus", "mp3": "MP3", "hls": "HLS"}
    for key, url in expected.items():
        field = fan.locator(f'#listen-links li[data-format="{key}"] input')
        expect(field).to_have_value(url)
        fan.get_by_role("button", name=f"Copy the {names[key]} address").click()
        expect(fan.locator("#share-status")).to_have_text(f"Copied the {names[key]} address.")
        assert clipboard(fan) == url

    # Each address answers in its format (a player would play it).
    status, kind, data = first_bytes(expected["ogg"])
    assert status == 200 and kind.startswith("audio/ogg") and data.startswith(b"OggS"), (kind, data[:8])
    status, kind, data = first_bytes(expected["mp3"])
    assert status == 200 and kind.startswith("audio/mpeg") and len(data) == 4096, kind
    status, _, data = first_bytes(expected["hls"])
    assert status == 200 and data.startswith(b"#EXTM3U"), data[:40]

    fan.locator("#share-menu summary").click()
    assert_accessible(fan, "both menus open")
    fan.get_by_role("button", name="Copy link").click()
    assert clipboard(fan) == base
    fan.get_by_role("button", name="Copy embed code").click()
    code = clipboard(fan)
    match = re.fullmatch(r'<iframe src="([^"]+)" title="[^"]+"[^>]*></iframe>', code)
    assert match and match.group(1) == f"{live_server.url}/embed/{room['room_id']}", code
    status, kind, _ = first_bytes(match.group(1))
    assert status == 200 and kind.startswith("text/html"), kind


@pytest.mark.timeout(60)
def test_record_switch_and_the_rec_badge(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Taped live", "Tapey")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Tapey", wait_audio=False)
    fan.goto(room["room_url"])
    join(fan, "Fan", wait_audio=False)
    dismiss_rules(fan)
    expect(fan.locator("#rec-badge")).to_be_hidden()
    expect(fan.get_by_role("button", name="Record")).to_be_hidden()  # a listener has no switch

    record = host.get_by_role("button", name="Record")
    expect(record).to_have_attribute("aria-pressed", "false")
    record.click()
    expect(record).to_have_attribute("aria-pressed", "true")
    expect(fan.locator("#rec-badge")).to_be_visible()
    expect(host.locator("#rec-badge")).to_be_visible()
    expect(fan.locator("#notice")).to_contain_text("being recorded")

    late = new_page()  # from `welcome`
    late.goto(room["room_url"])
    join(late, "Latecomer", wait_audio=False)
    expect(late.locator("#rec-badge")).to_be_visible()

    # A caller brought on air while it records is told so.
    fan.get_by_role("button", name="Raise hand").click()
    host.get_by_role("button", name="Bring Fan on air").click()
    expect(fan.locator("#notice")).to_contain_text("This show is being recorded.")
    assert_accessible(host, "the host recording, a guest on air")

    record.click()
    expect(record).to_have_attribute("aria-pressed", "false")
    expect(fan.locator("#rec-badge")).to_be_hidden()
    expect(late.locator("#rec-badge")).to_be_hidden()
    with urllib.request.urlopen(f"{live_server.url}/api/recordings", timeout=5) as resp:
        listed = resp.read().decode()
    assert "Taped live" in listed, listed
