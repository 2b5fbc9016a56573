"""The host gets back in from another device with the host link (a URL fragment)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import join, join_as_host


def test_the_host_link_makes_another_browser_the_host(
    new_page: Callable[..., Page], live_server: LocalServer
) -> None:
    room = create_room_sync(live_server.url, "Two devices", "Dee")
    laptop = new_page()
    join_as_host(laptop, room, "Dee", wait_audio=False)
    box = laptop.locator("#host-link")
    expect(box).to_be_visible()
    link = laptop.locator("#host-link-url").input_value()
    assert link == f"{live_server.url}/r/{room['room_id']}#host={room['host_token']}"
    laptop.locator("#host-link-copy").click()
    expect(laptop.locator("#host-link-status")).not_to_be_empty()

    phone = new_page(viewport={"width": 390, "height": 844})
    phone.goto(link)
    assert "#host=" not in phone.url  # the token leaves the address bar at once
    join(phone, "Dee on the phone", wait_audio=False)
    expect(phone.locator("#end-button")).to_be_visible()  # the phone is the host now
    expect(phone.locator("#host-link")).to_be_visible()
    # the laptop's session was replaced (close 4009): it no longer runs the show
    expect(laptop.locator("#end-button")).to_be_hidden(timeout=10_000)


def test_a_listener_sees_no_host_link_and_a_forged_fragment_gives_nothing(
    new_page: Callable[..., Page], live_server: LocalServer
) -> None:
    room = create_room_sync(live_server.url, "No link for you", "Eve")
    listener = new_page()
    listener.goto(f"{room['room_url']}#host=not-the-token-but-long-enough")
    listener.get_by_label("Your name").fill("Mallory")
    listener.get_by_role("button", name="Join").click()
    expect(listener.locator("#join-error")).to_contain_text("not valid")
    assert listener.locator("#end-button").is_hidden()
    join(listener, "Mallory", wait_audio=False)  # the bad token was dropped: in as a listener
    expect(listener.locator("#hand-button")).to_be_visible()
    expect(listener.locator("#host-link")).to_be_hidden()

    other = new_page()
    other.goto(room["room_url"])
    join(other, "Lis", wait_audio=False)
    expect(other.locator("#host-link")).to_be_hidden()
