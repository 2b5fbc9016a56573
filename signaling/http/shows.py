"""The schedule over HTTP: announce, list, cancel and open shows; the schedule as iCalendar."""

from __future__ import annotations

from aiohttp import web

from ..errors import ApiError
from ..keys import CLUSTER, CREATE_LIMIT, REGISTRY, SETTINGS, STORE
from ..model.ratelimit import allowed
from ..model.shows import Schedule, calendar, duration_of, parse_moment
from ..tokens import bearer, same
from ..validate import person_text
from .requests import json_body

ICS_TYPE = "text/calendar"


def _schedule(request: web.Request) -> Schedule:
    return Schedule(request.app[STORE], request.app[REGISTRY])


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def create_show(request: web.Request) -> web.Response:
    """``POST /api/shows``: anyone, rate-limited with room creation (one budget per address for both)."""
    if not await allowed(request.app[CREATE_LIMIT], request.app.get(CLUSTER), "create", request.remote or ""):
        raise ApiError("rate_limited", "too many shows and rooms from this address; try again later")
    body = await json_body(request)
    title = person_text(body, "title", "title")
    host_name = person_text(body, "host_name", "host_name")
    description = person_text(body, "description", "description", required=False)
    starts_at = parse_moment(body.get("starts_at"), "starts_at")
    show, host_token = _schedule(request).announce(
        title=title, host_name=host_name, description=description, starts_at=starts_at,
        duration_min=duration_of(body),
    )
    return web.json_response(
        {"show_id": show["show_id"], "host_token": host_token, "show_url": show["show_url"], "show": show},
        status=201,
    )


async def list_shows(request: web.Request) -> web.Response:
    """``GET /api/shows``: upcoming and live shows, soonest first."""
    return web.json_response(_schedule(request).upcoming())


async def get_show(request: web.Request) -> web.Response:
    schedule = _schedule(request)
    return web.json_response(schedule.to_json(schedule.get(request.match_info["show_id"])))


async def delete_show(request: web.Request) -> web.Response:
    """``DELETE /api/shows/{show_id}``: its host or the operator. A live show's room ends too."""
    schedule = _schedule(request)
    show_id = request.match_info["show_id"]
    schedule.get(show_id)
    token = bearer(request.headers.get("Authorization"))
    operator = same(token, request.app[SETTINGS].admin_token)
    if not operator and not request.app[STORE].check_show_token(show_id, token):
        raise ApiError("unauthorized", "only the show's host or the operator may cancel it")
    schedule.cancel(show_id)
    room = request.app[REGISTRY].get(show_id)
    if room is not None:
        await room.end()
    return web.Response(status=204)


async def open_show(request: web.Request) -> web.Response:
    """``POST /api/shows/{show_id}/open`` (Bearer host token): the show's room, from 15 minutes before
    ``starts_at``; ``201`` when it opens now, ``200`` when it was open already."""
    show_id = request.match_info["show_id"]
    room, created = _schedule(request).open(show_id, bearer(request.headers.get("Authorization")))
    bus = request.app.get(CLUSTER)
    if room is not None and created and bus is not None:  # with workers: this one is the room's origin
        await bus.claim_origin(room.room_id)
    body = {"room_id": show_id, "room_url": f"/r/{show_id}"}
    return web.json_response(body, status=201 if created else 200)


async def schedule_ics(request: web.Request) -> web.Response:
    """``GET /schedule.ics``: every upcoming (or live) show, one VEVENT each (UID = show_id)."""
    shows = _schedule(request).upcoming()
    return web.Response(body=calendar(shows, _base_url(request)), content_type=ICS_TYPE, charset="utf-8")


async def show_ics(request: web.Request) -> web.Response:
    """``GET /shows/{show_id}.ics``: one show, for "add to calendar"."""
    schedule = _schedule(request)
    show = schedule.to_json(schedule.get(request.match_info["show_id"]))
    return web.Response(
        body=calendar([show], _base_url(request), name=show["title"]), content_type=ICS_TYPE, charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{show["show_id"]}.ics"'},
    )
