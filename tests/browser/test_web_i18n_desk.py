"""The host's desk in English and Spanish (issue 12, item 6), in real Chromium against the real
server: a host walks the desk (the library listed and searched, the queue, an upload refused and
one accepted, the track edit form, the call-in queue, a caller screened into the green room and
talked to, the sync panel with a delay and a dump, requests, the moderation sheet on a caller and
on a listener, the moderation log) and in every state no visible string of the page is missing
from the catalogs of the page's language (tests/browser/i18n_walk.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, FilePayload, Locator, Page, expect

from benchmarks.server import LocalServer
from tests.audio_helpers import write_audio
from tests.helpers import create_room_sync

from .helpers import assert_accessible, diagnostics, mic_context, open_crowd, open_page, screenshot
from .i18n_walk import CATALOGS, untranslated

pytestmark = pytest.mark.browser

LOCALES = {"en": "en-US", "es": "es-ES"}

# What the page must show in each language (the catalog's words, not the server's English).
SHOWN = {
    "en": {
        "desk": "The desk",
        "found": re.compile(r"^1 track for “low ti”$"),
        "refused": "Upload failed: Not an audio file",
        "empty": "Upload failed: The file is empty",
        "added": "Added Desk Walk en",
        "needs_title": "A track needs a title.",
        "unshowable": "Not saved: The title has characters that cannot be shown.",
        "place": "1st in line",
        "kick_title": "Remove Caller en?",
        "grade": re.compile(r"^(Good|Fair|Poor)$"),
        "delay": "+ 10 s broadcast delay",
        "dumped": "Dumped",
    },
    "es": {
        "desk": "La mesa",
        "found": re.compile(r"^1 pista para «low ti»$"),
        "refused": "No se pudo subir: No es un archivo de audio",
        "empty": "No se pudo subir: El archivo está vacío",
        "added": "Añadida: Desk Walk es",
        "needs_title": "Una pista necesita un título.",
        "unshowable": "No se ha guardado: El título tiene caracteres que no se pueden mostrar.",
        "place": "1.º en la fila",
        "kick_title": "¿Echar a Caller es?",
        "grade": re.compile(r"^(Buena|Regular|Mala)$"),
        "delay": "+ 10 s de retardo de emisión",
        "dumped": "Descartado",
    },
}


def params_of(message: object) -> set[str]:
    forms = message.values() if isinstance(message, dict) else [message]
    return {p for form in forms for p in re.findall(r"\{(\w+)\}", str(form))}


def test_the_desk_catalogs_have_the_same_keys_and_params() -> None:
    en = json.loads((CATALOGS / "en" / "desk.json").read_text(encoding="utf-8"))
    es = json.loads((CATALOGS / "es" / "desk.json").read_text(encoding="utf-8"))
    assert set(en) == set(es)
    assert all(k.startswith(("desk.", "error.reason.")) for k in en)
    for key in en:
        assert params_of(en[key]) == params_of(es[key]), key
        assert isinstance(en[key], dict) == isinstance(es[key], dict), key
    # Every refusal the desk names has its message (the server's reason= on the raise).
    signaling = Path(__file__).resolve().parents[2] / "signaling"
    for reason in ("upload_not_audio", "upload_empty", "upload_truncated", "upload_too_large",
                   "self_muted_mic", "delay_range", "queue_entry_gone", "track_gone"):
        assert f"error.reason.{reason}" in en
        assert any(f'"{reason}"' in p.read_text() for p in signaling.rglob("*.py")), reason


def walk(page: Page, lang: str, state: str) -> None:
    """No visible string of the page is missing from ``lang``'s catalogs."""
    missing = untranslated(page, lang)
    assert missing == [], f"{lang}, {state}: not in the catalogs: {missing}\n{diagnostics(page)}"


def context(browser: Browser, server: LocalServer, lang: str) -> BrowserContext:
    return mic_context(browser, server.url, locale=LOCALES[lang])


def join_by_id(page: Page, name: str) -> None:
    """Join by the form's ids: its labels are in the page's language. (The page wires its form once
    its catalogs are in: `window.onair` is set then.)"""
    page.wait_for_function("() => !!window.onair")
    page.locator("#join-name").fill(name)
    page.locator("#join-button").click()
    expect(page.locator("#room-view")).to_be_visible()


def person_button(page: Page, pid: str, action: str) -> Locator:
    return page.locator(f'[data-key="{pid}:{action}"]').first


