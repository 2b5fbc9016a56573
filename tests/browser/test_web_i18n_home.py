"""The front page in English and Spanish (issue 12, item 6), in real Chromium against the real server.

Every state a visitor meets (nothing live, rooms and announced shows listed with their countdowns,
a form refused by the page and by the server, a show announced) shows no string that is not in
the catalog of the page's language (i18n_walk.untranslated). The catalogs themselves, every
domain of web/i18n: the same keys and the same {params} in English and Spanish.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from benchmarks.server import LocalServer

from .helpers import diagnostics, mic_context, open_page
from .i18n_walk import CATALOGS, untranslated

pytestmark = pytest.mark.browser

WEB = CATALOGS.parent
LANGS = ("en", "es")
LOCALES = {"en": "en-US", "es": "es-ES"}
ZONE = "Europe/Madrid"
PARAM = re.compile(r"\{(\w+)\}")


def messages(lang: str, domain: str) -> dict[str, object]:
    return json.loads((CATALOGS / lang / f"{domain}.json").read_text(encoding="utf-8"))


def all_messages(lang: str) -> dict[str, object]:
    out: dict[str, object] = {}
    for path in sorted((CATALOGS / lang).glob("*.json")):
        out.update(json.loads(path.read_text(encoding="utf-8")))
    return out


def forms(message: object) -> list[str]:
    """A message's texts: itself, or each of its plural forms."""
    return list(message.values()) if isinstance(message, dict) else [message]  # type: ignore[list-item]


def text(lang: str, key: str, **params: object) -> str:
    """The catalog's message ``key`` of ``lang`` (its "other" form), ``{params}`` filled in."""
    found = all_messages(lang)[key]
    message = found["other"] if isinstance(found, dict) else found
    return PARAM.sub(lambda m: str(params[m.group(1)]), str(message))


# The catalogs: pure Python, no browser.


def test_every_domain_has_the_same_keys_and_params_in_english_and_spanish() -> None:
    domains = {p.stem for lang in LANGS for p in (CATALOGS / lang).glob("*.json")}
    assert {"common", "home", "when"} <= domains, domains
    problems = []
    for domain in sorted(domains):
        missing = [lang for lang in LANGS if not (CATALOGS / lang / f"{domain}.json").is_file()]
        if missing:
            problems.append(f"{domain}: no catalog in {missing}")
            continue
        en, es = messages("en", domain), messages("es", domain)
        if set(en) != set(es):
            only_en, only_es = sorted(set(en) - set(es)), sorted(set(es) - set(en))
            problems.append(f"{domain}: only in en {only_en}, only in es {only_es}")
        for key in sorted(set(en) & set(es)):
            if not (key.startswith(f"{domain}.") or key.startswith("error.")):
                problems.append(f"{domain}: key {key!r} is not '{domain}.<what>'")
            for lang, message in (("en", en[key]), ("es", es[key])):
                texts = forms(message)
                if isinstance(message, dict) and not {"one", "other"} <= set(message):
                    problems.append(f"{domain}/{lang}: {key} has the plural forms {sorted(message)}")
                if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
                    problems.append(f"{domain}/{lang}: {key} is empty or not text")
            params_en = {p for t in forms(en[key]) for p in PARAM.findall(str(t))}
            params_es = {p for t in forms(es[key]) for p in PARAM.findall(str(t))}
            if params_en != params_es:
                problems.append(f"{domain}: {key} takes {sorted(params_en)} in en, {sorted(params_es)} in es")
    assert problems == [], "\n".join(problems)


def test_a_key_in_two_domains_would_be_shadowed() -> None:
    """initI18n merges the domains into one object: a key defined twice loses one of its texts."""
    for lang in LANGS:
        seen: dict[str, str] = {}
        for path in sorted((CATALOGS / lang).glob("*.json")):
            for key in json.loads(path.read_text(encoding="utf-8")):
                assert key not in seen, f"{lang}: {key} is in {seen[key]} and {path.name}"
                seen[key] = path.name


