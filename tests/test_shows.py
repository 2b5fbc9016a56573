"""Scheduled shows: announced, listed, in the iCalendar schedule, opened by their host in the window
(the room keeps the show's id), refused before it, cancelled by the host or the operator."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone

import aiohttp
from aiohttp.test_utils import TestServer
from icalendar import Calendar

from tests.clients import RoomClient
from tests.helpers import OPERATOR, MakeServer, call, join_frames, url_of


def at(minutes: float, offset_h: int = 2) -> str:
    """A time ``minutes`` from now, written with a +``offset_h`` hours offset."""
    zone = timezone(timedelta(hours=offset_h))
    return (datetime.now(UTC) + timedelta(minutes=minutes)).astimezone(zone).isoformat(timespec="seconds")


async def announce(http: aiohttp.ClientSession, base: str, minutes: float, **extra: object) -> dict:
    body = {"title": "Friday Night Jazz", "host_name": "Mona", "description": "Standards and requests.",
            "starts_at": at(minutes), **extra}
    status, show = await call(http, "post", f"{base}/api/shows", json=body)
    assert status == 201, show
    return show  # type: ignore[return-value]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def ics(http: aiohttp.ClientSession, url: str) -> Calendar:
    async with http.get(url) as resp:
        assert resp.status == 200
        assert resp.content_type == "text/calendar"
        return Calendar.from_ical(await resp.read())


async def test_an_announced_show_is_listed_and_in_the_calendar(
    server: TestServer, base_url: str, http: aiohttp.ClientSession
) -> None:
    starts = at(120, offset_h=-5)
    show = await announce(http, base_url, 0, starts_at=starts, duration_min=90)
    assert show["show_url"] == f"/r/{show['show_id']}" and show["host_token"]
    status, listed = await call(http, "get", f"{base_url}/api/shows")
    assert status == 200
    mine = [s for s in listed if s["show_id"] == show["show_id"]]  # type: ignore[union-attr]
    assert mine == [{
        "show_id": show["show_id"], "title": "Friday Night Jazz", "host_name": "Mona",
        "description": "Standards and requests.", "starts_at": starts, "duration_min": 90, "live": False,
        "ended": False, "ends_at": mine[0]["ends_at"], "opens_at": mine[0]["opens_at"],
        "show_url": show["show_url"], "ics_url": f"/shows/{show['show_id']}.ics",
    }]
    assert "host_token" not in str(listed)

    events = [e for e in (await ics(http, f"{base_url}/schedule.ics")).walk("VEVENT")
              if str(e["UID"]) == show["show_id"]]
    assert len(events) == 1
    assert events[0].decoded("DTSTART") == datetime.fromisoformat(starts)
    assert events[0].decoded("DTEND") - events[0].decoded("DTSTART") == timedelta(minutes=90)
    assert str(events[0]["URL"]) == f"{base_url}/r/{show['show_id']}"
    one = list((await ics(http, f"{base_url}{mine[0]['ics_url']}")).walk("VEVENT"))
    assert [str(e["UID"]) for e in one] == [show["show_id"]]
    assert str(one[0]["SUMMARY"]) == "Friday Night Jazz"


async def test_shows_are_listed_soonest_first(base_url: str, http: aiohttp.ClientSession) -> None:
    later = await announce(http, base_url, 600)
    sooner = await announce(http, base_url, 300)
    _, listed = await call(http, "get", f"{base_url}/api/shows")
    ids = [s["show_id"] for s in listed]  # type: ignore[union-attr]
    assert ids.index(sooner["show_id"]) < ids.index(later["show_id"])


async def test_bad_announcements_are_refused(base_url: str, http: aiohttp.ClientSession) -> None:
    good = {"title": "T", "host_name": "H", "starts_at": at(60)}
    bad = [
        {**good, "starts_at": "2030-05-02T21:00:00"},  # no offset: whose 9 pm?
        {**good, "starts_at": "next friday"},
        {**good, "starts_at": 1700000000},
        {**good, "starts_at": at(-120), "duration_min": 60},  # over already
        {**good, "starts_at": at(60 * 24 * 400)},  # over a year ahead
        {**good, "duration_min": 0},
        {**good, "duration_min": 2000},
        {**good, "duration_min": 30.5},
        {**good, "duration_min": True},
        {**good, "title": ""},
        {**good, "title": "x" * 101},
        {k: v for k, v in good.items() if k != "host_name"},
    ]
    for body in bad:
        status, answer = await call(http, "post", f"{base_url}/api/shows", json=body)
        assert status == 400 and answer["error"]["code"] == "bad_request", (body, answer)  # type: ignore[index]
    status, answer = await call(http, "post", f"{base_url}/api/shows", data=b"[1, 2")
    assert status == 400


async def test_announcing_is_rate_limited_with_room_creation(
    make_server: MakeServer, http: aiohttp.ClientSession
) -> None:
    base = url_of(await make_server(room_create_rate=2))
    body = {"title": "T", "host_name": "H", "starts_at": at(60)}
    assert (await call(http, "post", f"{base}/api/shows", json=body))[0] == 201
    assert (await call(http, "post", f"{base}/api/rooms", json={"title": "R", "host_name": "H"}))[0] == 201
    status, answer = await call(http, "post", f"{base}/api/shows", json=body)
    assert status == 429 and answer["error"]["code"] == "rate_limited"  # type: ignore[index]


async def test_the_host_opens_the_show_in_its_window_and_the_room_keeps_its_id(
    base_url: str, http: aiohttp.ClientSession
) -> None:
    show = await announce(http, base_url, 10)  # starts in 10 minutes: inside the 15-minute window
    show_id, token = show["show_id"], show["host_token"]
    first, code = await join_frames(base_url, show_id, "Early bird")
    assert first["code"] == "not_found" and code == 4404  # not open yet

    status, answer = await call(http, "post", f"{base_url}/api/shows/{show_id}/open")
    assert status == 401
    status, answer = await call(http, "post", f"{base_url}/api/shows/{show_id}/open", headers=bearer("nope"))
    assert status == 401
    status, answer = await call(http, "post", f"{base_url}/api/shows/nope/open", headers=bearer(token))
    assert status == 404
    status, opened = await call(http, "post", f"{base_url}/api/shows/{show_id}/open", headers=bearer(token))
    assert status == 201 and opened == {"room_id": show_id, "room_url": f"/r/{show_id}"}
    status, again = await call(http, "post", f"{base_url}/api/shows/{show_id}/open", headers=bearer(token))
    assert status == 200 and again == opened

    host = await RoomClient(base_url, show_id, "Mona", token=token, media=False).connect()
    listener = await RoomClient(base_url, show_id, "Lis", media=False).connect()
    assert host.welcome is not None and host.welcome["role"] == "host"
    assert host.welcome["room"]["title"] == "Friday Night Jazz"
    _, room = await call(http, "get", f"{base_url}/api/rooms/{show_id}")
    assert room["room_id"] == show_id and room["host_name"] == "Mona"  # type: ignore[index]
    _, listed = await call(http, "get", f"{base_url}/api/shows")
    assert [s["live"] for s in listed if s["show_id"] == show_id] == [True]  # type: ignore[union-attr]
    await asyncio.gather(host.close(), listener.close())

    # The host ends it: the show is over, off the list, and cannot be opened again.
    assert (await call(http, "delete", f"{base_url}/api/rooms/{show_id}", headers=bearer(token)))[0] == 204
    _, listed = await call(http, "get", f"{base_url}/api/shows")
    assert show_id not in [s["show_id"] for s in listed]  # type: ignore[union-attr]
    status, answer = await call(http, "post", f"{base_url}/api/shows/{show_id}/open", headers=bearer(token))
    assert status == 409 and "ended" in answer["error"]["message"]  # type: ignore[index]


async def test_opening_before_the_window_is_refused_with_the_time_it_opens(
    base_url: str, http: aiohttp.ClientSession
) -> None:
    show = await announce(http, base_url, 20)  # the window opens in 5 minutes
    status, answer = await call(http, "post", f"{base_url}/api/shows/{show['show_id']}/open",
                                headers=bearer(show["host_token"]))
    assert status == 409 and answer["error"]["code"] == "conflict"  # type: ignore[index]
    message = answer["error"]["message"]  # type: ignore[index]
    assert message.startswith("Too early") and "in 5 minutes" in message, message
    _, shown = await call(http, "get", f"{base_url}/api/shows/{show['show_id']}")
    assert shown["opens_at"] in message  # type: ignore[index]
    assert (await call(http, "get", f"{base_url}/api/rooms/{show['show_id']}"))[0] == 404


async def test_the_host_or_the_operator_cancels_a_show(
    server: TestServer, base_url: str, http: aiohttp.ClientSession
) -> None:
    mine = await announce(http, base_url, 60)
    other = await announce(http, base_url, 5)
    url = f"{base_url}/api/shows/{mine['show_id']}"
    assert (await call(http, "delete", url))[0] == 401
    assert (await call(http, "delete", url, headers=bearer(other["host_token"])))[0] == 401
    assert (await call(http, "delete", url, headers=bearer(mine["host_token"])))[0] == 204
    assert (await call(http, "delete", url, headers=bearer(mine["host_token"])))[0] == 404
    assert (await call(http, "get", url))[0] == 404
    assert (await call(http, "get", f"{base_url}/shows/{mine['show_id']}.ics"))[0] == 404
    uids = [str(e["UID"]) for e in (await ics(http, f"{base_url}/schedule.ics")).walk("VEVENT")]
    assert mine["show_id"] not in uids and other["show_id"] in uids

    # A live show cancelled by the operator: its room ends for everyone.
    oid = other["show_id"]
    await call(http, "post", f"{base_url}/api/shows/{oid}/open", headers=bearer(other["host_token"]))
    listener = await RoomClient(base_url, oid, "Lis", media=False).connect()
    assert (await call(http, "delete", f"{base_url}/api/shows/{oid}", headers=OPERATOR))[0] == 204
    await listener.next("room_ended")
    assert (await call(http, "get", f"{base_url}/api/rooms/{oid}"))[0] == 404
    await listener.close()
