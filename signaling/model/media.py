"""A room's media decisions, wherever each participant's peer connections live.

With one worker, every peer connection is on the room's own router. With
several, a participant on another worker has theirs there: the decision is
still taken here (the origin) and applied locally to what the router knows
of them (stage membership, their voice as it arrives over the pipe), and sent
to their worker for their peers (``RemoteOutbox.media``).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyee import EventEmitter

from sfu import Router

from .remote import Outbox, RemoteOutbox


class RoomMedia(EventEmitter):
    """What the protocol asks of a room's media, for local and remote participants alike.

    Events: ``changed`` when the room's producers moved between workers (a
    voice started or stopped on another worker), so the origin restates them.
    """

    def __init__(self, router: Router, sessions: Mapping[str, Outbox]) -> None:
        super().__init__()
        self.router = router
        self._sessions = sessions
        self.remote_voices: dict[str, str] = {}  # owner -> the worker their voice comes from

    def _remote(self, pid: str) -> RemoteOutbox | None:
        outbox = self._sessions.get(pid)
        return outbox if isinstance(outbox, RemoteOutbox) else None

    def set_live(self, pid: str, live: bool) -> None:
        """``pid`` hears the live feed (on stage) or the audience feed."""
        self.router.set_live(pid, live)
        remote = self._remote(pid)
        if remote is not None:
            remote.media("live", on=live)

    def pause(self, pid: str, paused: bool) -> None:
        """Stop (or resume) forwarding ``pid``'s voice."""
        publisher = self.router.publishers.get(pid)
        if publisher is not None:
            publisher.producer.paused = paused
        remote = self._remote(pid)
        if remote is not None:
            remote.media("pause", on=paused)

    async def close_publisher(self, pid: str) -> None:
        """Stop forwarding ``pid`` at once and close their ``pub`` connection."""
        remote = self._remote(pid)
        if remote is not None:
            remote.media("close_publisher")
        self._drop_remote_voice(pid)
        await self.router.close_publisher(pid)

    async def remove_peer(self, pid: str) -> None:
        """Every peer connection of ``pid`` goes (they left, or were removed)."""
        remote = self._remote(pid)
        if remote is not None:
            remote.media("remove_peer")
        self._drop_remote_voice(pid)
        await self.router.remove_peer(pid)

    async def remote_publishing(self, pid: str, on: bool) -> None:
        """``pid``'s worker opened (or closed) their ``pub`` connection there."""
        remote = self._remote(pid)
        if on and remote is not None:
            self.remote_voices[pid] = remote.worker_id
            self.emit("changed")
        elif not on:
            self._drop_remote_voice(pid)
        await self.router.reconcile()

    def _drop_remote_voice(self, pid: str) -> None:
        if self.remote_voices.pop(pid, None) is not None:
            self.router.remove_remote_voice(pid)
            self.emit("changed")

    def set_stats(self, pid: str, stats: dict[str, float]) -> None:
        self.router.set_stats(pid, stats)

    async def reconcile(self) -> None:
        await self.router.reconcile()
