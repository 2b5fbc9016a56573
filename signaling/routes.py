"""Every HTTP route of the server, in one table."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from .http import admin, bans, health, listen, metrics, operator, pages, playlog, rooms, shows, tracks
from .http import listen_share as share
from .http import origin_relay as relay
from .http import recordings as recorded
from .http.origin_relay import Handler
from .protocol.socket import room_socket


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/rooms", rooms.create_room)
    r.add_get("/api/rooms", rooms.list_rooms)
    add_room_routes(app, relay.from_origin)
    r.add_get("/api/rooms/{room_id}/ws", room_socket)
    r.add_get("/api/playlog", playlog.export_playlog)
    r.add_get("/api/tracks", tracks.list_tracks)
    r.add_delete("/api/tracks/{track_id}", tracks.delete_track)
    r.add_post("/api/library/rescan", tracks.rescan_library)
    r.add_get("/api/config", rooms.config)
    r.add_get("/api/reports", operator.list_reports)
    r.add_post("/api/reports/{report_id}", operator.resolve_report)
    r.add_get("/api/bans", bans.list_bans)
    r.add_post("/api/bans", bans.add_ban)
    r.add_delete("/api/bans/{ban_id}", bans.lift_ban)
    r.add_get("/api/audit", operator.operator_audit)
    r.add_get("/api/admin/rooms", admin.list_rooms)
    r.add_get("/api/admin/stats", admin.LiveFigures().handler)
    r.add_post("/api/shows", shows.create_show)
    r.add_get("/api/shows", shows.list_shows)
    r.add_get("/api/shows/{show_id}", shows.get_show)
    r.add_delete("/api/shows/{show_id}", shows.delete_show)
    r.add_post("/api/shows/{show_id}/open", shows.open_show)
    r.add_get("/schedule.ics", shows.schedule_ics)
    r.add_get("/shows/{show_id}.ics", shows.show_ics)
    r.add_get("/healthz", health.healthz)
    r.add_get("/metrics", metrics.metrics)
    r.add_get("/", pages.index)
    r.add_get("/embed/{room_id}", share.embed_page)
    r.add_get("/api/recordings", recorded.list_recordings)
    r.add_get("/api/recordings/{recording_id}", recorded.get_recording)
    r.add_delete("/api/recordings/{recording_id}", recorded.delete_recording)
    r.add_get("/recordings/{recording_id}.ogg", recorded.recording_file)
    r.add_get("/replay/{recording_id}", recorded.replay_page)
    r.add_get("/feeds/recordings.xml", recorded.podcast_feed)
    r.add_get("/admin", pages.admin)
    r.add_static("/static/", pages.WEB_DIR, follow_symlinks=False)


def add_room_routes(app: web.Application, wrap: Callable[[Handler], Handler] = lambda h: h) -> None:
    """What needs the room itself, on its origin (``wrap``: relayed there from another worker).
    Each worker also serves these alone on its private address (``origin_relay.private_site``)."""
    r = app.router
    r.add_get("/api/rooms/{room_id}", wrap(rooms.get_room))
    r.add_delete("/api/rooms/{room_id}", wrap(admin.end_room))  # the host's token: rooms.delete_room
    r.add_post("/api/rooms/{room_id}/away", wrap(rooms.step_away))
    r.add_get("/api/rooms/{room_id}/audit", wrap(operator.room_audit))
    r.add_get("/api/rooms/{room_id}/playlog", wrap(playlog.room_playlog))
    r.add_get("/r/{room_id}", wrap(share.room_page))  # room.html with the room's share tags
    r.add_get("/r/{room_id}/listen.ogg", wrap(listen.listen_ogg))
    r.add_get("/r/{room_id}/listen.mp3", wrap(listen.listen_mp3))
    r.add_get("/r/{room_id}/hls/live.m3u8", wrap(listen.hls_playlist))
    r.add_get(r"/r/{room_id}/hls/{sequence:\d+}.aac", wrap(listen.hls_segment))
    r.add_post("/api/tracks", wrap(tracks.upload_track))  # ?room_id=: the uploading host's room
    r.add_patch("/api/tracks/{track_id}", wrap(tracks.edit_track))
