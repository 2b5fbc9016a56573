"""The room page in English and Spanish, in real Chromium: every visible string of every state a
listener, a speaker and a host see comes from the catalog of the page's language (i18n_walk), a
refusal from the server is shown in that language, and the catalogs of domain "room" agree."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from benchmarks.server import LocalServer

from .helpers import CHROMIUM, chromium_args, open_page, screenshot
from .i18n_walk import CATALOGS, untranslated

LOCALES = {"en": "en-US", "es": "es-ES"}
RULES = ["Be kind to each other.", "No spoilers."]
STARTS_IN = {"en": r"^Starts in ", "es": r"^Empieza en "}

# What each language must really show (not only "something from the catalog").
SHOWN = {
    "en": {"join": "Join", "live": "Live", "got_it": "Got it", "ended": "The show has ended",
           "host_name": "That is the host's name", "gone": "This show is not on air",
           "waiting": "is waiting for the host", "accepted": "was accepted", "stay": "Stay",
           "leave": "Leave", "on_air": "You are on air", "tap": "Tap to listen",
           "stepped_away": "The host stepped away.", "house_rule": "Be kind: no harassment",
           "staff_word": "Names cannot contain “host”", "one_pending": "You have a request waiting already"},
    "es": {"join": "Entrar", "live": "En directo", "got_it": "Entendido", "ended": "El programa ha terminado",
           "host_name": "Ese es el nombre del presentador", "gone": "Este programa no está al aire",
           "waiting": "está esperando al presentador", "accepted": "fue aceptada", "stay": "Quedarme",
           "leave": "Salir", "on_air": "Estás al aire", "tap": "Toca para escuchar",
           "stepped_away": "El presentador se ha ausentado.", "house_rule": "Sé amable: nada de acoso",
           "staff_word": "Los nombres no pueden contener «host»",
           "one_pending": "Ya tienes una petición esperando"},
}


def make_room(server: LocalServer, title: str, host: str) -> dict:
    """A show with rules, made over HTTP as the home page makes it: its room_url and host_token."""
    body = {"title": title, "host_name": host, "description": "Songs and talk.", "rules": RULES}
    req = urllib.request.Request(f"{server.url}/api/rooms", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return {**json.loads(resp.read()), "title": title}


def end_room(server: LocalServer, room: dict) -> None:
    req = urllib.request.Request(f"{server.url}/api/rooms/{room['room_id']}", method="DELETE",
                                 headers={"Authorization": f"Bearer {room['host_token']}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status in (200, 204)


@pytest.fixture
def in_lang(browser: Browser, live_server: LocalServer) -> Iterator[Callable[..., Page]]:
    """Pages whose browser speaks ``lang`` (Playwright's locale: navigator.language and
    Accept-Language), each in a fresh context with the microphone granted."""
    contexts: list[BrowserContext] = []

    def make(lang: str, on: Browser | None = None) -> Page:
        ctx = (on or browser).new_context(permissions=["microphone"], base_url=live_server.url,
                                          locale=LOCALES[lang])
        ctx.set_default_timeout(15_000)
        contexts.append(ctx)
        return open_page(ctx)

    yield make
    for ctx in contexts:
        ctx.close()


def all_said(page: Page, lang: str, state: str) -> None:
    """Every visible string of ``page`` is in ``lang``'s catalogs, and the page says it speaks it."""
    assert page.evaluate("document.documentElement.lang") == lang, state
    missing = untranslated(page, lang)
    assert missing == [], f"{lang}, {state}: not in the catalog: {missing}"


def join_as(page: Page, lang: str, name: str) -> None:
    page.locator("#join-name").fill(name)
    page.get_by_role("button", name=re.compile(f"^{SHOWN[lang]['join']}")).click()