@pytest.fixture(scope="module")
def desk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """Its own server: the walk uploads a short track, which would play in the shared library's
    rotation and upset the other tests' now-playing and play-log expectations."""
    with LocalServer(tmp_path_factory.mktemp("onair-i18n-desk")) as server:
        yield server


@pytest.mark.timeout(150)
@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_hosts_desk_speaks_the_pages_language(  # type: ignore[no-untyped-def]
        browser, desk_server: LocalServer, tmp_path: Path, lang: str) -> None:
    shown = SHOWN[lang]
    contexts = [context(browser, desk_server, lang), context(browser, desk_server, lang)]
    try:
        host, caller = (open_page(c) for c in contexts)
        run_walk(host, caller, desk_server, tmp_path, lang, shown)
    finally:
        for c in contexts:
            c.close()


def run_walk(host: Page, caller: Page, server: LocalServer, tmp_path: Path, lang: str, shown: dict) -> None:
    room = create_room_sync(server.url, f"Desk walk {lang}", "Hosty")
    host.goto(room["room_url"])
    assert host.evaluate("navigator.language") == LOCALES[lang]  # Chromium takes the context's locale
    key = f"onair:host:{room['room_id']}"
    host.evaluate("([k, v]) => localStorage.setItem(k, v)", [key, room["host_token"]])
    host.reload()
    join_by_id(host, "Hosty")
    expect(host.locator("html")).to_have_attribute("lang", lang)
    expect(host.locator("#desk")).to_be_visible()
    expect(host.locator("#desk-heading")).to_have_text(shown["desk"])
    expect(host.locator("#library-results li").first).to_be_visible()
    walk(host, lang, "the desk with the library listed")
    if lang == "es":  # the walk reads the desk: the other language's catalogs do not account for it
        assert {"La mesa", "Biblioteca", "Subir una pista"} <= set(untranslated(host, "en"))

    desk_library_and_queue(host, lang, shown)
    desk_uploads(host, tmp_path, lang, shown)
    callers_and_sheets(host, caller, room, lang, shown)
    sync_panel(host, lang, shown)


def desk_library_and_queue(host: Page, lang: str, shown: dict) -> None:
    host.locator("#library-search").fill("low ti")
    expect(host.locator("#library-status")).to_have_text(shown["found"])
    walk(host, lang, "a library search")
    host.locator("#library-search").fill("")
    adds = host.locator("#library-results [data-key^='lib:']")
    expect(adds.nth(1)).to_be_visible()  # the whole library again
    for i in range(2):
        adds.nth(i).click()
        expect(host.locator("#desk-status")).not_to_be_empty()
    expect(host.locator("#queue-list [data-key$=':remove']").first).to_be_visible()
    walk(host, lang, "the queue with entries")
    assert_accessible(host, f"{lang}: the desk with a queue")  # names still say what is shown
    host.locator("#crossfade").fill("99")
    host.locator("#crossfade").press("Tab")
    expect(host.locator("#desk-status")).to_have_class(re.compile(r"\berror\b"))
    walk(host, lang, "a level out of range")


def desk_uploads(host: Page, tmp_path: Path, lang: str, shown: dict) -> None:
    not_audio = FilePayload(name=f"notes-{lang}.mp3", mimeType="audio/mpeg", buffer=b"not sounds\n" * 64)
    host.set_input_files("#upload-file", files=[not_audio])
    expect(host.locator("#upload-status")).to_have_text(re.compile("^" + re.escape(shown["refused"])))
    walk(host, lang, "an upload refused")
    empty = FilePayload(name=f"empty-{lang}.wav", mimeType="audio/wav", buffer=b"")
    host.set_input_files("#upload-file", files=[empty])
    expect(host.locator("#upload-status")).to_have_text(shown["empty"])

    wav = write_audio(tmp_path / f"Desk Walk {lang}.wav", 1.5, codec="pcm_s16le")  # titled from its name
    host.set_input_files("#upload-file", str(wav))
    expect(host.locator("#upload-status")).to_have_text(shown["added"], timeout=20_000)
    expect(host.locator("#upload-queue")).to_be_visible()
    walk(host, lang, "an upload accepted")

    host.locator("#library-search").fill(f"Desk Walk {lang}")
    expect(host.locator("#library-status")).to_contain_text(f"Desk Walk {lang}")  # the search's answer
    expect(host.locator("#library-status")).not_to_contain_text("…")
    row = host.locator("#library-results li").filter(has_text=f"Desk Walk {lang}")
    expect(row).to_have_count(1)
    row.locator("[data-key^='edit:']").click()
    form = host.locator(".track-edit")
    expect(form).to_be_visible()
    walk(host, lang, "the track edit form")
    form.locator("input").first.fill("")
    form.locator("[type=submit]").click()
    expect(form.locator("[role=alert]")).to_have_text(shown["needs_title"])
    walk(host, lang, "a track edit refused")
    form.locator("input").first.fill("Bell \u0007 title")  # the server refuses it, and says why
    form.locator("[type=submit]").click()
    expect(form.locator("[role=alert]")).to_have_text(shown["unshowable"])
    walk(host, lang, "a track edit refused by the server")
    form.locator("input").first.press("Escape")
    expect(form).to_have_count(0)


