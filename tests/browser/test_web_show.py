"""The bundled page in real headless Chromium against the real server.

What a person would see and hear: a host goes live from `/` with the fake 1 kHz
microphone, a listener opens the link and hears the voice (FFT peak at 1 kHz)
and the music (non-silent); chat crosses between pages and stays plain text.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import (
    ANALYSE_AUDIO,
    CHROMIUM,
    TONE_HZ,
    chromium_args,
    diagnostics,
    go_live,
    join,
    mic_context,
    open_page,
    tap_to_listen_if_needed,
)

pytestmark = pytest.mark.browser


@pytest.mark.timeout(50)
def test_host_goes_live_and_listener_hears_voice_and_music(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    host = new_page()
    room_id = go_live(host, "Sine Time", "DJ Tone", {"Description": "A thousand hertz, all night long"})
    token = host.evaluate(f"localStorage.getItem('onair:host:{room_id}')")
    assert token, "host token not kept in localStorage"
    assert token not in host.url
    expect(host.get_by_label("Your name")).to_have_value("DJ Tone")

    join(host, "DJ Tone")
    expect(host.locator("#conn-state")).to_have_text("Live · on air")
    expect(host.get_by_role("button", name="Mic on")).to_be_visible()
    expect(host.get_by_role("button", name="Skip")).to_be_visible()
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)

    listener = new_page()
    listener.goto(f"/r/{room_id}")
    expect(listener.locator("#join-heading")).to_have_text("Sine Time")
    join(listener, "Ears")
    tap_to_listen_if_needed(listener)

    # What the listener sees.
    expect(listener.locator("#show-title")).to_have_text("Sine Time")
    expect(listener.locator("#show-host")).to_have_text("DJ Tone")
    expect(listener.locator("#stage-list")).to_contain_text("DJ Tone")
    expect(listener.locator("#np-title")).not_to_have_text("Nothing playing")
    expect(listener.get_by_role("button", name="Raise hand")).to_be_visible()
    expect(listener.get_by_role("button", name="Skip")).to_be_hidden()
    expect(host.locator("#listener-count")).to_have_text("1 listening")

    # What the listener hears.
    expect(listener.locator('#audio-sink audio[data-kind="voice"]')).to_have_count(1)
    expect(listener.locator('#audio-sink audio[data-kind="music"]')).to_have_count(1)
    heard = listener.evaluate(ANALYSE_AUDIO, {"toneHz": TONE_HZ, "seconds": 10})
    info = f"{heard}\n{diagnostics(host, listener)}\n{live_server.log_tail()}"
    assert heard["voice"] and heard["music"], info
    assert heard["voiceOk"], f"no 1 kHz peak in the host's voice: {info}"
    assert abs(heard["peakHz"] - TONE_HZ) <= max(50, heard["binHz"]), info
    assert heard["musicRms"] > 0.01, f"music is silent: {info}"


@pytest.mark.timeout(20)
def test_home_lists_live_shows(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Listed show", "Somebody")
    page = new_page()
    page.goto("/")
    link = page.get_by_role("link", name=re.compile("Listed show"))
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", room["room_url"])
    expect(link).to_contain_text("with Somebody")
    expect(link).to_contain_text("listening")
    expect(link).to_contain_text("♪")  # music plays in every room


@pytest.fixture
def chat_pair(new_page, live_server: LocalServer) -> tuple[Page, Page]:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Chat corner")
    alice, bob = new_page(), new_page()
    for page, name in ((alice, "Alice"), (bob, "Bob")):
        page.goto(room["room_url"])
        join(page, name, wait_audio=False)
    return alice, bob


@pytest.mark.timeout(30)
def test_chat_crosses_between_pages(chat_pair: tuple[Page, Page]) -> None:
    alice, bob = chat_pair
    alice.get_by_label("Your message").fill("hello from Alice")
    alice.get_by_label("Your message").press("Enter")
    for page in (bob, alice):
        last = page.locator("#chat-log .chat-msg").last
        expect(last.locator(".who")).to_have_text("Alice")
        expect(last.locator(".text")).to_have_text("hello from Alice")
    expect(alice.get_by_label("Your message")).to_have_value("")

    bob.get_by_label("Your message").fill("hi Alice, Bob here")
    bob.get_by_role("button", name="Send").click()
    expect(alice.locator("#chat-log .chat-msg").last.locator(".text")).to_have_text("hi Alice, Bob here")


@pytest.mark.timeout(30)
def test_chat_markup_stays_text(chat_pair: tuple[Page, Page]) -> None:
    alice, bob = chat_pair
    dialogs: list[str] = []
    for page in (alice, bob):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    payload = "<img src=x onerror=alert(1)>"
    alice.get_by_label("Your message").fill(payload)
    alice.get_by_label("Your message").press("Enter")
    for page in (bob, alice):
        expect(page.locator("#chat-log .chat-msg").last.locator(".text")).to_have_text(payload)
    bob.wait_for_timeout(500)  # an injected <img src=x> would have failed and fired by now
    for page in (alice, bob):
        assert page.locator("#chat-log img").count() == 0
        assert page.evaluate("document.images.length") == 0
    assert dialogs == []


@pytest.mark.timeout(20)
def test_answer_sdp_asks_for_stereo_on_the_music_mid(new_page) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/")
    out = page.evaluate("""async () => {
      const { addStereo } = await import('/static/js/sdp.js');
      const sdp = ['v=0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:0', 'a=rtpmap:111 opus/48000/2',
        'a=fmtp:111 minptime=10;useinbandfec=1', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1',
        'a=rtpmap:111 opus/48000/2', 'a=fmtp:111 minptime=10;useinbandfec=1', ''].join('\\r\\n');
      return addStereo(sdp, '1').split('\\r\\n');
    }""")
    assert out[4] == "a=fmtp:111 minptime=10;useinbandfec=1"
    assert out[8] == "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1"


@pytest.mark.timeout(30)
def test_blocked_autoplay_shows_tap_to_listen(playwright_sync, tone_wav, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    """Without a user gesture the browser refuses to play: the page says so and one tap fixes it.

    The only deviation from TESTING.md's flags: the autoplay policy is the real one,
    and the join is submitted from script with no user gesture (over CDP).
    """

    room = create_room_sync(live_server.url, "Autoplay check")
    args = [a for a in chromium_args(tone_wav) if not a.startswith("--autoplay-policy")]
    b = playwright_sync.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        ctx = mic_context(b, live_server.url)
        page = open_page(ctx)
        page.goto(room["room_url"])
        cdp = ctx.new_cdp_session(page)

        def no_gesture(expression: str) -> object:  # page.evaluate would count as a gesture
            return cdp.send("Runtime.evaluate", {"expression": expression, "userGesture": False,
                                                 "returnByValue": True})["result"].get("value")

        no_gesture("document.getElementById('join-name').value = 'Quiet';"
                   "document.getElementById('join-form').requestSubmit()")
        # Poll without a gesture: Playwright's own locator queries grant user activation. Wait for
        # the listening connection too: until the page has answered the offer it may call play()
        # again, and after the tap's locator query (a gesture) that play() would be allowed.
        blocked = ("!document.getElementById('tap-to-listen').hidden && "
                   "document.querySelector('#audio-sink audio[data-kind=music]')?.paused === true && "
                   "window.onair.state.subState === 'connected'")
        deadline = time.monotonic() + 15
        while no_gesture(blocked) is not True:
            assert time.monotonic() < deadline, "no 'Tap to listen' while playback is blocked"
            time.sleep(0.1)
        tap = page.get_by_role("button", name="Tap to listen")
        tap.click()
        expect(tap).to_be_hidden()
        page.wait_for_function("window.onair.audioElements.every((a) => !a.paused)")
    except Exception:
        print(diagnostics(page))
        raise
    finally:
        b.close()
