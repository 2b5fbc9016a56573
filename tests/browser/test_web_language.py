"""The page's language (issue 12, item 6: the Chromium test).

A Spanish-language browser (locale es-ES: navigator.language and Accept-Language) sees the front
page and a room in Spanish; the language switch in the header turns the page into English and
back; the choice is remembered (localStorage), over a reload, on a new page of the same browser
and from one page to the other. In every state no visible string is outside the catalog of the
page's language (i18n_walk.untranslated).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from benchmarks.server import LocalServer
from tests.helpers import create_room_sync

from .helpers import diagnostics, mic_context, open_page
from .i18n_walk import untranslated

pytestmark = pytest.mark.browser

SWITCH = "[data-language-switch] select"


def settled(page: Page, lang: str) -> None:
    """The page has loaded its catalogs in ``lang``: i18n.js set <html lang> and mounted the switch."""
    expect(page.locator(SWITCH)).to_have_value(lang)
    expect(page.locator("html")).to_have_attribute("lang", lang)


def front(page: Page, lang: str) -> None:
    """The front page in ``lang``, its lists loaded."""
    settled(page, lang)
    expect(page.locator("#rooms-status")).not_to_have_text(re.compile(r"…$"))
    expect(page.locator("#shows-status")).not_to_have_text(re.compile(r"…$"))


def room(page: Page, lang: str, title: str) -> None:
    """A room's page in ``lang``, the room's summary loaded (its title in the heading)."""
    settled(page, lang)
    expect(page.locator("#join-heading")).to_have_text(title)


def assert_all_translated(page: Page, lang: str, state: str) -> None:
    missing = untranslated(page, lang)
    assert missing == [], f"{state} ({lang}): not in the catalog: {missing}\n{diagnostics(page)}"


def switch_to(page: Page, lang: str) -> None:
    """Choose ``lang`` in the header's switch: the page reloads in it."""
    with page.expect_navigation():
        page.locator(SWITCH).select_option(lang)


@pytest.mark.timeout(120)
def test_a_spanish_browser_sees_spanish_switches_to_english_and_back_and_it_is_remembered(  # type: ignore[no-untyped-def]
        browser, live_server: LocalServer) -> None:
    show = create_room_sync(live_server.url, "Radio Bilingüe", "Inés")
    ctx = mic_context(browser, live_server.url, locale="es-ES")
    try:
        page = open_page(ctx)
        answer = page.goto("/")
        assert answer is not None
        sent = answer.request.all_headers()
        assert sent.get("accept-language", "").startswith("es-ES"), sent
        assert page.evaluate("[navigator.language, navigator.languages[0]]") == ["es-ES", "es-ES"]
        front(page, "es")
        for words in ("En directo ahora", "Empieza un programa", "Próximamente", "Anuncia un programa"):
            expect(page.get_by_text(words, exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Salir en directo")).to_be_visible()
        expect(page.get_by_role("combobox", name="Idioma")).to_have_value("es")
        assert page.title() == "OnAir: programas de radio en directo"
        # The browser's language, not a choice: nothing remembered yet.
        assert page.evaluate("localStorage.getItem('onair.lang')") is None
        assert_all_translated(page, "es", "the front page, from the browser's language")

        # A room, in Spanish too.
        page.goto(show["room_url"])
        room(page, "es", "Radio Bilingüe")
        join_es = page.locator("#join-button").inner_text()
        assert_all_translated(page, "es", "a room's join view, from the browser's language")

        # The switch: English, remembered over a reload and on a new page of the same browser.
        switch_to(page, "en")
        room(page, "en", "Radio Bilingüe")
        assert page.evaluate("localStorage.getItem('onair.lang')") == "en"
        assert page.locator("#join-button").inner_text() != join_es
        expect(page.get_by_role("combobox", name="Language")).to_have_value("en")
        assert_all_translated(page, "en", "a room's join view, switched to English")
        page.reload()
        room(page, "en", "Radio Bilingüe")
        assert_all_translated(page, "en", "a room's join view, reloaded")

        other = open_page(ctx)
        other.goto("/")
        front(other, "en")
        expect(other.get_by_text("Live now", exact=True).first).to_be_visible()
        expect(other.get_by_role("button", name="Go live")).to_be_visible()
        assert other.title() == "OnAir: live radio shows"
        assert_all_translated(other, "en", "the front page, English chosen on a room's page")

        # And back to Spanish, from the front page this time: remembered again, on every page.
        switch_to(other, "es")
        front(other, "es")
        assert other.evaluate("localStorage.getItem('onair.lang')") == "es"
        expect(other.get_by_role("button", name="Salir en directo")).to_be_visible()
        assert_all_translated(other, "es", "the front page, switched back to Spanish")
        other.reload()
        front(other, "es")
        expect(other.get_by_text("En directo ahora", exact=True)).to_be_visible()
        page.reload()
        room(page, "es", "Radio Bilingüe")
        assert page.locator("#join-button").inner_text() == join_es
        assert_all_translated(page, "es", "a room's join view, Spanish chosen on the front page")

        # Inside the room, as a listener: still Spanish.
        page.locator("#join-name").fill("Oyente")
        page.locator("#join-button").click()
        expect(page.locator("#room-view")).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.locator(SWITCH)).to_have_value("es")
        assert_all_translated(page, "es", "a room, joined as a listener")
    finally:
        ctx.close()