@pytest.mark.timeout(150)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_room_page_speaks_the_browsers_language(
    lang: str, in_lang: Callable[..., Page], live_server: LocalServer
) -> None:
    said = SHOWN[lang]
    room = make_room(live_server, f"Catalog hour {lang}", "Sam")
    host, fan = in_lang(lang), in_lang(lang)
    assert fan.evaluate("navigator.language") == LOCALES[lang]

    # The host goes live from their own page (the token the home page keeps).
    host.goto(room["room_url"])
    key = f"onair:host:{room['room_id']}"
    host.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, room["host_token"]])
    host.reload()
    join_as(host, lang, "Sam")
    expect(host.locator("#end-button")).to_be_visible()

    # Before joining: the show, its rules, the form.
    fan.goto(room["room_url"])
    expect(fan.locator("#join-heading")).to_have_text(room["title"])
    expect(fan.locator("#join-rules-list")).to_contain_text("No spoilers.")
    expect(fan.locator("#join-summary")).to_contain_text("Sam")
    all_said(fan, lang, "join view")

    # A name posing as the host is refused, in the page's language.
    join_as(fan, lang, "sam")
    expect(fan.locator("#join-error")).to_contain_text(said["host_name"])
    expect(fan.locator("#join-view")).to_be_visible()
    all_said(fan, lang, "join refused: the host's name")
    join_as(fan, lang, "Pat (host)")  # a refusal with a parameter: the word it may not contain
    expect(fan.locator("#join-error")).to_contain_text(said["staff_word"])
    all_said(fan, lang, "join refused: a staff title")

    # In the room: the rules card first.
    join_as(fan, lang, "Pat")
    expect(fan.locator("#room-view")).to_be_visible()
    expect(fan.locator("#rules-card")).to_be_visible()
    expect(fan.locator("#conn-state")).to_have_text(re.compile(f"^{said['live']}"), timeout=15_000)
    all_said(fan, lang, "listener, rules card")
    fan.get_by_role("button", name=said["got_it"]).click()
    expect(fan.locator("#rules-card")).to_be_hidden()

    # Chat (a line from the host and one of ours), now playing, people, menus opened.
    host.locator("#chat-input").fill("Welcome, everyone")
    host.locator("#chat-input").press("Enter")
    fan.locator("#chat-input").fill("Hello from Pat")
    fan.locator("#chat-input").press("Enter")
    expect(fan.locator("#chat-log .chat-msg")).to_have_count(2)
    expect(fan.locator("#chat-log .chat-msg .badge").first).to_be_visible()  # the host's badge
    expect(fan.locator("#np-state")).not_to_have_text("", timeout=15_000)
    expect(fan.locator("#stage-list li")).to_have_count(1)
    for menu in ("#listen-menu", "#share-menu", "#audience", "#rules-details"):
        fan.locator(f"{menu} > summary").click()
    expect(fan.locator("#listen-links li")).to_have_count(3)
    expect(fan.locator("#rules-details-list")).to_contain_text("No spoilers.")  # the host's words, as typed
    expect(fan.locator("#rules-details-list")).to_contain_text(said["house_rule"])  # the server's, translated
    fan.locator("#reaction-buttons button").nth(2).click()
    expect(fan.locator("#reaction-floats .reaction-float").first).to_be_attached(timeout=5_000)
    all_said(fan, lang, "listener in the room")

    # A request sent, then answered by the host.
    results = fan.locator("#request-results li")
    expect(results.first).to_be_visible(timeout=10_000)
    fan.locator("#request-note").fill("For my mum")
    results.first.locator("button").click()
    expect(fan.locator("#request-status")).to_contain_text(said["waiting"], timeout=10_000)
    all_said(fan, lang, "listener, request waiting")
    results.nth(1).locator("button").click()  # one pending each: refused, in the page's language
    expect(fan.locator("#request-status")).to_contain_text(said["one_pending"])
    all_said(fan, lang, "listener, a second request refused")
    row = host.locator("#requests-list li").first
    expect(row).to_be_visible(timeout=10_000)
    all_said(host, lang, "host, desk with a request")
    row.locator("button.primary").click()
    expect(fan.locator("#request-status")).to_contain_text(said["accepted"], timeout=10_000)
    all_said(fan, lang, "listener, request answered")
    screenshot(fan, f"i18n-room-listener-{lang}")

    # A speaker: the hand raised, brought on air by the host.
    fan.locator("#hand-button").click()
    expect(fan.locator("#hand-button")).to_have_attribute("aria-pressed", "true")
    all_said(fan, lang, "listener, hand raised")
    fan_id = fan.evaluate("window.onair.state.me")
    bring = host.locator(f'#hands-list [data-key="{fan_id}:promote"]')
    bring.click()
    expect(fan.locator("#stage-heading")).to_have_text(said["on_air"])
    expect(fan.locator("#leave-stage-button")).to_be_visible()
    expect(fan.locator("#pub-state")).not_to_have_text("", timeout=10_000)
    all_said(fan, lang, "speaker on stage")
    all_said(host, lang, "host with a speaker")

    # The host's leave dialog, then stay.
    host.get_by_role("button", name=said["leave"], exact=True).click()
    dialog = host.locator("#leave-dialog")
    expect(dialog).to_be_visible()
    all_said(host, lang, "host, leave dialog")
    dialog.get_by_role("button", name=said["stay"]).click()
    expect(dialog).to_be_hidden()

    # The host steps away for real: listeners are told, in their language, how long the show waits.
    host.get_by_role("button", name=said["leave"], exact=True).click()
    host.locator("#leave-keep").click()
    expect(host.locator("#join-view")).to_be_visible()
    expect(fan.locator("#host-away")).to_contain_text(said["stepped_away"])
    all_said(fan, lang, "the host stepped away")
    all_said(host, lang, "the host after leaving")

    # The show ends: the final view.
    end_room(live_server, room)
    expect(fan.locator("#final-heading")).to_have_text(said["ended"])
    all_said(fan, lang, "final view")

    # A link to a room that never existed.
    fan.goto("/r/no-such-room-anywhere")
    expect(fan.locator("#join-heading")).to_have_text(said["gone"])
    all_said(fan, lang, "a room that does not exist")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_tap_to_listen_in_the_pages_language(
    lang: str, playwright_sync, tone_wav: Path, in_lang: Callable[..., Page],  # type: ignore[no-untyped-def]
    live_server: LocalServer,
) -> None:
    """Autoplay refused (Chromium's default policy, a join without a gesture): the tap button."""
    room = make_room(live_server, f"Quiet hour {lang}", "Sam")
    args = [a for a in chromium_args(tone_wav) if not a.startswith("--autoplay-policy")]
    b = playwright_sync.chromium.launch(executable_path=CHROMIUM, args=args)
    try:
        page = in_lang(lang, on=b)
        page.goto(room["room_url"])
        cdp = page.context.new_cdp_session(page)

        def no_gesture(expression: str) -> object:  # Playwright's own queries would count as a gesture
            return cdp.send("Runtime.evaluate", {"expression": expression, "userGesture": False,
                                                 "returnByValue": True})["result"].get("value")

        deadline = time.monotonic() + 15
        while no_gesture("document.getElementById('join-heading').textContent") != room["title"]:
            assert time.monotonic() < deadline, "the join view never showed the show"
            time.sleep(0.1)
        no_gesture("document.getElementById('join-name').value = 'Quiet';"
                   "document.getElementById('join-form').requestSubmit()")
        deadline = time.monotonic() + 15
        while no_gesture("!document.getElementById('tap-to-listen').hidden") is not True:
            assert time.monotonic() < deadline, "no tap-to-listen while playback is blocked"
            time.sleep(0.1)
        tap = page.get_by_role("button", name=SHOWN[lang]["tap"])
        expect(tap).to_be_visible()
        all_said(page, lang, "tap to listen")
        # Playwright's queries count as a gesture: the next track may start playing by itself and
        # take the button away first. Either way it must go.
        if no_gesture("!document.getElementById('tap-to-listen').hidden"):
            with contextlib.suppress(PlaywrightTimeoutError):
                tap.click(timeout=3_000)
        expect(tap).to_be_hidden()
    finally:
        b.close()


