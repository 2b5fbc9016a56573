"""Field checks for client messages: a wrong type or value is a ``bad_request``."""

from __future__ import annotations

import os
import re
import unicodedata
from typing import Any
from urllib.parse import unquote

from .errors import ApiError

# One limit per field, in characters (after trimming): the server checks them and the page reads them
# from ``GET /api/config`` (``limits``) for its fields' ``maxlength``.
LIMITS: dict[str, int] = {
    "title": 100,  # a show's title
    "host_name": 40,
    "name": 40,  # a participant's display name
    "description": 1000,
    "rules": 10,  # lines of a room's own rules ...
    "rule": 200,  # ... each at most this long
    "chat": 500,
    "track_title": 200,
    "track_artist": 200,
    "report": 500,
    "kick_reason": 200,
}

# How a field is called in a refusal shown to people.
FIELD_WORDS: dict[str, str] = {
    "title": "The show's title",
    "host_name": "Your name",
    "name": "Your name",
    "description": "The description",
    "text": "A message",
    "track_title": "The track's title",
    "track_artist": "The artist",
}


def is_clean_text(value: str) -> bool:
    """Valid Unicode (no lone surrogates) and no control characters but newlines and tabs."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 and c not in "\n\t" for c in value)


def text_field(msg: dict, name: str, *, min_len: int = 1, max_len: int = 500) -> str:
    value = msg.get(name)
    if not isinstance(value, str):
        raise ApiError("bad_request", f"'{name}' must be a string")
    value = value.strip()
    if not is_clean_text(value):
        raise ApiError("bad_request", f"'{name}' is not valid text")
    if not min_len <= len(value) <= max_len:
        raise ApiError("bad_request", f"'{name}' must be {min_len}-{max_len} characters")
    return value


def id_field(msg: dict, name: str) -> str:
    value = msg.get(name)
    if not isinstance(value, str) or not 0 < len(value) <= 100 or not is_clean_text(value):
        raise ApiError("bad_request", f"'{name}' must be an id string")
    return value


def optional_text(msg: dict, name: str, *, max_len: int) -> str:
    """An optional free-text field: absent or empty gives ""."""
    if msg.get(name) in (None, ""):
        return ""
    return text_field(msg, name, min_len=0, max_len=max_len)


def bool_field(msg: dict, name: str) -> bool:
    value = msg.get(name)
    if not isinstance(value, bool):
        raise ApiError("bad_request", f"'{name}' must be true or false")
    return value


def number_field(msg: dict, name: str, *, lo: float, hi: float, optional: bool = False) -> Any:
    value = msg.get(name)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise ApiError("bad_request", f"'{name}' must be a number in [{lo}, {hi}]")
    return value


def pc_field(msg: dict, expected: str) -> None:
    if msg.get("pc") != expected:
        raise ApiError("bad_request", f"'pc' must be '{expected}' for this message")


def person_text(body: dict, name: str, limit: str, *, required: bool = True) -> str:
    """A free-text field a person typed, trimmed, within ``LIMITS[limit]``; refusals worded for people
    ("The show's title can be at most 100 characters; this one has 120.")."""
    words = FIELD_WORDS.get(name, f"The {name.replace('_', ' ')}")
    value = body.get(name, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str):
        raise ApiError("bad_request", f"{words} must be text.")
    value = value.strip()
    if required and not value:
        raise ApiError("bad_request", f"{words} is missing: it needs at least one character.",
                       reason=f"{name}_missing")
    if not is_clean_text(value):
        raise ApiError("bad_request", f"{words} has characters that cannot be shown (control characters).",
                       reason=f"{name}_unshowable")
    most = LIMITS[limit]
    if len(value) > most:
        raise ApiError("bad_request", f"{words} can be at most {most} characters; this one has {len(value)}.",
                       reason=f"{name}_too_long", most=most, length=len(value))
    return value


def track_edits(body: dict) -> dict[str, str]:
    """A track edit's ``title`` and/or ``artist`` (an empty artist clears it); at least one."""
    edits: dict[str, str] = {}
    if "title" in body:
        edits["title"] = person_text({"track_title": body["title"]}, "track_title", "track_title")
    if "artist" in body:
        edits["artist"] = person_text(
            {"track_artist": body["artist"]}, "track_artist", "track_artist", required=False
        )
    if not edits:
        raise ApiError("bad_request", "Send a new 'title' or 'artist' for the track.")
    return edits


def display_title(filename: str | None) -> str:
    """A title from a client's file name: its last path component without the extension, plain
    text, at most ``LIMITS["track_title"]`` characters ("my-jingle.wav" -> "my-jingle")."""
    base = unquote(filename or "", errors="replace").replace("\\", "/").rsplit("/", 1)[-1]
    stem = unicodedata.normalize("NFC", os.path.splitext(base)[0] if "." in base[1:] else base)
    stem = "".join(ch if is_clean_text(ch) and ch not in "\n\t" else " " for ch in stem)
    stem = re.sub(r"\s+", " ", stem).strip()[: LIMITS["track_title"]].strip()
    return stem or "Untitled upload"
