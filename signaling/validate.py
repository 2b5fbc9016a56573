"""Field checks for client messages: a wrong type or value is a ``bad_request``."""

from __future__ import annotations

from typing import Any

from .errors import ApiError


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
