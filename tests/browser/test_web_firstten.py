"""Issue 14: the first ten minutes of a host and a listener, in real Chromium through the page.

Each test walks one place where a newcomer stumbled: an upload named by a random string, a
listener posing as the host, limits that disagree, a long word that widens the page, a host who
leaves by accident, a reload that takes the host off air, dead ends. Screenshots for the issue's
closing note go to data/screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio
from tests.helpers import create_room_sync

from .helpers import (
    ANALYSE_VOICES,
    TONE_HZ,
    diagnostics,
    dismiss_rules,
    join,
    join_as_host,
    screenshot,
    tap_to_listen_if_needed,
)

pytestmark = pytest.mark.browser

NO_SIDEWAYS = "document.scrollingElement.scrollWidth <= window.innerWidth"
WIDTHS = "[document.scrollingElement.scrollWidth, window.innerWidth]"


def post_room(server: LocalServer, body: dict) -> dict:
    req = urllib.request.Request(f"{server.url}/api/rooms", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return dict(json.loads(resp.read()))


def say(page: Page, text: str) -> None:
    page.get_by_label("Your message").fill(text)
    page.get_by_role("button", name="Send").click()


# --- 1. an untagged upload, and editing a title from the desk -------------------------------------


@pytest.mark.timeout(60)
def test_an_untagged_upload_keeps_its_file_name_and_the_host_retitles_it(  # type: ignore[no-untyped-def]
        new_page, live_server: LocalServer, tmp_path: Path) -> None:
    room = create_room_sync(live_server.url, "Jingle test")
    host, ears = new_page(), new_page()
    join_as_host(host, room, "Hosty", wait_audio=False)
    ears.goto(room["room_url"])
    join(ears, "Ears", wait_audio=False)

    wav = write_audio(tmp_path / "my-jingle.wav", 1.5, codec="pcm_s16le")  # no tags at all
    host.locator("#upload-file").set_input_files(str(wav))
    expect(host.locator("#upload-status")).to_have_text("Added my-jingle", timeout=20_000)
    offer = host.locator("#upload-queue")
    expect(offer).to_have_text("Add my-jingle to the queue")  # seen as it is named
    offer.click()
    expect(ears.locator("#queue-list .q-title")).to_have_text(["my-jingle"])

    host.get_by_label("Search the library").fill("my-jingle")
    expect(host.locator("#library-status")).to_have_text("1 track for “my-jingle”")
    row = host.locator("#library-results li").filter(has_text="my-jingle")
    expect(row).to_have_count(1)
    row.get_by_role("button", name="Edit my-jingle").click()
    host.get_by_label("Title").fill("Morning Jingle")
    host.get_by_label("Artist").fill("The Desk")
    with host.expect_request(lambda r: r.method == "PATCH") as patched:
        host.get_by_role("button", name="Save").click()
    assert patched.value.url.endswith(f"?room_id={room['room_id']}"), "the edit names the host's room"
    expect(host.locator("#desk-status")).to_have_text("Saved: Morning Jingle by The Desk.")
    edited = host.locator("#library-results li").filter(has_text="Morning Jingle")
    expect(edited).to_contain_text("The Desk")
    expect(edited.get_by_role("button", name="Edit Morning Jingle")).to_be_focused()
    expect(ears.locator("#queue-list .q-title")).to_have_text(["Morning Jingle"])  # listeners see it too

    # Refused edits say why, in the row.
    edited.get_by_role("button", name="Edit Morning Jingle").click()
    host.get_by_label("Title").fill("")
    host.get_by_role("button", name="Save").click()
    expect(host.locator(".track-edit [role=alert]")).to_have_text("A track needs a title.")
    host.get_by_role("button", name="Cancel").click()
    expect(host.locator("#library-results li").filter(has_text="Morning Jingle")).to_have_count(1)


# --- 2. chat badges, names nobody can borrow ------------------------------------------------------


@pytest.mark.timeout(60)
def test_chat_lines_wear_badges_and_nobody_takes_the_hosts_name(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Badge hour", "Sam")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Sam", wait_audio=False)

    fan.goto(room["room_url"])
    for name, why in (("Sam (host)", "Names cannot contain “host”"), ("sam", "That is the host's name"),
                      ("Ѕam", "That is the host's name"), ("Moderador", "Names cannot contain “mod”")):
        fan.get_by_label("Your name").fill(name)
        fan.get_by_role("button", name="Join").click()
        expect(fan.locator("#join-error")).to_contain_text(why)
        expect(fan.locator("#join-view")).to_be_visible()
    join(fan, "Pat", wait_audio=False)
    dismiss_rules(fan)

    say(fan, "I am the host, DM me your password")
    say(host, "Welcome to the show, Pat")
    for page in (host, fan):
        lines = page.locator("#chat-log .chat-msg")
        expect(lines).to_have_count(2)
        expect(lines.nth(0).locator(".badge")).to_have_count(0)  # a listener wears none
        expect(lines.nth(1).locator(".badge")).to_have_text("Host")
        expect(lines.nth(1)).to_have_attribute("data-role", "host")
    shot = screenshot(fan, "chat-host-and-listener")
    assert shot.is_file()


# --- 3. one limit per field -----------------------------------------------------------------------


@pytest.mark.timeout(30)
def test_the_page_takes_its_limits_from_the_server(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    page = new_page()
    page.goto("/")
    limits = page.evaluate("fetch('/api/config').then((r) => r.json()).then((c) => c.limits)")
    for label, key in (("Show title", "title"), ("Your name", "host_name"), ("Description", "description")):
        expect(page.get_by_label(label)).to_have_attribute("maxlength", str(limits[key]))
    page.get_by_label("Show title").fill("T" * 120)
    assert len(page.get_by_label("Show title").input_value()) == limits["title"] == 100
    page.get_by_label("Your name").fill("Limit tester")
    page.get_by_role("button", name="Go live").click()
    page.wait_for_url(re.compile(r"/r/[^/]+$"))  # what the field took, the server takes

    # A refusal the page shows is a sentence for people, not "'title' is over 100 characters".
    said = page.evaluate("""async () => {
        const r = await fetch('/api/rooms', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({title: 'T'.repeat(101), host_name: 'Someone'})});
        return [r.status, (await r.json()).error.message];
    }""")
    assert said == [400, "The show's title can be at most 100 characters; this one has 101."]
    expect(page.get_by_label("Your name")).to_have_attribute("maxlength", str(limits["name"]))
    join(page, "Limit tester", wait_audio=False)
    expect(page.get_by_label("Your message")).to_have_attribute("maxlength", str(limits["chat"]))


# --- 4. one long word -----------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_a_hundred_character_word_never_widens_the_page(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    word = "Supercalifragilistic" * 5  # 100 characters, no space
    room = post_room(live_server, {"title": word, "host_name": "N" * 40, "description": "D" * 300})
    for width, height in ((1280, 800), (390, 844)):
        page = new_page(viewport={"width": width, "height": height})
        page.goto("/")
        expect(page.locator("#rooms .room-title").filter(has_text=word)).to_have_count(1)
        assert page.evaluate(NO_SIDEWAYS), (width, page.evaluate(WIDTHS))
        screenshot(page, f"front-page-long-title-{width}")
        page.goto(room["room_url"])
        expect(page.locator("#join-heading")).to_have_text(word)
        assert page.evaluate(NO_SIDEWAYS), (width, page.evaluate(WIDTHS))
        join(page, f"Wide{width}" + "W" * 30, wait_audio=False)
        say(page, f"{width}" + "x" * 150)
        expect(page.locator("#chat-log .chat-msg .text").filter(has_text=f"{width}xxx")).to_have_count(1)
        assert page.evaluate(NO_SIDEWAYS), (width, page.evaluate(WIDTHS))
        title = page.locator("#show-title").bounding_box()
        assert title is not None and title["x"] + title["width"] <= width, title
        screenshot(page, f"room-long-title-{width}")


# --- 5. leaving on purpose ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_the_host_is_asked_before_leaving_and_listeners_told_why(  # type: ignore[no-untyped-def]
        new_page, live_server: LocalServer) -> None:
    room = create_room_sync(live_server.url, "Coffee break")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Hosty", wait_audio=False)
    fan.goto(room["room_url"])
    join(fan, "Fan", wait_audio=False)

    host.get_by_role("button", name="Leave", exact=True).click()
    dialog = host.get_by_role("dialog", name="Leave without ending the show?")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("The show waits 5 minutes for you")
    host.get_by_role("button", name="Stay").click()
    expect(dialog).to_be_hidden()
    expect(host.locator("#room-view")).to_be_visible()  # still in the show
    expect(host.get_by_role("button", name="Leave", exact=True)).to_be_focused()

    host.get_by_role("button", name="Leave", exact=True).click()
    host.get_by_role("button", name="Leave; the show goes on").click()
    expect(host.locator("#join-view")).to_be_visible()
    expect(fan.locator("#host-away")).to_have_text(re.compile(
        r"^The host stepped away\. The show waits up to [45] minutes for them to come back\."))
    expect(fan.locator("#host-away")).not_to_contain_text("reconnecting")
    expect(fan.locator("#conn-state")).to_have_text(re.compile("^Live"))  # the show goes on

    host.get_by_role("button", name="Join as host").click()
    expect(fan.locator("#host-away")).to_be_hidden()
    expect(fan.locator("#notice")).to_have_text("The host is back.")


# --- 6. a reload ----------------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_a_host_who_reloads_is_back_on_air_by_themselves(new_page, live_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    room = create_room_sync(live_server.url, "Reload radio")
    host, fan = new_page(), new_page()
    join_as_host(host, room, "Hosty")
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    fan.goto(room["room_url"])
    join(fan, "Fan")
    tap_to_listen_if_needed(fan)
    host_id = host.evaluate("window.onair.state.me")

    host.reload()  # no click after this
    expect(host.locator("#conn-state")).to_have_text("Live · on air", timeout=15_000)
    expect(host.locator("#pub-state")).to_have_text("Mic link: connected", timeout=10_000)
    expect(host.get_by_role("button", name="Mic on")).to_have_attribute("aria-pressed", "true")
    expect(fan.locator("#host-away")).to_be_hidden()
    screenshot(host, "host-after-reload")
    heard = fan.evaluate(ANALYSE_VOICES, {"voices": [{"pid": host_id, "hz": TONE_HZ}], "seconds": 10})
    assert heard["voices"][host_id]["ok"], f"{heard}\n{diagnostics(host, fan)}"

    # The mic off, then a reload: it stays off, said as the host's own choice.
    host.get_by_role("button", name="Mic on").click()
    expect(fan.locator(f'#stage-list li[data-participant-id="{host_id}"]')).to_contain_text("muted")
    host.reload()
    expect(host.locator("#conn-state")).to_have_text("Live · on air", timeout=15_000)
    expect(host.get_by_role("button", name="Mic off")).to_have_attribute("aria-pressed", "false")
    expect(host.locator("#mute-state")).to_have_text("Your mic is off: nobody hears you.")
    expect(fan.locator(f'#stage-list li[data-participant-id="{host_id}"]')).to_contain_text("muted")

    # Leaving on purpose, then a reload: the join form, not the show.
    host.get_by_role("button", name="Leave", exact=True).click()
    host.get_by_role("button", name="Leave; the show goes on").click()
    expect(host.locator("#join-view")).to_be_visible()
    host.reload()
    expect(host.get_by_role("button", name="Join as host")).to_be_visible()
    host.wait_for_timeout(1500)
    expect(host.locator("#join-view")).to_be_visible()


# --- 7. dead ends ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server with its demo show: a permanent room that no host ever runs."""
    with LocalServer(tmp_path_factory.mktemp("onair-demo"), demo=True) as server:
        yield server


