"""Sharing a show: OpenGraph and Twitter card tags on the room page, and the embed page that any
site may frame (while the other pages are not opened up)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import aiohttp

from tests.helpers import create_room


class Meta(HTMLParser):
    """The page's <meta> tags ({property or name: content}) and its <title>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (key := found.get("property") or found.get("name")):
            self.tags[key] = found.get("content") or ""
        self._in_title = tag == "title"

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False


async def page_meta(http: aiohttp.ClientSession, url: str) -> Meta:
    async with http.get(url) as resp:
        assert resp.status == 200 and resp.headers["Content-Type"].startswith("text/html")
        parser = Meta()
        parser.feed(await resp.text())
    return parser


async def test_a_pasted_room_link_shows_the_show(base_url: str, http: aiohttp.ClientSession) -> None:
    room = await create_room(http, base_url, 'Night "Owls" <live> & more', "Ana María")
    meta = await page_meta(http, f"{base_url}/r/{room['room_id']}")
    assert meta.tags["og:title"] == 'Night "Owls" <live> & more'  # escaped in the HTML, whole here
    assert meta.tags["twitter:title"] == meta.tags["og:title"]
    assert "Ana María" in meta.tags["og:description"] and meta.tags["author"] == "Ana María"
    assert meta.tags["og:url"] == f"{base_url}/r/{room['room_id']}"
    assert meta.tags["og:audio"] == f"{base_url}/r/{room['room_id']}/listen.mp3"
    assert meta.tags["twitter:card"] == "summary" and meta.tags["og:type"] == "music.radio_station"
    assert meta.title.startswith('Night "Owls" <live> & more')
    # The page is still the room page (its script is there), and a dead link still gets it.
    async with http.get(f"{base_url}/r/{room['room_id']}") as resp:
        assert "/static/js/room.js" in await resp.text()
    gone = await page_meta(http, f"{base_url}/r/nosuchroom")
    assert "og:title" not in gone.tags


async def test_the_embed_page_may_be_framed_anywhere(base_url: str, http: aiohttp.ClientSession) -> None:
    room = await create_room(http, base_url)
    async with http.get(f"{base_url}/embed/{room['room_id']}") as resp:
        assert resp.status == 200
        assert "X-Frame-Options" not in resp.headers
        assert re.search(r"frame-ancestors \*", resp.headers["Content-Security-Policy"])
        assert "/static/js/embed.js" in await resp.text()
    async with http.get(f"{base_url}/admin") as resp:  # the console stays unframeable
        assert resp.headers["X-Frame-Options"] == "DENY"
