"""The radio programme on the page (issue 12), in real Chromium against the real server.

A host in Kolkata announces a show from the front page (the start typed in their own time, sent
with their offset); a visitor in New York sees it under "Coming up" at their own time, with a
countdown and an "add to calendar" file. The show's page before it opens counts down, and only
its host gets "Open the show", enabled from 15 minutes before: it opens the room under the same
id and joins as host, and a listener waiting on the page gets the join form. In a room: what
played recently, song requests answered from the desk, and reactions that float.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import (
    assert_accessible,
    dismiss_rules,
    join,
    join_as_host,
    mic_context,
    open_page,
    record_frames,
)

pytestmark = pytest.mark.browser


def http(server: LocalServer, method: str, path: str, body: object = None,
         token: str | None = None) -> tuple[int, object]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    req = urllib.request.Request(f"{server.url}{path}", method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            raw = resp.read()
            kind = resp.headers.get("Content-Type", "")
            return resp.status, (json.loads(raw) if raw and "json" in kind else raw.decode())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def announce(server: LocalServer, title: str, starts_in: timedelta) -> dict:
    starts = (datetime.now(UTC) + starts_in).isoformat(timespec="seconds")
    body = {"title": title, "host_name": "Sched Host", "starts_at": starts}
    status, body = http(server, "POST", "/api/shows", body)
    assert status == 201, body
    return body  # type: ignore[return-value]


def flat(text: str) -> str:
    """Intl puts narrow and thin no-break spaces in times ("9:30 PM"): plain spaces for matching."""
    return re.sub(r"[\u00a0\u2009\u202f]", " ", text)


def twelve_hour(moment: datetime) -> str:
    return f"{(moment.hour % 12) or 12}:{moment.minute:02d} {'PM' if moment.hour >= 12 else 'AM'}"


@pytest.mark.timeout(60)
def test_a_show_announced_in_one_zone_is_coming_up_in_another(browser, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    kolkata, new_york = ZoneInfo("Asia/Kolkata"), ZoneInfo("America/New_York")
    local = (datetime.now(kolkata) + timedelta(days=2)).replace(hour=21, minute=30, second=0, microsecond=0)
    host_ctx = mic_context(browser, live_server.url, timezone_id="Asia/Kolkata", locale="en-US")
    fan_ctx = mic_context(browser, live_server.url, timezone_id="America/New_York", locale="en-US")
    try:
        host = open_page(host_ctx)
        host.goto("/")
        expect(host.locator("#announce-zone")).to_have_text("(your time, UTC+05:30)")
        form = host.locator("#announce-form")

        # Refused on the page, before anything is sent: no title, a time already past.
        form.get_by_role("button", name="Announce the show").click()
        expect(host.locator("#announce-error")).to_have_text("Give your show a title.")
        host.get_by_label("Title of the show").fill("Late Night Ragas")
        host.get_by_label("Host's name").fill("Ravi")
        host.get_by_label("Starts at").fill((local - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
        form.get_by_role("button", name="Announce the show").click()
        expect(host.locator("#announce-error")).to_have_text("Pick a time in the future.")
        _, shows = http(live_server, "GET", "/api/shows")
        assert not any(s["title"] == "Late Night Ragas" for s in shows), shows  # type: ignore[union-attr]

        host.get_by_label("Starts at").fill(local.strftime("%Y-%m-%dT%H:%M"))
        host.get_by_label("Length in minutes").fill("90")
        host.get_by_label("What it is about").fill("Evening ragas, live.")
        form.get_by_role("button", name="Announce the show").click()
        expect(host.locator("#announced")).to_be_visible()
        link = host.locator("#announced-host-link").input_value()
        match = re.fullmatch(rf"{re.escape(live_server.url)}/r/([^/#]+)#host=([A-Za-z0-9_-]+)", link)
        assert match, link
        show_id, token = match.groups()
        assert host.evaluate(f"localStorage.getItem('onair:host:{show_id}')") == token

        # The server has the moment typed, with Kolkata's offset.
        status, show = http(live_server, "GET", f"/api/shows/{show_id}")
        assert status == 200, show
        assert show["starts_at"] == local.strftime("%Y-%m-%dT%H:%M:00+05:30"), show  # type: ignore[index]
        assert show["duration_min"] == 90 and show["description"] == "Evening ragas, live.", show  # type: ignore[index]

        # New York sees it at its own time, with a countdown and calendar links.
        fan = open_page(fan_ctx)
        fan.goto("/")
        item = fan.locator(f'#shows li[data-show-id="{show_id}"]')
        expect(item).to_contain_text("Late Night Ragas")
        expect(item).to_contain_text("with Ravi")
        there = local.astimezone(new_york)
        expect(item.locator("time")).to_have_attribute("datetime", show["starts_at"])  # type: ignore[index]
        when = flat(item.locator("time").inner_text())
        assert twelve_hour(there) in when and ("EST" in when or "EDT" in when), (when, there)
        left = re.compile(r"^in (\d+ days?( \d+ h)?|\d+ h \d+ min)$")
        expect(item.locator(".countdown")).to_have_text(left)
        ics = item.get_by_role("link", name="Add to calendar: Late Night Ragas")
        assert ics.get_attribute("href") == f"/shows/{show_id}.ics"
        status, text = http(live_server, "GET", f"/shows/{show_id}.ics")
        assert status == 200 and f"UID:{show_id}" in str(text), text
        whole = fan.get_by_role("link", name=re.compile("whole schedule"))
        expect(whole).to_have_attribute("href", "/schedule.ics")
        assert_accessible(fan, "the front page with a show coming up")
        assert_accessible(host, "the front page after announcing")
        item.get_by_role("link", name=re.compile("Late Night Ragas")).first.click()
        expect(fan).to_have_url(re.compile(f"/r/{show_id}$"))
        expect(fan.locator("#join-heading")).to_have_text("Late Night Ragas")
        expect(fan.locator("#show-wait-countdown")).to_have_text(re.compile(r"^Starts in "))
        expect(fan.locator("#join-form")).to_be_hidden()
        expect(fan.get_by_role("button", name="Open the show")).to_be_hidden()
    finally:
        host_ctx.close()
        fan_ctx.close()


@pytest.mark.timeout(90)
def test_the_host_opens_the_show_from_its_page_and_a_waiting_listener_gets_in(  # type: ignore[no-untyped-def]
        new_page, live_server: LocalServer) -> None:
    soon = announce(live_server, "Opening soon", timedelta(minutes=15, seconds=12))
    later = announce(live_server, "Opening later", timedelta(hours=1))
    show_id = soon["show_id"]

    # Too early: the host of the later show sees the button disabled, and the server agrees.
    early = new_page()
    early.goto(f"/r/{later['show_id']}#host={later['host_token']}")
    button = early.get_by_role("button", name="Open the show")
    expect(button).to_be_disabled()
    expect(early.locator("#open-show-status")).to_have_text(
        re.compile(r"^You can open it 4[45]:\d\d from now \(15 minutes before it starts\)\.$"))
    status, body = http(live_server, "POST", f"/api/shows/{later['show_id']}/open", token=later["host_token"])
    assert status == 409, body
    status, body = http(live_server, "POST", f"/api/shows/{show_id}/open", token="not-the-token")
    assert status == 401, body

    fan = new_page()
    fan.goto(f"/r/{show_id}")
    expect(fan.locator("#show-wait")).to_be_visible()
    expect(fan.get_by_role("button", name="Open the show")).to_be_hidden()
    assert_accessible(early, "a show's page before it opens, for its host")
    host = new_page()
    host.goto(f"/r/{show_id}#host={soon['host_token']}")
    expect(host).to_have_url(re.compile(f"/r/{show_id}$"))  # the token left the address bar
    expect(host.locator("#show-wait-countdown")).to_have_text(re.compile(r"^Starts in 1[45]:\d\d$"))
    open_button = host.get_by_role("button", name="Open the show")
    expect(open_button).to_be_disabled()
    expect(open_button).to_be_enabled(timeout=20_000)  # 15 minutes before the start
    open_button.click()
    expect(host.locator("#room-view")).to_be_visible(timeout=15_000)
    expect(host.locator("#end-button")).to_be_visible()  # joined as its host, with the same token
    expect(host.locator("#show-title")).to_have_text("Opening soon")
    status, room = http(live_server, "GET", f"/api/rooms/{show_id}")
    assert status == 200 and room["room_id"] == show_id, room  # type: ignore[index]

    # The listener who waited on the page is offered the show (it checks every 10 s).
    expect(fan.locator("#join-form")).to_be_visible(timeout=15_000)
    join(fan, "Early Fan", wait_audio=False)
    expect(host.locator("#listener-count")).to_have_text("1 listening")


def said(title: str, what: str) -> re.Pattern[str]:
    """The requester's status line: "Your request, <title> by <artist>, <what>." """
    return re.compile(rf"^Your request, {re.escape(title)}( by [^,]+)?, {re.escape(what)}\.$")


