"""Every HTTP route of the server, in one table."""

from __future__ import annotations

from aiohttp import web

from .http import admin, bans, health, metrics, operator, pages, rooms, tracks
from .protocol.socket import room_socket


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/rooms", rooms.create_room)
    r.add_get("/api/rooms", rooms.list_rooms)
    r.add_get("/api/rooms/{room_id}", rooms.get_room)
    r.add_delete("/api/rooms/{room_id}", admin.end_room)  # the host's token goes on to rooms.delete_room
    r.add_get("/api/rooms/{room_id}/ws", room_socket)
    r.add_get("/api/rooms/{room_id}/audit", operator.room_audit)
    r.add_get("/api/tracks", tracks.list_tracks)
    r.add_post("/api/tracks", tracks.upload_track)
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
    r.add_get("/healthz", health.healthz)
    r.add_get("/metrics", metrics.metrics)
    r.add_get("/", pages.index)
    r.add_get("/r/{room_id}", pages.room)
    r.add_get("/admin", pages.admin)
    r.add_static("/static/", pages.WEB_DIR, follow_symlinks=False)
