"""The operator's console, the replay page and the embed player in English and Spanish, in real
headless Chromium: every visible string comes from the catalog of the page's language
(i18n_walk.untranslated), in every state walked (signed out, a refused token, signed in with every
list filled, a button armed, a refused action, the play log's period refused; a replay with its
chat; the embed player idle, playing and after the show). The catalogs' keys and parameters match
between the languages, and the play log's CSV export downloads from the console."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio
from tests.helpers import create_room_sync

from .console_helpers import FILE_A_REPORT, record_a_show, upload
from .helpers import diagnostics, mic_context, open_page, operator
from .i18n_walk import CATALOGS, untranslated

pytestmark = pytest.mark.browser

LOCALES = {"en": "en-US", "es": "es-ES"}
DOMAINS = ("admin", "replay", "embed")

# What each language must really show (a few strings the walk alone would not prove are there).
SEEN = {
    "en": {"heading": "Operator's console", "reports": "Reports", "playlog": "Play log"},
    "es": {"heading": "Consola del operador", "reports": "Denuncias",
           "playlog": "Registro de reproducciones"},
}
NO_TOKEN = {"en": "Enter the admin token.", "es": "Escribe el token de administración."}
WRONG_TOKEN = {
    "en": "The console refused the token: wrong admin token (unauthorized).",
    "es": "La consola rechazó el token: el token de administración no es correcto (unauthorized).",
}
GONE_TRACK = {
    "en": "Could not delete “{title}”: not found: it may be gone already (not_found).",
    "es": "No se pudo borrar «{title}»: no se encontró: puede que ya no exista (not_found).",
}
REVERSED = {
    "en": "Could not read the play log: the period starts after it ends (bad_request).",
    "es": ("No se pudo leer el registro de reproducciones: el periodo empieza después de terminar"
           " (bad_request)."),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """Its own server: the walk ends rooms, bans addresses and deletes tracks."""
    with LocalServer(tmp_path_factory.mktemp("onair-i18n-admin")) as srv:
        yield srv


@pytest.fixture(scope="module")
def filled(browser: Browser, server: LocalServer, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Something in every list of the console: a live room (its music in the play log), an open
    and a resolved report, two bans, an uploaded track, an ended room and a deleted upload in
    the audit log. The live room's id."""
    room = create_room_sync(server.url, "Walk Show", "Hosty")
    context = mic_context(browser, server.url)
    page = open_page(context)
    page.goto("/")
    for text in ("first <i>line</i>", "second line"):
        report = {"roomId": room["room_id"], "text": text, "reason": f"spam: {text}"}
        filed = page.evaluate(FILE_A_REPORT, report)
        assert filed == {"said": "ack", "filed": "ack"}
    context.close()
    _, reports = operator(server, "GET", "/api/reports")
    operator(server, "POST", f"/api/reports/{reports[0]['report_id']}",  # type: ignore[index]
             {"status": "resolved", "note": "warned"})
    operator(server, "POST", "/api/bans", {"ip": "192.0.2.55", "reason": "flooding"})
    operator(server, "POST", "/api/bans",
             {"participant_id": "p_walk", "room_id": room["room_id"], "reason": ""})
    tmp = tmp_path_factory.mktemp("walk-tracks")
    keep = write_audio(tmp / "keep.flac", 1.0, title="Walk Tune", artist="Walkers")
    upload(server, keep, room["host_token"])
    doomed = upload(server, write_audio(tmp / "doomed.flac", 1.0, title="Walk Doomed"), room["host_token"])
    operator(server, "DELETE", f"/api/tracks/{doomed['track_id']}")
    ended = create_room_sync(server.url, "Over Already", "Otto")
    operator(server, "DELETE", f"/api/rooms/{ended['room_id']}")
    for _ in range(100):  # the live room's first track is in the play log
        _, plays = operator(server, "GET", "/api/playlog")
        if plays:
            break
        time.sleep(0.1)
    assert plays, "no play logged"
    return room


def lang_context(browser: Browser, server: LocalServer, lang: str) -> BrowserContext:
    """A fresh context whose browser speaks ``lang`` (navigator.language, Accept-Language)."""
    return mic_context(browser, server.url, locale=LOCALES[lang], accept_downloads=True)