@pytest.fixture
def room_pair(new_page, live_server: LocalServer) -> tuple[Page, Page, list[dict]]:  # type: ignore[no-untyped-def]
    """A host and a listener in a new room; the frames the host's page receives."""
    room = create_room_sync(live_server.url, "Request line", "Reqs Host")
    host, fan = new_page(), new_page()
    host_frames = record_frames(host)
    join_as_host(host, room, "Reqs Host", wait_audio=False)
    fan.goto(room["room_url"])
    join(fan, "Fan", wait_audio=False)
    dismiss_rules(fan)
    return host, fan, host_frames


@pytest.mark.timeout(60)
def test_recently_played_follows_the_music(room_pair) -> None:  # type: ignore[no-untyped-def]
    host, fan, _ = room_pair
    played = fan.locator("#played-list li")
    expect(played.first).to_have_class(re.compile(r"\bnow\b"))
    first_title = played.first.locator(".track-title").inner_text()
    expect(host.locator("#np-title")).to_have_text(first_title)
    host.get_by_role("button", name="Skip").click()
    expect(played.first.locator(".track-title")).not_to_have_text(first_title, timeout=10_000)
    expect(played.nth(1).locator(".track-title")).to_have_text(first_title)
    expect(played.nth(1)).not_to_have_class(re.compile(r"\bnow\b"))
    expect(played.nth(1).locator("time")).to_have_text(re.compile(r"\d:\d\d"))
    expect(fan.locator("#played-empty")).to_be_hidden()


