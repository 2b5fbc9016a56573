"""Issue 14, item 8: accessible to everyone. axe-core (the npm package `make test` installs) runs
its WCAG 2.1 A and AA rules in real Chromium on each page state a newcomer meets; the keyboard
lands somewhere sensible after Join, and a focus ring is never cut off by the chat's scroll box.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import AXE_JS, axe_violations, describe_violations, dismiss_rules, join, join_as_host

pytestmark = pytest.mark.browser


def no_violations(page: Page, state: str) -> None:
    found = axe_violations(page)
    assert found == [], f"axe, {state}:\n{describe_violations(found)}"


@pytest.mark.timeout(90)
def test_axe_finds_nothing_on_the_pages_a_newcomer_meets(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    assert AXE_JS.is_file(), f"no axe-core at {AXE_JS}: `make axe` installs it"
    room = create_room_sync(live_server.url, "Accessible hour", "Ada")
    host, fan = new_page(), new_page()

    fan.goto("/")
    expect(fan.locator("#rooms")).to_contain_text("Accessible hour")
    no_violations(fan, "the front page")

    fan.goto(room["room_url"])
    expect(fan.locator("#join-heading")).to_have_text("Accessible hour")
    no_violations(fan, "a room before joining")

    join_as_host(host, room, "Ada")
    join(fan, "Grace")
    expect(fan.locator("#rules-card")).to_be_visible()
    no_violations(fan, "a room just joined, its rules card up")
    dismiss_rules(fan)

    fan.get_by_role("button", name="Raise hand").click()
    expect(host.locator("#hands-list")).to_contain_text("Grace")
    fan.get_by_label("Your message").fill("Hello from the audience")
    fan.get_by_role("button", name="Send").click()
    host.get_by_label("Your message").fill("Welcome, Grace")
    host.get_by_role("button", name="Send").click()
    expect(host.locator("#chat-log .chat-msg")).to_have_count(2)
    expect(host.locator("#library-results li").first).to_be_visible()
    no_violations(host, "the host's desk with a raised hand and chat")
    no_violations(fan, "a listener with a hand up and chat")

    host.get_by_role("button", name="More for Grace").first.click()
    expect(host.locator("#sheet")).to_be_visible()
    no_violations(host, "the host's action sheet")
    host.keyboard.press("Escape")
    host.get_by_role("button", name="Bring Grace on air").click()
    expect(host.get_by_role("button", name="Make Grace a moderator")).to_be_visible()
    expect(fan.locator("#conn-state")).to_have_text("Live · on air")
    no_violations(host, "the host's stage with a guest on it")
    no_violations(fan, "a guest on air")
    host.get_by_role("button", name="Leave").click()
    expect(host.locator("#leave-dialog")).to_be_visible()
    no_violations(host, "the host's leave dialog")
    host.get_by_role("button", name="Stay").click()


@pytest.mark.timeout(60)
def test_keyboard_focus_after_join_and_around_the_chat(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Keyboard hour", "Kay")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Kay", wait_audio=False)
    fan.goto(room["room_url"])
    name = fan.get_by_label("Your name")
    name.fill("Lin")
    name.press("Enter")  # keyboard only: Enter in the name field joins
    expect(fan.locator("#room-view")).to_be_visible()
    # The form that held the focus is gone: focus is on the show's title, not lost on <body>.
    expect(fan.locator("#show-title")).to_be_focused()

    fan.get_by_role("button", name="Got it").press("Enter")
    expect(fan.locator("#show-title")).to_be_focused()
    host.get_by_label("Your message").fill("A line to act on")
    host.get_by_role("button", name="Send").click()
    menu = fan.get_by_role("button", name="Actions for message from Kay")
    menu.focus()
    fan.keyboard.press("Shift+Tab")
    fan.keyboard.press("Tab")  # reached from the keyboard: the focus ring is drawn
    expect(menu).to_be_focused()
    ring = fan.evaluate("""() => {
        const b = document.activeElement, box = document.getElementById('chat-scroll');
        const s = getComputedStyle(b), r = b.getBoundingClientRect(), c = box.getBoundingClientRect();
        const out = parseFloat(s.outlineWidth) + parseFloat(s.outlineOffset);
        return {style: s.outlineStyle, ring: [r.left - out, r.top - out, r.right + out, r.bottom + out],
                box: [c.left + box.clientLeft, c.top + box.clientTop,
                      c.left + box.clientLeft + box.clientWidth, c.top + box.clientTop + box.clientHeight]};
    }""")
    assert ring["style"] != "none", ring
    left, top, right, bottom = ring["ring"]
    b_left, b_top, b_right, b_bottom = ring["box"]
    assert left >= b_left and top >= b_top and right <= b_right and bottom <= b_bottom, (
        f"the focus ring is cut off by the chat box: {ring}")