def walk(page: Page, lang: str, state: str) -> None:
    """The page speaks ``lang`` throughout: nothing visible outside its catalog."""
    assert page.evaluate("document.documentElement.lang") == lang, state
    assert untranslated(page, lang) == [], f"{lang}, {state}\n{diagnostics(page)}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_keys_and_parameters_match_across_languages(lang: str) -> None:
    """Each domain has the same keys in English and Spanish, each with the same {params} (and
    plural forms 'one' and 'other'): checked from either side."""
    other = "es" if lang == "en" else "en"

    def params(message: object) -> set[str]:
        forms = message.values() if isinstance(message, dict) else [message]
        return {p for form in forms for p in re.findall(r"\{(\w+)\}", str(form))}

    for domain in DOMAINS:
        mine = json.loads((CATALOGS / lang / f"{domain}.json").read_text(encoding="utf-8"))
        theirs = json.loads((CATALOGS / other / f"{domain}.json").read_text(encoding="utf-8"))
        assert set(mine) == set(theirs), (domain, set(mine) ^ set(theirs))
        assert all(k.startswith(f"{domain}.") or k.startswith("error.reason.") for k in mine), domain
        for key, message in mine.items():
            assert params(message) == params(theirs[key]), (domain, key)
            if isinstance(message, dict):
                assert set(message) == {"one", "other"}, (domain, key)
            assert str(message).strip(), (domain, key)


@pytest.mark.timeout(150)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_console_speaks_the_browsers_language(
    browser: Browser, server: LocalServer, filled: dict, lang: str, tmp_path: Path
) -> None:
    context = lang_context(browser, server, lang)
    try:
        console = open_page(context)
        console.goto("/admin")
        assert console.evaluate("navigator.language") == LOCALES[lang]
        expect(console.locator("#login-heading")).to_have_text(SEEN[lang]["heading"])
        walk(console, lang, "signed out")
        console.locator("#login-form button[type=submit]").click()
        expect(console.locator("#login-error")).to_have_text(NO_TOKEN[lang])
        walk(console, lang, "no token entered")

        console.locator("#admin-token").fill("not-the-token")
        console.locator("#login-form button[type=submit]").click()
        expect(console.locator("#login-error")).to_have_text(WRONG_TOKEN[lang])
        walk(console, lang, "a refused token")

        console.locator("#admin-token").fill(server.admin_token)
        console.locator("#login-form button[type=submit]").click()
        expect(console.locator("#console")).to_be_visible()
        console.locator("#reports-filter").select_option("")  # the resolved one too
        for section in ("rooms", "reports", "bans", "tracks", "playlog", "audit"):
            expect(console.locator(f"#{section} li").first).to_be_visible()
        expect(console.locator("#reports li")).to_have_count(2)
        expect(console.locator("#bans li")).to_have_count(2)
        expect(console.locator("#audit li[data-action=operator_delete_track]").first).to_be_visible()
        expect(console.locator('[data-figure="cpu"]')).to_contain_text("%")
        expect(console.locator("#figures-updated")).not_to_be_empty()
        expect(console.get_by_role("heading", name=SEEN[lang]["reports"])).to_be_visible()
        expect(console.get_by_role("heading", name=SEEN[lang]["playlog"])).to_be_visible()
        expect(console.locator("#audit time").first).not_to_be_empty()  # Intl's dates
        walk(console, lang, "signed in, every list filled")

        room_row = console.locator("#rooms li").filter(has_text="Walk Show")
        room_row.locator("button").click()  # armed, not ended
        expect(room_row.locator("button.armed")).to_be_visible()
        walk(console, lang, "a button armed")

        refused_delete(console, server, filled, lang, tmp_path)
        refused_period(console, lang)
        export_csv(console)
    finally:
        context.close()


def refused_delete(console: Page, server: LocalServer, room: dict, lang: str, tmp_path: Path) -> None:
    """A track deleted elsewhere before the operator's second click: the refusal in words."""
    title = f"Walk Gone {lang}"
    track = upload(server, write_audio(tmp_path / "gone.flac", 1.0, title=title), room["host_token"])
    console.locator("#tracks-q").fill(title)
    console.locator("#tracks-form button").click()
    row = console.locator("#tracks li").filter(has_text=title)
    expect(row).to_have_count(1)
    operator(server, "DELETE", f"/api/tracks/{track['track_id']}")
    row.locator("button").click()
    row.locator("button.armed").click()
    expect(console.locator("#tracks-error")).to_have_text(GONE_TRACK[lang].format(title=title))
    expect(console.locator("#tracks-empty")).to_be_visible()
    walk(console, lang, "a refused deletion")