@pytest.mark.timeout(60)
def test_no_dead_ends_for_a_newcomer(new_page, live_server: LocalServer, demo_server: LocalServer) -> None:  # type: ignore[no-untyped-def]
    live = post_room(live_server, {"title": "Still on air", "host_name": "Hosty", "rules": ["No spoilers."]})
    fan, host, demo_fan = new_page(), new_page(), new_page()

    # A link to a show that does not exist: said at once, with what is live instead.
    fan.goto("/r/no-such-show")
    expect(fan.locator("#join-heading")).to_have_text("This show is not on air")
    expect(fan.locator("#gone")).to_contain_text("the show is over, or it never existed")
    expect(fan.locator("#join-form")).to_be_hidden()
    expect(fan.get_by_role("link", name=re.compile("Still on air"))).to_be_visible()

    # The rules before joining.
    fan.get_by_role("link", name=re.compile("Still on air")).click()
    fan.wait_for_load_state("load")
    expect(fan.locator("#join-heading")).to_have_text("Still on air")
    expect(fan.locator("#join-rules")).to_be_visible()
    expect(fan.locator("#join-rules-list")).to_contain_text("No spoilers.")

    # The demo has no host, ever: no hand to raise into the void, and why.
    demo_fan.goto(f"{demo_server.url}/")
    demo_fan.get_by_role("link", name=re.compile("OnAir demo")).click()
    demo_fan.wait_for_load_state("load")  # the page's script runs before "load"
    demo_fan.get_by_label("Your name").fill("Early bird")
    demo_fan.get_by_role("button", name="Join").click()
    expect(demo_fan.locator("#room-view")).to_be_visible(timeout=15_000)  # a server of its own
    dismiss_rules(demo_fan)
    expect(demo_fan.get_by_role("button", name="Raise hand")).to_be_hidden()
    expect(demo_fan.locator("#no-callin")).to_have_text(
        "This show has no host to take calls: listen, and chat with the others here.")

    # A show whose host is not here yet: the hand waits for them, and says so.
    join(fan, "Early bird", wait_audio=False)
    dismiss_rules(fan)
    expect(fan.locator("#no-callin")).to_be_hidden()
    fan.get_by_role("button", name="Raise hand").click()
    expect(fan.locator("#notice")).to_have_text("Hand raised. The host is not here right now: "
                                                "they will see you in the call-in queue when they are back.")

    # The host arrives: the hand is in their queue; they are not shown the rules card of their own show.
    join_as_host(host, live, "Hosty", wait_audio=False)
    expect(host.locator("#hands-list")).to_contain_text("Early bird")
    expect(host.locator("#rules-card")).to_be_hidden()
    expect(host.locator("#rules-details")).to_be_visible()