def test_every_key_the_front_page_uses_is_in_the_catalogs() -> None:
    used: set[str] = set()
    for name in ("home.js", "schedule.js", "when.js", "hostlink.js"):
        source = (WEB / "js" / name).read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('([\w.]+)'", source))
    html = (WEB / "index.html").read_text(encoding="utf-8")
    used |= set(re.findall(r'data-i18n(?:-title)?="([\w.]+)"', html))
    for attrs in re.findall(r'data-i18n-attr="([^"]+)"', html):
        used |= set(re.findall(r":([\w.]+)", attrs))
    assert len(used) > 40, used  # the pattern found the page's keys
    for lang in LANGS:
        assert sorted(used - set(all_messages(lang))) == [], lang


# The page, in Chromium.


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    """A server of this module's own: its front page starts with nothing live and nothing announced."""
    with LocalServer(tmp_path_factory.mktemp("onair-i18n-home")) as srv:
        yield srv


@pytest.fixture
def pages(browser, server: LocalServer) -> Iterator[dict[str, Page]]:  # type: ignore[no-untyped-def]
    """The front page's visitor in each language: an English and a Spanish browser, in Madrid."""
    contexts: list[BrowserContext] = []
    out = {}
    for lang in LANGS:
        contexts.append(mic_context(browser, server.url, locale=LOCALES[lang], timezone_id=ZONE))
        out[lang] = open_page(contexts[-1])
    yield out
    for ctx in contexts:
        ctx.close()


def open_front(page: Page, lang: str) -> None:
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("[data-language-switch] select")).to_have_value(lang)
    expect(page.locator("#rooms-status")).not_to_have_text(text(lang, "home.live.loading"))


def assert_all_translated(page: Page, lang: str, state: str) -> None:
    missing = untranslated(page, lang)
    assert missing == [], f"{state} ({lang}): not in the catalog: {missing}\n{diagnostics(page)}"


