"""A live room: its people, chat, music and media, and how news reaches everyone."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

from sfu import Router, server_ms

from .participant import Participant
from .session import Session
from .tokens import new_id

log = logging.getLogger(__name__)

CHAT_IN_WELCOME = 50


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Room(AsyncIOEventEmitter):
    """One show. Holds participants and their sessions; the router carries its media.

    Events: ``ended`` (when the show ends for everyone).
    """

    def __init__(
        self,
        *,
        room_id: str,
        title: str,
        description: str,
        host_name: str,
        host_token: str,
        router: Router,
        music: Any,
        rules: list[str],
    ) -> None:
        super().__init__()
        self.room_id = room_id
        self.title = title
        self.description = description
        self.host_name = host_name
        self.host_token = host_token
        self.router = router
        self.music = music
        self.rules = rules
        self.started_at = iso_now()
        self.participants: dict[str, Participant] = {}
        self.sessions: dict[str, Session] = {}
        self.chat: deque[dict] = deque(maxlen=500)
        self.ended = False
        self.host_left_at: float | None = time.monotonic()  # no host yet
        self.permanent = False
        music.on("now_playing", self._on_now_playing)

    # --- views -------------------------------------------------------------
    def summary(self) -> dict:
        present = [p for p in self.participants.values() if p.connected]
        return {
            "room_id": self.room_id,
            "title": self.title,
            "description": self.description,
            "host_name": self.host_name,
            "listeners": sum(1 for p in present if p.role == "listener"),
            "speakers": sum(1 for p in present if p.on_stage),
            "now_playing": self.music.now_playing(),
            "started_at": self.started_at,
        }

    def welcome(self, me: Participant) -> dict:
        return {
            "type": "welcome",
            "participant_id": me.participant_id,
            "role": me.role,
            "resume_token": me.resume_token,
            "room": self.summary(),
            "participants": [p.to_json() for p in self.participants.values() if p.connected],
            "queue": [],
            "now_playing": self.music.now_playing(),
            "chat": list(self.chat)[-CHAT_IN_WELCOME:],
            "rules": self.rules,
            "server_ms": server_ms(),
        }

    @property
    def host(self) -> Participant | None:
        for p in self.participants.values():
            if p.role == "host":
                return p
        return None

    # --- news ----------------------------------------------------------------
    def broadcast(self, message: dict, exclude: str | None = None) -> None:
        for pid, session in self.sessions.items():
            if pid != exclude:
                session.send(message)

    def send_to(self, participant_id: str, message: dict) -> None:
        session = self.sessions.get(participant_id)
        if session is not None:
            session.send(message)

    def _on_now_playing(self, now_playing: dict) -> None:
        self.broadcast({"type": "now_playing", **now_playing})

    def participant_changed(self, participant: Participant) -> None:
        self.broadcast({"type": "participant_updated", "participant": participant.to_json()})

    # --- chat ------------------------------------------------------------------
    def add_chat(self, author: Participant, text: str) -> dict:
        message = {
            "message_id": new_id("m"),
            "participant_id": author.participant_id,
            "name": author.name,
            "text": text,
            "server_ms": server_ms(),
            "at": iso_now(),
        }
        self.chat.append(message)
        self.broadcast({"type": "chat", "message": message})
        return message

    # --- media -----------------------------------------------------------------
    def tracks_for(self, tracks: list[dict]) -> list[dict]:
        """The SFU's track list with owners turned into participant ids."""
        out = []
        for t in tracks:
            entry = {"mid": t["mid"], "kind": t["kind"]}
            if t["kind"] == "voice":
                entry["participant_id"] = t["owner"]
            out.append(entry)
        return out

    async def shutdown(self) -> None:
        """The server stops: close every socket with 1001 (the show is not over)."""
        from .errors import CLOSE_GOING_AWAY

        for session in list(self.sessions.values()):
            session.close(CLOSE_GOING_AWAY)
        await self.router.close()

    async def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        self.broadcast({"type": "room_ended"})
        from .errors import CLOSE_ROOM_ENDED

        for session in list(self.sessions.values()):
            session.close(CLOSE_ROOM_ENDED)
        await self.router.close()
        if hasattr(self.music, "close"):
            self.music.close()
        self.emit("ended")
        log.info("room %s ended", self.room_id)


__all__ = ["Room", "asyncio", "iso_now"]
