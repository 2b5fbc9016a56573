"""The green room and mutes that hold (issue 13, items 1-2), on the page, in real Chromium.

The host screens a caller from the call-in queue: the caller's page opens its microphone and
says only the host hears it; the host hears the caller's 2 kHz (a second Chromium's fake mic)
and sees its level, while another listener never gets that voice. "Talk to caller" held down
sends the host's voice to the caller only (the listener loses it until it is let go); "Send
back" returns the caller to the audience, "Put on air" puts them on air for everyone. A speaker
muted by the host cannot open their own mic; a listener made moderator starts with the mic off.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import (
    ANALYSE_VOICES,
    CALLER_TONE_HZ,
    TONE_HZ,
    assert_accessible,
    diagnostics,
    dismiss_rules,
    join,
    join_as_host,
    record_sent,
    tap_to_listen_if_needed,
)

pytestmark = pytest.mark.browser


GREEN_ROOM = "You are in the green room: only the host hears you"


def voice_of(page: Page, pid: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#audio-sink audio[data-kind="voice"][data-participant-id="{pid}"]')


def hears(page: Page, pid: str, hz: float, seconds: float = 10) -> dict[str, Any]:
    found = page.evaluate(ANALYSE_VOICES, {"seconds": seconds, "voices": [{"pid": pid, "hz": hz}]})
    return dict(found["voices"][pid])


def raise_hand(page: Page) -> None:
    page.get_by_role("button", name="Raise hand").click()
    expect(page.get_by_role("button", name="Lower hand")).to_be_visible()


@pytest.mark.timeout(150)
def test_screen_talk_back_send_back_and_put_on_air(  # type: ignore[no-untyped-def]
        new_page, caller_browser, live_server: LocalServer) -> None:
    room = create_room_sync(live_server.url, "Phone lines open", "Producer Pat")
    host, ears = new_page(), new_page()
    host_sent = record_sent(host)
    join_as_host(host, room, "Producer Pat")
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    ears.goto(room["room_url"])
    join(ears, "Ears")
    tap_to_listen_if_needed(ears)
    caller = new_page(on=caller_browser)
    caller.goto(room["room_url"])
    join(caller, "Caller")
    dismiss_rules(caller)
    host_id, caller_id = host.evaluate("window.onair.state.me"), caller.evaluate("window.onair.state.me")
    expect(voice_of(ears, host_id)).to_have_count(1)
    info = lambda: f"{diagnostics(host, caller, ears)}\n{live_server.log_tail()}"  # noqa: E731

    # Screened from the call-in queue: the caller's mic opens, for the host's ears only.
    raise_hand(caller)
    host.get_by_role("button", name="Screen Caller").click()
    expect(caller.locator("#stage-heading")).to_have_text(GREEN_ROOM)
    expect(caller.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    expect(caller.get_by_role("button", name="Raise hand")).to_be_hidden()
    expect(caller.locator("#conn-state")).to_have_text("Live")  # not on air
    row = host.locator(f'#greenroom-list li[data-participant-id="{caller_id}"]')
    expect(row).to_contain_text("Caller")
    expect(host.locator("#hands-list li")).to_have_count(0)
    host.wait_for_function(  # the caller's level, from `levels`
        f"parseFloat(document.querySelector('[data-level-for=\"{caller_id}\"]').style.width) > 20")
    expect(voice_of(host, caller_id)).to_have_count(1, timeout=10_000)
    heard = hears(host, caller_id, CALLER_TONE_HZ)
    assert heard["ok"], f"the host does not hear the screened caller: {heard}\n{info()}"
    assert voice_of(ears, caller_id).count() == 0, "a listener was offered the screened caller's voice"
    assert_accessible(host, "the host with a caller in the green room")
    assert_accessible(caller, "a caller in the green room")

    # Talk to caller, held down: the host's voice leaves the air (the listener loses it) and
    # reaches the caller; let go, it is back on air.
    talk = host.get_by_role("button", name="Talk to caller: Caller")
    talk.hover()
    host.mouse.down()
    expect(talk).to_have_attribute("aria-pressed", "true")
    expect(voice_of(ears, host_id)).to_have_count(0, timeout=10_000)
    heard = hears(caller, host_id, TONE_HZ)
    assert heard["ok"], f"the caller does not hear the host's talkback: {heard}\n{info()}"
    assert voice_of(ears, caller_id).count() == 0
    host.mouse.up()
    expect(talk).to_have_attribute("aria-pressed", "false")
    expect(voice_of(ears, host_id)).to_have_count(1, timeout=10_000)
    talkbacks = [(m["participant_id"], m["on"]) for m in host_sent if m.get("type") == "talkback"]
    assert talkbacks == [(caller_id, True), (caller_id, False)], talkbacks

    # Send back: the caller is a listener again, mic closed; the green room is empty.
    host.get_by_role("button", name="Send back: Caller").click()
    expect(caller.locator("#notice")).to_contain_text("You left the green room")
    caller.wait_for_function("window.onair.pcs.pub === null")
    expect(caller.get_by_role("button", name="Raise hand")).to_be_visible()
    expect(host.locator("#greenroom-list li")).to_have_count(0)
    expect(host.locator("#greenroom-empty")).to_be_visible()

    # Screened again, then put on air: every listener gets the voice.
    raise_hand(caller)
    host.get_by_role("button", name="Screen Caller").click()
    expect(caller.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    host.get_by_role("button", name="Put on air: Caller").click()
    expect(caller.locator("#conn-state")).to_have_text("Live · on air")
    expect(caller.locator("#stage-heading")).to_have_text("You are on air")
    expect(host.locator(f'#stage-list li[data-participant-id="{caller_id}"]')).to_contain_text("Guest")
    expect(voice_of(ears, caller_id)).to_have_count(1, timeout=10_000)
    heard = hears(ears, caller_id, CALLER_TONE_HZ)
    assert heard["ok"], f"the listener does not hear the caller on air: {heard}\n{info()}"


@pytest.mark.timeout(90)
def test_a_host_mute_holds_and_a_new_moderator_starts_with_the_mic_off(  # type: ignore[no-untyped-def]
        new_page, live_server: LocalServer) -> None:
    room = create_room_sync(live_server.url, "Mute discipline", "Hostess")
    host, guest, helper = new_page(), new_page(), new_page()
    join_as_host(host, room, "Hostess", wait_audio=False)
    for page, name in ((guest, "Guest Gil"), (helper, "Helper Hal")):
        page.goto(room["room_url"])
        join(page, name, wait_audio=False)
    raise_hand(guest)
    host.get_by_role("button", name="Bring Guest Gil on air").click()
    mic = guest.locator("#mic-button")
    expect(mic).to_have_text("Mic on")

    # Muted by the host: the guest's button is disabled and says who closed it.
    host.get_by_role("button", name="Mute Guest Gil").click()
    expect(mic).to_be_disabled()
    expect(mic).to_contain_text("The host muted you")
    expect(mic).to_have_attribute("aria-pressed", "false")
    expect(guest.locator("#mute-state")).to_be_visible()
    assert guest.evaluate("window.onair.state.micOn") is False
    host.get_by_role("button", name="Unmute Guest Gil").click()
    expect(mic).to_be_enabled()
    expect(mic).to_have_text("Mic on")

    # A mic its owner closed: the host sees it off, with no button to open it.
    mic.click()
    expect(mic).to_have_text("Mic off")
    guest_row = host.locator("#stage-list li", has_text="Guest Gil")
    expect(guest_row).to_contain_text("self-muted")
    expect(host.get_by_role("button", name="Unmute Guest Gil")).to_have_count(0)
    mic.click()
    expect(mic).to_have_text("Mic on")
    expect(guest_row.locator(".badge.muted")).to_have_count(0)

    # A listener made moderator comes on stage with the mic off, and opens it themselves.
    host.locator("#audience summary").click()
    host.get_by_role("button", name="More for Helper Hal").click()
    host.locator("#sheet").get_by_role("button", name="Make moderator").click()
    expect(helper.get_by_role("button", name="Skip")).to_be_visible()
    helper_mic = helper.locator("#mic-button")
    expect(helper_mic).to_have_text("Mic off")
    expect(helper_mic).to_be_enabled()
    expect(helper.locator("#notice")).to_contain_text("Your mic is off")
    assert_accessible(guest, "a speaker, muted by the host earlier")
    expect(host.locator("#stage-list li", has_text="Helper Hal")).to_contain_text("self-muted")
    helper_mic.click()
    expect(helper_mic).to_have_text("Mic on")
    expect(host.locator("#stage-list li", has_text="Helper Hal").locator(".badge.muted")).to_have_count(0)