def http(server: LocalServer, method: str, path: str, body: object = None,
         token: str | None = None) -> tuple[int, object]:
    """One JSON request to the server, as an API client sends it: (status, answer)."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{server.url}{path}", method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")


def posted(response: Response, path: str) -> bool:
    return response.url.endswith(path) and response.request.method == "POST"


def announce(server: LocalServer, title: str, starts_in: timedelta, duration_min: int = 60) -> dict:
    starts = (datetime.now(UTC) + starts_in).astimezone(ZoneInfo(ZONE)).isoformat(timespec="seconds")
    body = {"title": title, "host_name": "Lucía", "starts_at": starts, "duration_min": duration_min}
    status, created = http(server, "POST", "/api/shows", body)
    assert status == 201, created
    return created  # type: ignore[return-value]


@pytest.mark.timeout(120)
def test_the_front_page_empty_and_listed_in_both_languages(
        pages: dict[str, Page], server: LocalServer) -> None:
    for lang, page in pages.items():
        open_front(page, lang)
        expect(page.locator("#rooms-status")).to_have_text(text(lang, "home.live.none"))
        expect(page.locator("#shows-status")).to_have_text(text(lang, "home.coming.none"))
        assert_all_translated(page, lang, "nothing live, nothing announced")
    es = pages["es"]
    assert es.evaluate("navigator.language") == "es-ES"
    assert es.title() == "OnAir: programas de radio en directo"
    for words in ("En directo ahora", "Empieza un programa", "Próximamente", "Anuncia un programa",
                  "Toda la programación, para tu calendario (.ics)"):
        expect(es.get_by_text(words, exact=True)).to_be_visible()
    expect(es.get_by_role("button", name="Salir en directo")).to_be_visible()
    expect(es.get_by_label("Título del programa").first).to_be_visible()
    expect(es.get_by_label("Duración en minutos")).to_be_visible()
    expect(es.locator("#announce-zone")).to_have_text(re.compile(r"^\(tu hora, UTC\+0[12]:00\)$"))
    expect(es.locator("#rules")).to_have_attribute("placeholder", "Hablemos de música.")

    # Live rooms (one a show opened by its host) and shows at every distance from now.
    status, room = http(server, "POST", "/api/rooms", {"title": "Sala Uno", "host_name": "Ana"})
    assert status == 201, room
    opened = announce(server, "Abierto ya", timedelta(minutes=5))
    status, body = http(server, "POST", f"/api/shows/{opened['show_id']}/open", {},
                        token=opened["host_token"])
    assert status == 201, body
    starting = announce(server, "Empezando", timedelta(minutes=-1))
    soon = announce(server, "En minutos", timedelta(minutes=40))
    later = announce(server, "En horas", timedelta(hours=3, minutes=30))
    days = announce(server, "En días", timedelta(days=2, hours=5, minutes=30))
    whole_days = announce(server, "En dos días", timedelta(days=2, minutes=30))
    shows = [opened, starting, soon, later, days, whole_days]
    for lang, page in pages.items():
        open_front(page, lang)
        expect(page.locator("#rooms li")).to_have_count(2)
        expect(page.locator("#rooms-status")).to_have_text(text(lang, "home.live.count", count=2))
        expect(page.locator("#shows li")).to_have_count(len(shows))
        for show in shows:  # every countdown ticked
            expect(page.locator(f'#shows li[data-show-id="{show["show_id"]}"] .countdown')).not_to_be_empty()
        expect(page.locator("#rooms .room-np").first).to_contain_text("♪")
        assert_all_translated(page, lang, "rooms live and shows coming up")

    item = {s["show_id"]: es.locator(f'#shows li[data-show-id="{s["show_id"]}"]') for s in shows}
    expect(item[opened["show_id"]].locator(".countdown")).to_have_text("En directo")
    expect(item[starting["show_id"]].locator(".countdown")).to_have_text("Está empezando")
    expect(item[soon["show_id"]].locator(".countdown")).to_have_text(re.compile(r"^dentro de [34]\d:\d\d$"))
    expect(item[later["show_id"]].locator(".countdown")).to_have_text(re.compile(r"^dentro de 3 h 2\d min$"))
    expect(item[days["show_id"]].locator(".countdown")).to_have_text(re.compile(r"^dentro de 2 días 5 h$"))
    expect(item[whole_days["show_id"]].locator(".countdown")).to_have_text("dentro de 2 días")
    expect(item[days["show_id"]]).to_contain_text("con Lucía")
    weekday = "(lunes|martes|miércoles|jueves|viernes|sábado|domingo)"
    expect(item[days["show_id"]].locator("time")).to_have_text(re.compile(rf"^{weekday}, \d+ de [a-z]+, "))
    ics = item[days["show_id"]].get_by_role("link", name="Añadir al calendario: En días")
    expect(ics).to_have_attribute("href", f"/shows/{days['show_id']}.ics")
    live_room = es.locator("#rooms li").filter(has_text="Sala Uno")
    expect(live_room).to_contain_text("con Ana")
    expect(live_room).to_contain_text("0 escuchando")
    expect(live_room.locator(".room-np")).to_have_text(re.compile(r"^♪ .+, de .+$"))
    en = pages["en"]
    en_days = en.locator(f'#shows li[data-show-id="{days["show_id"]}"] .countdown')
    expect(en_days).to_have_text("in 2 days 5 h")
    expect(en.locator("#rooms li").filter(has_text="Sala Uno")).to_contain_text("0 listening")


@pytest.mark.timeout(120)
def test_the_forms_refused_and_the_show_announced_in_both_languages(  # type: ignore[no-untyped-def]
        pages: dict[str, Page], server: LocalServer) -> None:
    far = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=800)).strftime("%Y-%m-%dT%H:%M")
    soon = (datetime.now(ZoneInfo(ZONE)) + timedelta(days=3)).replace(hour=21, minute=0)
    for lang, page in pages.items():
        open_front(page, lang)
        form = page.locator("#announce-form")
        error = page.locator("#announce-error")

        # Refused by the page: no title.
        form.locator("button[type=submit]").click()
        expect(error).to_have_text(text(lang, "home.announce.need_title"))
        assert_all_translated(page, lang, "the announce form refused by the page")

        # Refused by the server, with its reason: more than a year ahead.
        page.locator("#announce-title").fill(f"Programa {lang}")
        page.locator("#announce-host").fill("Marta")
        page.locator("#announce-starts").fill(far)
        with page.expect_response(lambda r: posted(r, "/api/shows")) as answer:
            form.locator("button[type=submit]").click()
        assert answer.value.status == 400
        assert answer.value.json()["error"]["reason"] == "show_too_far", answer.value.json()
        expect(error).to_have_text(text(lang, "error.reason.show_too_far"))
        expect(error).to_be_visible()
        assert_all_translated(page, lang, "the announce form refused by the server")

        # The "Start a show" form, refused by the server: a rule with a control character.
        page.locator("#title").fill(f"Sala {lang}")
        page.locator("#host-name").fill("Marta")
        page.locator("#rules").fill("Sé amable\nsin\u0007pitidos")
        with page.expect_response(lambda r: posted(r, "/api/rooms")) as answer:
            page.locator("#start-form button[type=submit]").click()
        assert answer.value.json()["error"]["reason"] == "rule_unshowable", answer.value.json()
        expect(page.locator("#start-error")).to_have_text(text(lang, "error.reason.rule_unshowable", n=2))
        expect(page.locator("#start-form button[type=submit]")).to_have_text(text(lang, "home.start.go_live"))
        assert_all_translated(page, lang, "the start form refused by the server")

        # Announced: the confirmation, its host link and the copy button's word.
        page.locator("#announce-starts").fill(soon.strftime("%Y-%m-%dT%H:%M"))
        form.locator("button[type=submit]").click()
        expect(page.locator("#announced")).to_be_visible()
        expect(error).to_be_hidden()
        prefix = {"en": "Announced: “Programa en”, ", "es": "Anunciado: «Programa es», "}[lang]
        expect(page.locator("#announced-text")).to_have_text(re.compile("^" + re.escape(prefix)))
        expect(page.locator("#announced-host-link")).to_have_value(re.compile(r"/r/[^/#]+#host=[\w-]+$"))
        page.locator("#announced-copy").click()
        copied = (text(lang, "when.link_copied"), text(lang, "when.link_copy_by_hand"))
        either = re.compile("^(" + "|".join(map(re.escape, copied)) + ")$")
        expect(page.locator("#announced-status")).to_have_text(either)
        expect(page.locator("#shows li").filter(has_text=f"Programa {lang}")).to_have_count(1)
        assert_all_translated(page, lang, "a show announced")

    es = pages["es"]
    confirmed = re.compile(r"^Anunciado: «Programa es», [^,\d]+, \d+ de [^,\d]+, ")
    expect(es.locator("#announced-text")).to_have_text(confirmed)
    expect(es.get_by_text("Para los oyentes:")).to_be_visible()
    expect(es.get_by_role("link", name="la página del programa")).to_be_visible()
    expect(es.get_by_role("button", name="Copiar")).to_be_visible()


@pytest.mark.timeout(60)
def test_a_server_out_of_reach_is_said_in_the_page_language(  # type: ignore[no-untyped-def]
        pages: dict[str, Page], server: LocalServer) -> None:
    """Last in this module: it stops the module's server."""
    for lang, page in pages.items():
        open_front(page, lang)
    server.stop()
    for lang, page in pages.items():
        failed = text(lang, "home.live.failed", error=text(lang, "error.network"))
        expect(page.locator("#rooms-status")).to_have_text(failed, timeout=15_000)  # the list polls every 5 s
        assert_all_translated(page, lang, "the server out of reach")
    expect(pages["es"].locator("#rooms-status")).to_have_text(
        "No se pudieron cargar los programas: No se puede conectar con el servidor. Comprueba tu conexión.")
