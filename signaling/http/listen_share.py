"""Sharing a show: the room page with OpenGraph and Twitter card tags (a pasted link shows the
show's title and host), and the embed page, a small player any site may put in an ``<iframe>``."""

from __future__ import annotations

from html import escape

from aiohttp import web

from ..keys import REGISTRY
from ..model.room import Room
from .pages import WEB_DIR

# The embed page plays the HTTP stream and reads the public room summary: it holds no secret, so
# any site may frame it (the other pages keep the browser's default, or deny it outright).
EMBED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; media-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors *"
    ),
    "Cache-Control": "no-cache",
}


def share_tags(room: Room, origin: str) -> str:
    """The ``<meta>`` tags that make a pasted ``/r/{room_id}`` link show the show."""
    url = f"{origin}/r/{room.room_id}"
    title = room.title
    description = room.description or f"Live radio with {room.host_name} on OnAir"
    tags = {
        "og:type": "music.radio_station",
        "og:site_name": "OnAir",
        "og:title": title,
        "og:description": description,
        "og:url": url,
        "og:audio": f"{url}/listen.mp3",
        "og:audio:type": "audio/mpeg",
        "twitter:card": "summary",
        "twitter:title": title,
        "twitter:description": description,
    }
    lines = [f'<meta property="{k}" content="{escape(v)}">' for k, v in tags.items() if k.startswith("og:")]
    lines += [f'<meta name="{k}" content="{escape(v)}">' for k, v in tags.items() if k.startswith("twitter:")]
    lines += [f'<meta name="description" content="{escape(description)}">',
              f'<meta name="author" content="{escape(room.host_name)}">']
    return "\n  ".join(lines)


async def room_page(request: web.Request) -> web.StreamResponse:
    """``GET /r/{room_id}``: the room page; for a live room, with its share tags and title."""
    room = request.app[REGISTRY].get(request.match_info["room_id"])
    if room is None or room.ended:
        return web.FileResponse(WEB_DIR / "room.html")  # the page itself says the show is over
    html = (WEB_DIR / "room.html").read_text(encoding="utf-8")
    html = html.replace("<title>OnAir show</title>",
                        f"<title>{escape(room.title)} · OnAir</title>", 1)
    html = html.replace("</head>", f"  {share_tags(room, str(request.url.origin()))}\n</head>", 1)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})


async def embed_page(request: web.Request) -> web.FileResponse:
    """``GET /embed/{room_id}``: the small player (it asks the API about the room itself)."""
    return web.FileResponse(WEB_DIR / "embed.html", headers=EMBED_HEADERS)