def refused_period(console: Page, lang: str) -> None:
    """A period that ends before it starts: the server's reason, in the page's language."""
    today = date.today()
    console.locator("#playlog-from").fill(today.isoformat())
    console.locator("#playlog-to").fill((today - timedelta(days=1)).isoformat())
    console.locator("#playlog-form button[type=submit]").click()
    expect(console.locator("#playlog-error")).to_have_text(REVERSED[lang])
    walk(console, lang, "a refused period")
    console.locator("#playlog-to").fill(today.isoformat())
    console.locator("#playlog-form button[type=submit]").click()
    expect(console.locator("#playlog-error")).to_be_hidden()
    expect(console.locator("#playlog li").first).to_be_visible()
    expect(console.locator("#playlog-summary")).not_to_be_empty()
    walk(console, lang, "the play log of today")


def export_csv(console: Page) -> None:
    """The console's CSV export holds the plays the page lists (the csv module reads it)."""
    with console.expect_download() as info:
        console.locator("#playlog-csv").click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and {"title", "artist", "started_at", "played_ms", "listeners_peak"} <= set(rows[0])
    assert console.locator("#playlog li").count() == min(len(rows), 100)
    name = info.value.suggested_filename
    assert name.startswith("playlog-") and name.endswith(".csv"), name


@pytest.mark.timeout(120)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_replay_and_the_embed_speak_the_browsers_language(
    browser: Browser, server: LocalServer, lang: str
) -> None:
    room = create_room_sync(server.url, f"Replayed {lang}", "Rita")
    with ThreadPoolExecutor(1) as pool:  # its own event loop, away from Playwright's
        recording_id = pool.submit(asyncio.run, record_a_show(server.url, room)).result(30)
    context = lang_context(browser, server, lang)
    try:
        page = open_page(context)
        page.goto(f"/replay/{recording_id}")
        expect(page.locator("#replay-title")).to_have_text(f"Replayed {lang}")
        expect(page.locator("#replay-meta time")).not_to_be_empty()
        expect(page.locator("#replay-chat-empty")).to_be_visible()
        walk(page, lang, "a replay at 0:00")
        page.evaluate("document.getElementById('replay-audio').currentTime = 4")
        expect(page.locator("#replay-chat li")).to_have_count(1)
        expect(page.locator("#replay-chat li")).to_contain_text("two seconds in")
        walk(page, lang, "a replay with its chat")
        if lang == "es":
            expect(page.locator("#replay-chat-heading")).to_have_text("El chat, tal como se escribió")
            assert page.title() == f"Replayed {lang} (repetición) · OnAir"
        # a dead replay link: the page (404), saying so in the visitor's language
        response = page.goto("/replay/rec_nope")
        assert response is not None and response.status == 404
        expect(page.locator("#replay-error")).to_have_text(
            "Esta grabación no existe (o ya no existe)." if lang == "es" else re.compile(r"\S"))
        walk(page, lang, "a replay that does not exist")

        page.goto(f"/embed/{room['room_id']}")
        expect(page.locator("#embed-host")).to_have_text("with Rita" if lang == "en" else "con Rita")
        walk(page, lang, "the embed, idle")
        # its own stylesheet applies under the embed's CSP (an inline <style> was refused)
        assert page.eval_on_selector(".embed", "e => getComputedStyle(e).display") == "grid"
        page.locator("#embed-play").click()
        expect(page.locator("#embed-live")).to_be_visible()
        expect(page.locator("#embed-play")).to_have_text("Pause" if lang == "en" else "Pausa")
        walk(page, lang, "the embed, playing")
        operator(server, "DELETE", f"/api/rooms/{room['room_id']}")
        over = "This show is over." if lang == "en" else "Este programa ha terminado."
        expect(page.locator("#embed-now")).to_have_text(over, timeout=10_000)
        walk(page, lang, "the embed, after the show")
    finally:
        context.close()


@pytest.mark.timeout(60)
def test_the_switch_on_the_console_is_remembered(browser: Browser, server: LocalServer) -> None:
    """A Spanish browser picks English on the console: it stays English after a reload and on the
    replay's sibling pages (one choice for the site)."""
    context = lang_context(browser, server, "es")
    try:
        page = open_page(context)
        page.goto("/admin")
        expect(page.locator("#login-heading")).to_have_text(SEEN["es"]["heading"])
        page.locator("[data-language-switch] select").select_option("en")
        expect(page.locator("#login-heading")).to_have_text(SEEN["en"]["heading"])
        page.reload()
        expect(page.locator("#login-heading")).to_have_text(SEEN["en"]["heading"])
        walk(page, "en", "English chosen in a Spanish browser")
        page.locator("[data-language-switch] select").select_option("es")
        expect(page.locator("#login-heading")).to_have_text(SEEN["es"]["heading"])
        walk(page, "es", "Spanish chosen again")
    finally:
        context.close()
