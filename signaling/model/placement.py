"""Where a room lives when there are workers: here, on another worker, or nowhere.

One answer for the room socket (``WorkerHub.locate``) and for a room's HTTP routes
(``http/origin_relay.py``): the room held here; a live room of the store that nobody
holds, claimed by this worker and reopened here; or the id of the worker holding it.
"""

from __future__ import annotations

from ..cluster import BusUnavailable, ClusterBus
from ..errors import ApiError
from .registry import RoomRegistry
from .room import Room


async def place(registry: RoomRegistry, bus: ClusterBus, room_id: str) -> Room | str | None:
    """The room here, the worker id of its origin elsewhere, or None (no live room by that id).
    A draining worker places nothing (``draining``): the client tries again elsewhere."""
    if bus.draining:
        raise ApiError("draining", "this server is shutting down; try again")
    room = registry.get(room_id)
    if room is not None:
        return room
    saved = registry.store.room(room_id)
    if saved is None or saved.get("ended_at"):
        return None
    try:
        origin = await bus.ensure_origin(room_id)
    except BusUnavailable:
        raise ApiError("draining", "the workers cannot reach each other; try again") from None
    return registry.reopen(room_id) if origin == bus.worker_id else origin