def announce(server: LocalServer, title: str, starts_in_s: int) -> dict:
    """A show announced over HTTP for later: its show_id and host_token."""
    starts = (datetime.now(UTC) + timedelta(seconds=starts_in_s)).isoformat(timespec="seconds")
    body = {"title": title, "host_name": "Sched Host", "starts_at": starts, "description": "Ragas, live."}
    req = urllib.request.Request(f"{server.url}/api/shows", method="POST", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return dict(json.loads(resp.read()))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_show_announced_for_later_waits_in_the_pages_language(
    lang: str, in_lang: Callable[..., Page], live_server: LocalServer
) -> None:
    """/r/{show_id} before it opens: when, the countdown, and for its host the button not open yet."""
    show = announce(live_server, f"Later hour {lang}", 3600)
    fan, host = in_lang(lang), in_lang(lang)
    fan.goto(f"/r/{show['show_id']}")
    expect(fan.locator("#show-wait")).to_be_visible()
    expect(fan.locator("#show-wait-countdown")).to_have_text(re.compile(STARTS_IN[lang]))
    all_said(fan, lang, "a show announced for later")
    host.goto(f"/r/{show['show_id']}#host={show['host_token']}")
    button = host.locator("#open-show-button")
    expect(button).to_be_disabled()
    expect(host.locator("#open-show-status")).to_contain_text("15")
    all_said(host, lang, "a show announced for later, its host")


def _params(text: object) -> set[str]:
    forms = text.values() if isinstance(text, dict) else [text]
    return {p for form in forms for p in re.findall(r"\{(\w+)\}", str(form))}


def test_room_catalogs_agree() -> None:
    """en and es of domain "room": the same keys, the same {params} per key, no empty message,
    the same plural shape, and every key of the page's files present."""
    en = json.loads((CATALOGS / "en" / "room.json").read_text(encoding="utf-8"))
    es = json.loads((CATALOGS / "es" / "room.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    for key in en:
        assert key.startswith(("room.", "error.reason.")), key
        assert _params(en[key]) == _params(es[key]), key
        assert isinstance(en[key], dict) == isinstance(es[key], dict), key
        forms = [f for m in (en[key], es[key]) for f in (m.values() if isinstance(m, dict) else [m])]
        assert all(isinstance(f, str) and f.strip() for f in forms), key
    web = CATALOGS.parent
    names = ["room.html", *(f"js/{n}.js" for n in (
        "room view controls chat nowplaying reconnect away share reactions requests playlog rules "
        "showwait signal media mic stats rtc").split())]
    keys = re.compile(r"""['"](room\.[a-z_0-9.]+)['"]""")
    used = {m for name in names for m in keys.findall((web / name).read_text(encoding="utf-8"))}
    assert used and used <= set(en), sorted(used - set(en))
