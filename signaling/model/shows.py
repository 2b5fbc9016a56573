"""The schedule: shows announced ahead, opened by their host from 15 minutes before they start.

A show's room takes the show's id, so a link shared in advance (``/r/{show_id}``) is the room's
link once it opens. Times are kept twice: ``starts_at`` as announced (with its offset, for the
people who read it) and ``starts_utc`` (ISO UTC, to order and compare).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event

from ..errors import ApiError
from ..store import Store
from ..tokens import new_id, new_token
from .registry import RoomRegistry
from .room import Room

OPEN_EARLY = timedelta(minutes=15)  # the host may open the room this long before the start
DEFAULT_DURATION_MIN = 60
MIN_DURATION_MIN, MAX_DURATION_MIN = 5, 24 * 60
MAX_AHEAD = timedelta(days=366)


def utc_iso(moment: datetime) -> str:
    """``moment`` as the store writes times: ISO-8601 UTC with milliseconds and a ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_moment(value: object, name: str) -> datetime:
    """An ISO-8601 time with its offset (``2025-05-02T21:00:00+02:00`` or ``...Z``); ``bad_request``
    for anything else, a time without an offset included (whose 9 pm would it be?)."""
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        raise ApiError("bad_request", f"'{name}' must be an ISO-8601 time with its offset")
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ApiError("bad_request", f"'{name}' is not an ISO-8601 time: {value[:40]!r}") from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ApiError("bad_request", f"'{name}' needs a time zone offset (such as +02:00 or Z)")
    return moment


def duration_of(body: dict) -> int:
    """``duration_min``: whole minutes, 5 to 1440, 60 when absent."""
    value = body.get("duration_min", DEFAULT_DURATION_MIN)
    if value is None:
        return DEFAULT_DURATION_MIN
    whole = isinstance(value, int) and not isinstance(value, bool)
    if not whole or not MIN_DURATION_MIN <= value <= MAX_DURATION_MIN:
        raise ApiError("bad_request", f"'duration_min' must be a whole number of minutes from "
                       f"{MIN_DURATION_MIN} to {MAX_DURATION_MIN}", reason="show_length",
                       least=MIN_DURATION_MIN, most=MAX_DURATION_MIN)
    return value


