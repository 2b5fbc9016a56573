"""The broadcast delay and the dump button on the host's page (issue 13, item 3), in real Chromium
against the real server: the host sets the delay, the server reports it in `sync`, Dump is
enabled only while there is a delay and sends `dump`; a listener sees neither control."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import assert_accessible, join, join_as_host, record_sent, tap_to_listen_if_needed

pytestmark = pytest.mark.browser


@pytest.mark.timeout(90)
def test_the_host_sets_a_delay_and_dumps(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Delayed", "Dee")
    host, fan = new_page(), new_page()
    sent = record_sent(host)
    join_as_host(host, room, "Dee")
    fan.goto(room["room_url"])
    join(fan, "Fan")
    tap_to_listen_if_needed(fan)

    dump = host.locator("#dump-btn")
    expect(host.locator("#sync-card")).to_be_visible()
    host.wait_for_function("() => window.onair.sync !== null && window.onair.sync !== undefined",
                           timeout=20_000)
    expect(dump).to_be_disabled()  # no delay, nothing to dump

    host.locator("#delay-select").select_option("10")
    host.wait_for_function("() => window.onair.sync && window.onair.sync.broadcast_delay_s === 10",
                           timeout=20_000)  # the server says so in its next `sync`
    assert {"type": "broadcast_delay", "seconds": 10} in [
        {k: v for k, v in m.items() if k != "id"} for m in sent]
    expect(host.locator("#sync-figures")).to_contain_text("+ 10 s broadcast delay")
    expect(dump).to_be_enabled()
    assert_accessible(host, "the host's delay controls")

    dump.click()
    expect(host.locator("#notice")).to_contain_text("Dumped", timeout=5_000)
    assert any(m.get("type") == "dump" for m in sent), sent
    expect(fan.locator("#sync-card")).to_be_hidden()
    expect(fan.locator("#dump-btn")).to_be_hidden()

    host.locator("#delay-select").select_option("0")
    host.wait_for_function("() => window.onair.sync && window.onair.sync.broadcast_delay_s === 0",
                           timeout=20_000)
    expect(dump).to_be_disabled()