def callers_and_sheets(host: Page, caller: Page, room: dict, lang: str, shown: dict) -> None:
    caller.goto(room["room_url"])
    join_by_id(caller, f"Caller {lang}")
    caller.locator("#hand-button").click()
    expect(caller.locator("#hand-status")).to_contain_text(shown["place"])
    pid = caller.evaluate("window.onair.state.me")
    expect(host.locator("#hands-list li")).to_have_count(1)
    walk(host, lang, "the call-in queue with a raised hand")

    person_button(host, pid, "more").click()
    sheet = host.locator("#sheet")
    expect(sheet).to_be_visible()
    walk(host, lang, "the moderation sheet on a caller")
    sheet.locator("button.danger").first.click()  # remove from the show…
    expect(sheet.locator("#sheet-title")).to_have_text(shown["kick_title"])
    walk(host, lang, "the sheet asking to remove")
    sheet.locator(".sheet-actions button:not(.danger)").click()  # cancel: back to the person
    sheet.locator(".sheet-actions button.subtle").click()  # close
    expect(sheet).to_be_hidden()

    person_button(host, pid, "screen").click()
    talk = host.locator(f'[data-key="{pid}:talk"]')
    expect(talk).to_be_visible()
    walk(host, lang, "a screened caller in the green room")
    assert_accessible(host, f"{lang}: the green room")
    screenshot(host, f"i18n-desk-{lang}")  # data/screenshots: to look at the longer words
    talk.hover()
    host.mouse.down()
    expect(talk).to_have_attribute("aria-pressed", "true")
    walk(host, lang, "talking to a caller")
    host.mouse.up()
    expect(talk).to_have_attribute("aria-pressed", "false")

    # A listener (a plain socket) asks for a song: the request shows on the desk.
    track_id = host.locator("#library-results li").first.get_attribute("data-track-id")
    fan = open_crowd(host, room["room_id"], [f"Fan {lang}"])[0]
    host.evaluate("([n, id]) => window.crowd[n].send(JSON.stringify({type: 'request_track', track_id: id}))",
                  [f"Fan {lang}", track_id])
    expect(host.locator("#requests-list li")).to_have_count(1)
    walk(host, lang, "a request on the desk")

    host.locator("#audience > summary").click()
    person_button(host, fan, "more").click()
    expect(sheet).to_be_visible()
    expect(sheet.locator("button.danger")).to_have_count(2)  # remove, remove and ban
    walk(host, lang, "the moderation sheet on a listener")
    sheet.locator(".sheet-actions button").nth(2).click()  # bring on air, make moderator, mute in chat
    expect(sheet).to_be_hidden()
    host.locator("#audit > summary").click()
    expect(host.locator("#audit-list")).to_contain_text(f"Fan {lang}")
    walk(host, lang, "the moderation log")


def sync_panel(host: Page, lang: str, shown: dict) -> None:
    expect(host.locator("#sync-card")).to_be_visible()
    host.wait_for_function("() => !!window.onair.sync", timeout=20_000)  # the first `sync` came
    expect(host.locator("#sync-grade")).to_have_text(shown["grade"])
    walk(host, lang, "the sync panel")
    host.locator("#delay-select").select_option("10")
    expect(host.locator("#sync-figures")).to_contain_text(shown["delay"], timeout=20_000)
    walk(host, lang, "a broadcast delay")
    host.locator("#dump-btn").click()
    expect(host.locator("#notice")).to_contain_text(shown["dumped"], timeout=5_000)
    walk(host, lang, "after a dump")
    host.locator("#delay-select").select_option("0")
