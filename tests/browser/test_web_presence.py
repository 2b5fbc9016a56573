"""Presence at scale on the page (issue 10, item 3), in real Chromium against the real server.

Past 100 listeners a listener's page is told about the audience by `audience` summaries (at
most one a second), not one message per join or leave: the page keeps the count exact from
`welcome.room.listeners` and the summaries, and draws the Audience list only when it is opened
(at most 100 names and "and N more"). The host, on stage, still gets every event and counts the
same. The crowd is 115 plain WebSockets opened from a page (signaling only, like
tests/test_presence.py's clients): the two pages under test are real.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import close_crowd, diagnostics, join, join_as_host, open_crowd, record_frames

pytestmark = pytest.mark.browser

FIRST = [f"L{n}" for n in range(105)]
LATER = [f"M{n}" for n in range(10)]


def listening(page: Page, n: int) -> None:
    expect(page.locator("#listener-count")).to_have_text(f"{n:,} listening", timeout=10_000)


@pytest.mark.timeout(150)
def test_a_big_audience_is_a_count_and_a_lazy_list(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Packed house", "Presenter")
    host, fan, crowd = new_page(), new_page(), new_page()
    join_as_host(host, room, "Presenter", wait_audio=False)
    crowd.goto("/")
    open_crowd(crowd, room["room_id"], FIRST)
    listening(host, 105)

    frames = record_frames(fan)
    fan.goto(room["room_url"])
    join(fan, "Fan", wait_audio=False)
    welcome = next(f for f in frames if f["type"] == "welcome")
    assert welcome["room"]["listeners"] == 106, welcome["room"]
    listed = [p for p in welcome["participants"] if p["role"] == "listener"]
    assert len(listed) == 101, "the server lists the first 100 other listeners and the newcomer"
    listening(fan, 106)
    expect(fan.locator("#audience-count")).to_have_text("106")

    # The Audience list is drawn only when opened: 100 names, then "and 6 more".
    assert fan.locator("#audience-list li").count() == 0
    fan.locator("#audience summary").click()
    expect(fan.locator("#audience-list li.person")).to_have_count(100)
    expect(fan.locator("#audience-list li.more")).to_have_text("and 6 more")
    fan.locator("#audience summary").click()
    expect(fan.locator("#audience-list li")).to_have_count(0)

    # Ten more join: the fan hears of them in summaries (never one message per join) and counts them.
    started = time.monotonic()
    open_crowd(crowd, room["room_id"], LATER)
    listening(fan, 116)
    listening(host, 116)
    elapsed = time.monotonic() - started
    joined_one_by_one = [f for f in frames if f["type"] == "participant_joined"]
    assert joined_one_by_one == [], f"{len(joined_one_by_one)} joins told one by one to a listener"
    summaries = [f for f in frames if f["type"] == "audience"]
    assert summaries, "no audience summary reached the page"
    assert len(summaries) <= elapsed + 2, f"{len(summaries)} summaries in {elapsed:.1f} s"
    told = {p["name"] for s in summaries for p in s["joined"]}
    assert set(LATER) <= told, told
    fan.locator("#audience summary").click()
    expect(fan.locator("#audience-list li.more")).to_have_text("and 16 more")
    fan.locator("#audience summary").click()

    # Twenty leave, some the fan was shown, some only counted, some learned from summaries; the
    # room drops under the threshold on the way (summaries, then one event per leave).
    leaving = FIRST[95:] + LATER
    close_crowd(crowd, leaving)
    listening(host, 96)
    listening(fan, 96)
    fan.locator("#audience summary").click()
    expect(fan.locator("#audience-list li.person")).to_have_count(96)
    expect(fan.locator("#audience-list li.more")).to_have_count(0)
    for name in ("L96", "M3"):
        expect(fan.locator("#audience-list .name", has_text=re.compile(f"^{name}$"))).to_have_count(0)
    assert "pageerror" not in diagnostics(fan, host), diagnostics(fan, host)