@pytest.mark.timeout(60)
def test_a_listener_requests_songs_and_the_desk_answers(room_pair) -> None:  # type: ignore[no-untyped-def]
    host, fan, _ = room_pair
    expect(host.locator("#request-card")).to_be_hidden()  # hosts do not request
    card = fan.locator("#request-card")
    expect(card).to_be_visible()
    expect(fan.get_by_label("Note to the host")).to_have_attribute("maxlength", "140")
    results = fan.locator("#request-results li")
    expect(results.nth(1)).to_be_visible()
    title, other = (results.nth(i).locator(".track-title").inner_text() for i in (0, 1))
    fan.get_by_label("Find a song to request").fill(title)
    expect(results.first.locator(".track-title")).to_have_text(title)
    fan.get_by_label("Note to the host").fill("For my mum")
    fan.get_by_role("button", name=f"Request {title}").first.click()
    status = fan.locator("#request-status")
    expect(status).to_have_text(said(title, "is waiting for the host"), timeout=10_000)

    # One pending at a time: a second one is refused, and said so.
    fan.get_by_label("Find a song to request").fill(other)
    exactly = re.compile(f"^{re.escape(other)}$")
    second = results.filter(has=fan.locator(".track-title", has_text=exactly)).first
    second.get_by_role("button", name=f"Request {other}").click()
    expect(status).to_contain_text("waiting already")

    row = host.locator("#requests-list li").first
    expect(row).to_contain_text(title)
    expect(row).to_contain_text("asked by Fan")
    expect(row).to_contain_text("For my mum")
    expect(host.locator("#requests-count")).to_have_text("(1)")
    assert_accessible(host, "the desk with a request")
    assert_accessible(fan, "a listener with a request waiting")
    row.get_by_role("button", name=re.compile("^Accept")).click()
    expect(status).to_have_text(said(title, "was accepted: it is in the queue"))
    expect(host.locator("#queue-list")).to_contain_text(title)
    expect(host.locator("#requests-list li")).to_have_count(0)
    expect(host.locator("#requests-empty")).to_be_visible()

    second.get_by_role("button", name=f"Request {other}").click()
    expect(status).to_contain_text("is waiting for the host")
    host.locator("#requests-list li").first.get_by_role("button", name=re.compile("^Decline")).click()
    expect(status).to_have_text(said(other, "was declined this time"))


@pytest.mark.timeout(60)
def test_reactions_float_and_fast_taps_stay_quiet(room_pair) -> None:  # type: ignore[no-untyped-def]
    host, fan, host_frames = room_pair
    buttons = fan.locator("#reaction-buttons button")
    expect(buttons).to_have_count(6)
    fan.get_by_role("button", name="🔥 Fire").click()
    fan.get_by_role("button", name="🔥 Fire").click()
    fan.get_by_role("button", name="👏 Applause").click()
    expect(host.locator('#reaction-floats .reaction-float[data-emoji="🔥"]').first).to_be_attached()
    expect(fan.locator("#reaction-floats .reaction-float").first).to_be_attached()  # the sender's too
    # brief: gone again after a moment
    host.wait_for_function("document.querySelectorAll('#reaction-floats .reaction-float').length === 0")

    # Twenty taps in a burst: the server refuses past 5 a second; the page does not say so.
    fan.evaluate("""() => {
        const party = document.querySelector('[data-emoji="🎉"]');
        for (let i = 0; i < 20; i++) party.click();
    }""")
    host.wait_for_timeout(2000)
    expect(fan.locator("#notice")).to_be_hidden()
    counts: dict[str, int] = {}
    for f in host_frames:
        if f["type"] == "reactions":
            for emoji, n in f["counts"].items():
                counts[emoji] = counts.get(emoji, 0) + n
    assert counts.get("🔥") == 2 and counts.get("👏") == 1, counts
    assert 1 <= counts.get("🎉", 0) <= 10, counts
    n_messages = len([f for f in host_frames if f["type"] == "reactions"])
    assert n_messages <= 4, f"{n_messages} reactions messages for two bursts"
