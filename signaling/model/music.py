"""A room's music, opened where the store left it."""

from __future__ import annotations

from mixer import Library, RoomMusic
from mixer.rotation import Rotation

from ..store import Store


def open_music(store: Store, library: Library, room_id: str, rotation: Rotation | None = None) -> RoomMusic:
    """A room's music, resumed from the store where it was (queue, track, position); a station's
    ``rotation`` rules pick what plays when the queue is empty."""
    queue = []
    for entry_id, track_id in store.load_queue(room_id):
        track = library.get(track_id)
        if track is not None:
            queue.append((entry_id, track))
    saved = store.load_playback(room_id)
    room = store.room(room_id) or {}
    music = RoomMusic(
        library, queue=queue, crossfade_s=saved["crossfade_s"] if saved else 3.0,
        ducking_db=room.get("settings", {}).get("ducking_db", 12.0), rotation=rotation,
    )
    if saved is not None:
        music.set_gain(saved["gain"])
        track = library.get(saved["track_id"]) if saved["track_id"] else None
        if track is not None:
            music.restore_playback(track, saved["position_ms"], paused=saved["paused"])
    return music
