"""Recordings over HTTP: the list, one recording with its chat (the replay page), the file (with
``Range``), deleting one, the replay page and the podcast feed (RSS 2.0 + iTunes tags, by feedgen)."""

from __future__ import annotations

import re
from datetime import datetime

from aiohttp import web
from feedgen.feed import FeedGenerator

from ..errors import ApiError
from ..keys import SETTINGS, STORE
from ..model.recording import RECORDINGS_DIR, recording_json
from ..tokens import bearer, same
from .pages import WEB_DIR

_ID = re.compile(r"^rec_[A-Za-z0-9_-]{1,40}$")


def _row(request: web.Request) -> dict:
    recording_id = request.match_info["recording_id"]
    row = request.app[STORE].recording(recording_id) if _ID.match(recording_id) else None
    if row is None:
        raise ApiError("not_found", "no such recording")
    return row


async def list_recordings(request: web.Request) -> web.Response:
    """``GET /api/recordings``: finished recordings, newest first."""
    return web.json_response([recording_json(r) for r in request.app[STORE].recordings()])


async def get_recording(request: web.Request) -> web.Response:
    """``GET /api/recordings/{id}``: the recording and its chat, each line with ``offset_ms`` (when
    it was written, from the recording's start): what the replay page shows."""
    row = _row(request)
    start = _parse(row["started_at"])
    chat = request.app[STORE].chat_between(row["room_id"], row["started_at"], row["ended_at"])
    lines = [{**m, "offset_ms": max(0, int((_parse(m["at"]) - start).total_seconds() * 1000))} for m in chat]
    return web.json_response({**recording_json(row), "live": row["ended_at"] is None, "chat": lines})


async def recording_file(request: web.Request) -> web.FileResponse:
    """``GET /recordings/{id}.ogg``: the file, seekable (``Range`` gets ``206``)."""
    row = _row(request)
    if row["ended_at"] is None:
        raise ApiError("conflict", "this recording is still going on")
    path = request.app[SETTINGS].data_dir / RECORDINGS_DIR / row["file"]
    if not path.is_file():
        raise ApiError("not_found", "the recording's file is gone")
    return web.FileResponse(path, headers={"Content-Type": "audio/ogg", "Access-Control-Allow-Origin": "*"})


async def delete_recording(request: web.Request) -> web.Response:
    """``DELETE /api/recordings/{id}``: by the host of that show (its host token) or the operator."""
    token = bearer(request.headers.get("Authorization"))
    row = _row(request)
    store, settings = request.app[STORE], request.app[SETTINGS]
    if not (same(token, settings.admin_token) or store.check_host_token(row["room_id"], token)):
        raise ApiError("unauthorized", "only the show's host or the operator may delete its recording")
    if row["ended_at"] is None:
        raise ApiError("conflict", "stop the recording before deleting it")
    (settings.data_dir / RECORDINGS_DIR / row["file"]).unlink(missing_ok=True)
    store.delete_recording(row["recording_id"])
    return web.Response(status=204)


async def replay_page(request: web.Request) -> web.FileResponse:
    """``GET /replay/{id}``: the replay page (it reads ``/api/recordings/{id}``); for an unknown
    recording the same page with 404, so a person sees why in their language, not JSON."""
    try:
        _row(request)
    except ApiError:
        return web.FileResponse(WEB_DIR / "replay.html", status=404)
    return web.FileResponse(WEB_DIR / "replay.html")


async def podcast_feed(request: web.Request) -> web.Response:
    """``GET /feeds/recordings.xml``: RSS 2.0, one item with an enclosure per recording."""
    origin = str(request.url.origin())
    feed = FeedGenerator()
    feed.load_extension("podcast")
    feed.title("OnAir recordings")
    feed.link(href=f"{origin}/", rel="alternate")
    feed.description("Shows recorded live on this OnAir server.")
    feed.language("en")
    feed.podcast.itunes_author("OnAir")
    feed.podcast.itunes_category("Music")
    feed.podcast.itunes_explicit("no")
    for row in request.app[STORE].recordings():
        entry = feed.add_entry(order="append")
        url = f"{origin}/recordings/{row['recording_id']}.ogg"
        entry.id(url)
        entry.guid(row["recording_id"], permalink=False)
        entry.title(row["title"])
        entry.link(href=f"{origin}/replay/{row['recording_id']}")
        entry.description(row["description"] or f"{row['title']}, with {row['host_name']}")
        entry.enclosure(url, str(row["bytes"]), "audio/ogg")
        entry.pubDate(_parse(row["started_at"]))
        entry.podcast.itunes_author(row["host_name"] or "OnAir")
        entry.podcast.itunes_duration(max(1, round(row["duration_ms"] / 1000)))
    return web.Response(body=feed.rss_str(pretty=True), content_type="application/rss+xml", charset="utf-8")


def _parse(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))
