"""Sync you can see (issue 13, item 4), on the page: the host's and moderators' health panel
from `sync` (every 2 s), in real Chromium against the real server.

A listener on loopback: the host's panel shows D, the host's own loop, one listener with an RTT
under 20 ms and no loss, graded Good; a listener's page gets no `sync` and shows no panel. The
grading thresholds (amber, red) are checked on the page's own module with figures a loopback
cannot produce.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import assert_accessible, join, join_as_host, record_frames, tap_to_listen_if_needed

pytestmark = pytest.mark.browser

GRADE = """
async (cases) => {
  const { grade } = await import('/static/js/syncpanel.js');
  return cases.map((c) => grade(c));
}
"""


def sync_of(delay: float = 100, loop: float = 40, rtt: float | None = 10, loss: float | None = 0,
            member_rtt: float | None = 5) -> dict:
    return {"audience_delay_ms": delay, "broadcast_delay_s": 0,
            "members": {"p_host": {"loop_ms": loop, "rtt_ms": member_rtt}},
            "listeners": {"count": 3, "rtt_ms_p50": rtt, "rtt_ms_p95": rtt,
                          "loss_pct_p50": loss, "loss_pct_p95": loss}}


@pytest.mark.timeout(90)
def test_the_host_sees_sync_health_and_listeners_do_not(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "In sync", "Clocky")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Clocky")
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    fan_frames = record_frames(fan)
    fan.goto(room["room_url"])
    join(fan, "Fan")
    tap_to_listen_if_needed(fan)
    host_id = host.evaluate("window.onair.state.me")

    card = host.locator("#sync-card")
    expect(card).to_be_visible()
    # Wait for a report that counts the fan and has their receiver reports in it, with an RTT a
    # listener on loopback has: the server smooths RR after RR, and the first one can come while
    # the machine is busy setting up the call (64.8 ms seen once on a loaded 2-core machine), the
    # next ones seconds apart.
    host.wait_for_function("""() => {
        const s = window.onair.sync;
        const l = s && s.listeners;
        return l && l.count === 1 && l.rtt_ms_p95 !== null && l.rtt_ms_p95 < 20 && l.loss_pct_p95 !== null;
    }""", timeout=45_000)
    sync = host.evaluate("window.onair.sync")
    listeners = sync["listeners"]
    assert 0 <= listeners["rtt_ms_p95"] < 20, listeners
    assert listeners["loss_pct_p95"] == 0, listeners
    assert sync["audience_delay_ms"] > 0, sync
    assert host_id in sync["members"], sync

    expect(host.locator("#sync-grade")).to_have_text("Good")
    expect(host.locator("#sync-grade")).to_have_attribute("data-grade", "good")
    figures = host.locator("#sync-figures")
    expect(figures).to_contain_text("Audience delay (D)")
    expect(figures.locator("dd").first).to_have_text(re.compile(r"^\d+ ms"))
    expect(figures).to_contain_text(re.compile(r"Listener loss p50 / p95\s*0\.0 % / 0\.0 %"))
    member = host.locator(f'#sync-members li[data-participant-id="{host_id}"]')
    expect(member).to_contain_text("Clocky")
    # Chromium's fake microphone beeps: no music in the voice, the loop is estimated from stats
    expect(member).to_contain_text(re.compile(r"loop \d+ ms \(estimated\)"))
    expect(member).to_have_attribute("data-grade", "good")  # D is never below the host's loop
    assert_accessible(host, "the host's sync panel")

    # The audience neither gets `sync` nor sees the panel.
    expect(fan.locator("#sync-card")).to_be_hidden()
    host.wait_for_timeout(2500)  # at least one more report went out meanwhile
    assert [f for f in fan_frames if f["type"] == "sync"] == []


@pytest.mark.timeout(30)
def test_the_thresholds_turn_amber_and_red(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/")
    cases = [
        sync_of(),  # all good
        sync_of(loss=2), sync_of(loss=2.5), sync_of(loss=5.5),  # loss p95: over 2 % amber, over 5 % red
        sync_of(rtt=300), sync_of(rtt=301), sync_of(rtt=650),  # RTT p95: over 300 ms amber, over 600 ms red
        sync_of(member_rtt=400),  # a voice's RTT counts the same
        sync_of(delay=30, loop=45),  # a loop longer than D: that voice is late, red
        sync_of(rtt=None, loss=None),  # no receiver report yet: nothing to worry about
    ]
    got = page.evaluate(GRADE, cases)
    assert [g["overall"] for g in got] == [
        "good", "good", "fair", "poor", "good", "fair", "poor", "fair", "poor", "good"], got
    assert got[8]["members"][0]["late"] is True
