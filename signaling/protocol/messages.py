"""One client message from frame to reply: parsed, checked, handled, then one ``ack`` or ``error``."""

from __future__ import annotations

import json
import logging
from typing import Any

from ..errors import ApiError
from ..model.participant import Participant
from ..model.room import Outbox, Room
from .dispatch import dispatch

log = logging.getLogger(__name__)


def parse_frame(outbox: Outbox, data: str) -> dict[str, Any] | None:
    """The JSON object in a text frame, or None after telling the client it was not one."""
    try:
        msg = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        msg = None
    if not isinstance(msg, dict):
        outbox.send({"type": "error", "code": "bad_request", "message": "frames must be JSON objects"})
        return None
    return msg


async def run_message(room: Room, me: Participant, outbox: Outbox, msg: dict[str, Any]) -> None:
    """Check and handle ``msg``; answer its ``id`` with one ``ack`` or ``error``."""
    ref = msg.get("id") if isinstance(msg.get("id"), str) else None
    try:
        await dispatch(room, me, msg)
    except ApiError as exc:
        outbox.send(exc.frame(ref))
        return
    except Exception:
        log.exception("handler failed")
        outbox.send(ApiError("internal", "the server failed").frame(ref))
        return
    if ref is not None:
        outbox.send({"type": "ack", "ref": ref})