def starts_of(show: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(show["starts_utc"].replace("Z", "+00:00"))


class Schedule:
    """The shows of the store, as the HTTP API and the page see them (``live``: its room is open)."""

    def __init__(self, store: Store, registry: RoomRegistry) -> None:
        self.store = store
        self.registry = registry

    def announce(self, *, title: str, host_name: str, description: str, starts_at: datetime,
                 duration_min: int, now: datetime | None = None) -> tuple[dict[str, Any], str]:
        """A new show and its host token (the only time the token is seen)."""
        now = now or datetime.now(UTC)
        if starts_at + timedelta(minutes=duration_min) <= now:
            raise ApiError("bad_request", "This show would be over already: pick a later start.",
                           reason="show_over")
        if starts_at - now > MAX_AHEAD:
            raise ApiError("bad_request", "A show can be announced at most a year ahead.",
                           reason="show_too_far")
        show_id = new_id("s")[2:]
        host_token = new_token()
        show = self.store.add_show(
            show_id, title=title, host_name=host_name, description=description,
            starts_at=starts_at.isoformat(), starts_utc=utc_iso(starts_at), duration_min=duration_min,
            host_token=host_token,
        )
        return self.to_json(show), host_token

    def is_live(self, show_id: str) -> bool:
        saved = self.store.room(show_id)
        return saved is not None and saved["ended_at"] is None

    def has_ended(self, show_id: str) -> bool:
        """Its room opened and has ended (the show is over, whatever its planned end)."""
        saved = self.store.room(show_id)
        return saved is not None and saved["ended_at"] is not None

    def to_json(self, show: dict[str, Any]) -> dict[str, Any]:
        starts = starts_of(show)
        return {
            "show_id": show["show_id"],
            "title": show["title"],
            "host_name": show["host_name"],
            "description": show["description"],
            "starts_at": show["starts_at"],
            "duration_min": show["duration_min"],
            "live": self.is_live(show["show_id"]),
            "ended": self.has_ended(show["show_id"]),
            "ends_at": utc_iso(starts + timedelta(minutes=show["duration_min"])),
            "opens_at": utc_iso(starts - OPEN_EARLY),
            "show_url": f"/r/{show['show_id']}",
            "ics_url": f"/shows/{show['show_id']}.ics",
        }

    def upcoming(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Shows still to come or live now, soonest first. A show whose time passed without it
        opening, or whose room has ended, is not listed."""
        now = now or datetime.now(UTC)
        out = []
        for show in self.store.shows_from(utc_iso(now - timedelta(minutes=MAX_DURATION_MIN))):
            shown = self.to_json(show)
            if shown["live"]:
                out.append(shown)
            elif show["opened_at"] is None and shown["ends_at"] > utc_iso(now):
                out.append(shown)
        return out

    def get(self, show_id: str) -> dict[str, Any]:
        show = self.store.show(show_id)
        if show is None:
            raise ApiError("not_found", "no such show")
        return show

    def open(self, show_id: str, token: str | None, now: datetime | None = None) -> tuple[Room | None, bool]:
        """The host opens the show: its room (``room_id`` = ``show_id``; None when another worker
        holds it) and whether it was made now.

        ``unauthorized`` without the show's host token; ``conflict`` before the window (15 min before
        ``starts_at``), after the show's time, or once its room has ended."""
        show = self.get(show_id)
        if not self.store.check_show_token(show_id, token):
            raise ApiError("unauthorized", "only the show's host may open it")
        room = self.registry.get(show_id)
        if room is not None and not room.ended:
            return room, False
        saved = self.store.room(show_id)
        if saved is not None and saved["ended_at"] is None:
            return None, False  # open already, on another worker
        if saved is not None:
            raise ApiError("conflict", "This show has ended; announce a new one to go on air again.")
        now = now or datetime.now(UTC)
        starts = starts_of(show)
        opens = starts - OPEN_EARLY
        if now < opens:
            wait = opens - now
            raise ApiError("conflict", f"Too early: the show opens at {utc_iso(opens)} (15 minutes "
                           f"before it starts), in {_span(wait)}.")
        if now >= starts + timedelta(minutes=show["duration_min"]):
            raise ApiError("conflict", "This show's time is over; announce a new one to go on air.")
        assert token is not None  # checked above
        room, _ = self.registry.create(show["title"], show["host_name"], show["description"],
                                       room_id=show_id, host_token=token)
        self.store.mark_show_opened(show_id)
        return room, True

    def cancel(self, show_id: str) -> None:
        self.get(show_id)
        self.store.cancel_show(show_id)


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60) + 1
    if minutes < 120:
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def calendar(shows: list[dict[str, Any]], base_url: str, name: str = "OnAir schedule") -> bytes:
    """An iCalendar (RFC 5545) of ``shows`` (``Schedule.to_json`` dicts): one VEVENT each, UID =
    show_id, times in UTC, the room's link as URL."""
    cal = Calendar()
    cal.add("prodid", "-//OnAir//Schedule//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    stamp = datetime.now(UTC).replace(microsecond=0)
    for show in shows:
        event = Event()
        starts = datetime.fromisoformat(show["starts_at"]).astimezone(UTC)
        event.add("uid", show["show_id"])
        event.add("dtstamp", stamp)
        event.add("dtstart", starts)
        event.add("dtend", starts + timedelta(minutes=show["duration_min"]))
        event.add("summary", show["title"])
        url = f"{base_url}{show['show_url']}"
        lines = [f"Hosted by {show['host_name']}.", show["description"], f"Listen: {url}"]
        event.add("description", "\n\n".join(line for line in lines if line))
        event.add("url", url)
        event.add("location", url)
        cal.add_component(event)
    return bytes(cal.to_ical())
