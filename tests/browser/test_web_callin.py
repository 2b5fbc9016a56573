"""Call-ins and a civil room, in real headless Chromium against the real server.

A listener raises a hand, the host brings them on air from the call-in queue,
the caller's own fake microphone (2 kHz, from a second browser) reaches another
listener; moderators delete messages, mute in chat, remove and ban; reports go
through; the page stays usable at phone width and from the keyboard.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import (
    ANALYSE_VOICES,
    CALLER_TONE_HZ,
    TONE_HZ,
    diagnostics,
    dismiss_rules,
    go_live,
    join,
    join_as_host,
    operator,
    tap_to_listen_if_needed,
)

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("ONAIR_SCREENSHOTS")  # a directory: keep screenshots to look at


def shot(page: Page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def person_row(page: Page, list_id: str, pid: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#{list_id} li[data-participant-id="{pid}"]')


@pytest.mark.timeout(75)
def test_caller_raises_hand_goes_on_air_and_is_heard(  # type: ignore[no-untyped-def]
        new_page, caller_browser, live_server: LocalServer) -> None:
    host = new_page()
    room_id = go_live(host, "Phone-in hour", "DJ Tone", {"Extra room rules": "Keep it about music."})
    join(host, "DJ Tone")
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    expect(host.locator("#callin-card")).to_be_visible()
    expect(host.locator("#hands-empty")).to_be_visible()

    # A listener already in the room: the new voice reaches them by renegotiation.
    ears = new_page()
    ears.goto(f"/r/{room_id}")
    join(ears, "Ears")
    tap_to_listen_if_needed(ears)
    expect(ears.locator('#audio-sink audio[data-kind="voice"]')).to_have_count(1)

    # The caller, in the browser whose microphone plays 2 kHz. Rules first.
    caller = new_page(on=caller_browser)
    caller.goto(f"/r/{room_id}")
    join(caller, "Caller")
    expect(caller.locator("#rules-list")).to_contain_text("Be kind")
    expect(caller.locator("#rules-list")).to_contain_text("Keep it about music.")
    dismiss_rules(caller)
    expect(caller.locator("#callin-card")).to_be_hidden()
    caller_id = caller.evaluate("window.onair.state.me")
    host_id = host.evaluate("window.onair.state.me")

    hand = caller.get_by_role("button", name="Raise hand")
    hand.focus()
    caller.keyboard.press("Enter")  # from the keyboard
    expect(caller.get_by_role("button", name="Lower hand")).to_have_attribute("aria-pressed", "true")
    expect(caller.locator("#hand-status")).to_contain_text("1st in line")

    # The host's call-in queue: oldest hand first, then "Bring on air".
    queue = host.locator("#hands-list")
    expect(queue.locator("li")).to_have_count(1)
    expect(queue).to_contain_text("Caller")
    expect(host.locator("#callin-count")).to_have_text("(1)")
    host.get_by_role("button", name="Bring Caller on air").click()
    expect(queue.locator("li")).to_have_count(0)

    # The caller is on air: pub open with the microphone, level meter moving.
    expect(caller.locator("#conn-state")).to_have_text("Live · on air")
    expect(caller.locator("#notice")).to_contain_text("on air")
    expect(caller.get_by_role("button", name="Leave the stage")).to_be_visible()
    expect(caller.get_by_role("button", name="Raise hand")).to_be_hidden()
    expect(caller.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    caller.wait_for_function("parseFloat(document.getElementById('mic-meter').style.width) > 20")
    expect(caller.get_by_role("button", name="Skip")).to_be_hidden()  # a guest, not a moderator

    # The host sees them on stage, speaking (from `levels`), with the stage controls.
    row = person_row(host, "stage-list", caller_id)
    expect(row).to_contain_text("Guest")
    expect(row).to_have_class(re.compile(r"\bspeaking\b"), timeout=10_000)
    for name in ("Mute Caller", "Send Caller back to the audience", "Make Caller a moderator"):
        expect(host.get_by_role("button", name=name)).to_be_visible()

    # The other listener hears the caller's 2 kHz and the host's 1 kHz, each on its own element.
    expect(ears.locator('#audio-sink audio[data-kind="voice"]')).to_have_count(2, timeout=10_000)
    heard = ears.evaluate(ANALYSE_VOICES, {"seconds": 10, "voices": [
        {"pid": caller_id, "hz": CALLER_TONE_HZ}, {"pid": host_id, "hz": TONE_HZ}]})
    info = f"{heard}\n{diagnostics(host, caller, ears)}\n{live_server.log_tail()}"
    assert heard["voices"][caller_id]["ok"], f"no 2 kHz from the caller: {info}"
    assert heard["voices"][host_id]["ok"], f"no 1 kHz from the host: {info}"

    # Muting the caller: everyone sees it; the caller's page says who did it.
    host.get_by_role("button", name="Mute Caller").click()
    expect(person_row(ears, "stage-list", caller_id)).to_contain_text("muted")
    expect(caller.locator("#mute-state")).to_contain_text("A moderator muted you")
    expect(caller.get_by_role("button", name="Mic off")).to_be_visible()
    host.get_by_role("button", name="Unmute Caller").click()
    expect(caller.get_by_role("button", name="Mic on")).to_be_visible()

    # A moderator never gets controls against the host.
    host.get_by_role("button", name="Make Caller a moderator").click()
    expect(caller.get_by_role("button", name="Skip")).to_be_visible()
    host_row = person_row(caller, "stage-list", host_id)
    expect(host_row.get_by_role("button", name=re.compile("^(Mute|Send)"))).to_have_count(0)
    caller.get_by_role("button", name="More for DJ Tone").click()
    sheet = caller.locator("#sheet")
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("button", name="Report DJ Tone…")).to_be_visible()
    expect(sheet.get_by_role("button", name=re.compile("Remove|Mute|Send back"))).to_have_count(0)
    caller.keyboard.press("Escape")
    expect(sheet).to_be_hidden()

    # Leaving the stage closes pub and says so; the listener loses that voice.
    caller.get_by_role("button", name="Leave the stage").click()
    expect(caller.locator("#notice")).to_contain_text("Your microphone is off")
    expect(caller.get_by_role("button", name="Raise hand")).to_be_visible()
    caller.wait_for_function("window.onair.pcs.pub === null")
    expect(ears.locator('#audio-sink audio[data-kind="voice"]')).to_have_count(1, timeout=10_000)
    expect(person_row(host, "stage-list", caller_id)).to_have_count(0)


@pytest.fixture
def moderated_room(new_page, live_server: LocalServer) -> tuple[Page, Page, dict]:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Civil chat", "Mod Host")
    host, bob = new_page(), new_page()
    join_as_host(host, room, "Mod Host", wait_audio=False)
    bob.goto(room["room_url"])
    join(bob, "Bob", wait_audio=False)
    return host, bob, room


def say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_label("Your message").press("Enter")


def message(page: Page, text: str):  # type: ignore[no-untyped-def]
    return page.locator("#chat-log .chat-msg").filter(has=page.locator(".text", has_text=text))


@pytest.mark.timeout(45)
def test_moderator_deletes_mutes_and_removes_and_anyone_reports(  # type: ignore[no-untyped-def]
        moderated_room, live_server: LocalServer) -> None:
    host, bob, room = moderated_room
    dialogs: list[str] = []
    for page in (host, bob):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    # The host deletes Bob's message from the page: it disappears on Bob's page too.
    say(bob, "buy cheap followers now")
    expect(message(host, "buy cheap followers")).to_have_count(1)
    message(host, "buy cheap followers").get_by_role("button", name="Actions for message from Bob").click()
    sheet = host.locator("#sheet")
    expect(sheet.locator(".quote")).to_have_text("buy cheap followers now")
    sheet.get_by_role("button", name="Delete message").click()
    expect(sheet).to_be_hidden()
    expect(message(bob, "buy cheap followers")).to_have_count(0)
    expect(message(host, "buy cheap followers")).to_have_count(0)

    # An author deletes their own message; a listener cannot delete someone else's.
    say(host, "welcome everyone")
    say(bob, "oops, wrong window")
    message(bob, "oops").get_by_role("button", name="Actions for message from you").click()
    bob.locator("#sheet").get_by_role("button", name="Delete message").click()
    expect(message(host, "oops")).to_have_count(0)
    message(bob, "welcome everyone").get_by_role("button", name="Actions for message from Mod Host").click()
    bob_sheet = bob.locator("#sheet")
    expect(bob_sheet.get_by_role("button", name="Delete message")).to_have_count(0)

    # Anyone reports a message, with a reason; the operator gets it.
    bob_sheet.get_by_role("button", name="Report message…").click()
    bob_sheet.get_by_label("What is wrong?").fill("testing the report button")
    bob_sheet.get_by_role("button", name="Send report").click()
    expect(bob_sheet).to_be_hidden()
    expect(bob.locator("#notice")).to_contain_text("report was sent")
    _, reports = operator(live_server, "GET", "/api/reports")
    assert any(r.get("reason") == "testing the report button" and r.get("room_id") == room["room_id"]
               and r.get("message_id") for r in reports), reports  # type: ignore[union-attr]

    # The chat rate limit shows inline, not as a dialog.
    for i in range(6):
        say(bob, f"flood {i}")
    expect(bob.locator("#chat-error")).to_contain_text(re.compile("slow down", re.I))

    # Mute in chat: Bob's input is disabled and says why.
    bob_id = bob.evaluate("window.onair.state.me")
    host.locator("#audience summary").click()
    person_row(host, "audience-list", bob_id).get_by_role("button", name="More for Bob").click()
    sheet.get_by_role("button", name="Mute in chat").click()
    expect(bob.get_by_label("Your message")).to_be_disabled()
    expect(bob.get_by_label("Your message")).to_have_attribute("placeholder", re.compile("muted you in chat"))

    # Remove and ban, confirmed in the sheet (no blocking dialog); Bob cannot come back.
    host.get_by_role("button", name="More for Bob").click()
    sheet.get_by_role("button", name="Remove and ban…").click()
    expect(sheet.get_by_role("heading")).to_have_text("Remove and ban Bob?")
    sheet.get_by_label("Reason").fill("spam")
    sheet.get_by_role("button", name="Remove and ban", exact=True).click()
    expect(bob.locator("#final-heading")).to_have_text("You were removed from the show")
    expect(bob.locator("#final-detail")).to_contain_text("spam")
    expect(bob.locator("#conn-state")).to_have_text("Removed")
    expect(host.locator("#notice")).to_contain_text("removed and banned")
    bob.reload()
    bob.get_by_label("Your name").fill("Bob again")
    bob.get_by_role("button", name=re.compile(r"^Join")).click()
    expect(bob.locator("#join-error")).to_contain_text("banned")
    assert dialogs == []


@pytest.mark.timeout(40)
def test_phone_width_single_column_no_horizontal_scroll(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    phone = {"width": 390, "height": 844}
    room = create_room_sync(live_server.url, "A show with a rather long title for a small phone screen")
    host, fan = new_page(viewport=phone), new_page(viewport=phone)
    no_scroll = "document.scrollingElement.scrollWidth <= window.innerWidth"

    fan.goto(room["room_url"])
    assert fan.evaluate(no_scroll)
    shot(fan, "phone-join")
    join(fan, "Fan with a long name", wait_audio=False)
    expect(fan.locator("#rules-card")).to_be_visible()
    shot(fan, "phone-listener-rules")
    join_as_host(host, room, "Host", wait_audio=False)

    # Keyboard only: Tab reaches "Got it" and "Raise hand"; focus is visible.
    def tab_to(page: Page, element_id: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement && document.activeElement.id") == element_id:
                assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
                return
        raise AssertionError(f"Tab never reached #{element_id}")

    tab_to(fan, "rules-ok")
    fan.keyboard.press("Enter")
    expect(fan.locator("#rules-card")).to_be_hidden()
    tab_to(fan, "hand-button")
    fan.keyboard.press(" ")
    expect(host.locator("#hands-list")).to_contain_text("Fan with a long name")
    say(fan, "x" * 120)  # one long unbroken word
    say(host, "A long line of chat to see how the log wraps on a phone held upright")
    expect(host.locator("#chat-log .chat-msg")).to_have_count(2)

    for page, name in ((host, "phone-host"), (fan, "phone-listener")):
        assert page.evaluate(no_scroll), page.evaluate(
            "[document.scrollingElement.scrollWidth, window.innerWidth]")
        # single column: the cards sit one above the other, full width
        boxes = page.evaluate("""() => [...document.querySelectorAll('#room-view .card')]
            .filter((c) => c.offsetParent !== null).map((c) => c.getBoundingClientRect())
            .map((r) => [Math.round(r.left), Math.round(r.width)])""")
        assert len({b[0] for b in boxes}) == 1 and len({b[1] for b in boxes}) == 1, boxes
        shot(page, name)

    host.get_by_role("button", name="More for Fan with a long name").click()
    expect(host.locator("#sheet")).to_be_visible()
    assert host.evaluate(no_scroll)
    shot(host, "phone-host-sheet")
    host.keyboard.press("Escape")

    # "Dismiss" takes a hand out of this host's queue without bringing them on air.
    host.get_by_role("button", name="Dismiss Fan with a long name's raised hand").click()
    expect(host.locator("#hands-list li")).to_have_count(0)
    expect(host.locator("#hands-empty")).to_be_visible()


@pytest.mark.timeout(40)
def test_reconnecting_and_host_away_notices(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Flaky links")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Host")
    sockets = []

    def keep(ws) -> None:  # type: ignore[no-untyped-def]
        sockets.append((ws, ws.connect_to_server()))

    fan.route_web_socket(re.compile(r"/api/rooms/[^/]+/ws"), keep)
    fan.goto(room["room_url"])
    join(fan, "Fan")

    # The socket drops unexpectedly: "Reconnecting…" with a countdown, then back live.
    page_side, server_side = sockets[-1]
    page_side.close(code=4000, reason="network blip")
    server_side.close()
    expect(fan.locator("#reconnect-banner")).to_be_visible()
    expect(fan.locator("#reconnect-text")).to_contain_text("Reconnecting")
    expect(fan.locator("#conn-state")).to_have_text("Reconnecting…")
    expect(fan.get_by_role("button", name="Retry now")).to_be_visible()
    expect(fan.locator("#conn-state")).to_have_text(re.compile("^Live"), timeout=10_000)
    expect(fan.locator("#reconnect-banner")).to_be_hidden()
    expect(fan.locator("#notice")).to_have_text("Reconnected.")
    assert len(sockets) == 2

    # The host's page goes away while music plays: listeners are told, then told it is back.
    host.goto("about:blank")
    expect(fan.locator("#host-away")).to_have_text("The host is reconnecting… The music keeps playing.")
    host.goto(room["room_url"])
    join(host, "Host", wait_audio=False)
    expect(fan.locator("#host-away")).to_be_hidden()
    expect(fan.locator("#notice")).to_have_text("The host is back.")

    # The show ends: said clearly, no reconnecting.
    host.get_by_role("button", name="End show").click()
    host.get_by_role("button", name="Really end the show?").click()
    expect(fan.locator("#final-heading")).to_have_text("The show has ended")
    expect(fan.locator("#conn-state")).to_have_text("Ended")
    expect(fan.locator("#reconnect-banner")).to_be_hidden()
