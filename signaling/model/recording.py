"""Recording a show: the program as an Ogg/Opus file under ``<data-dir>/recordings/``.

The host (or a moderator) switches it on and off; while on, a ``Recorder`` takes
every frame of the room's program (which runs meanwhile) through an encoder of
its own, so the file's timeline starts at zero. The file is written a page at a
time (every 200 ms); when the recording stops (switched off, the show ends, the
server stops) its last page is written and its duration stored.
"""

from __future__ import annotations

import logging
import weakref
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import numpy as np

from mixer.program_codecs import OggOpusStream, ogg_opus_extent

from ..tokens import new_id
from .program import Program, program_for
from .room import Room

log = logging.getLogger(__name__)

RECORDINGS_DIR = "recordings"


def recordings_dir(room: Room) -> Path:
    """``<data-dir>/recordings`` (the data dir is where the room's store lives)."""
    return room.store.path.parent / RECORDINGS_DIR


def recording_json(row: dict[str, Any]) -> dict[str, Any]:
    """A recording as the API shows it."""
    return {
        "recording_id": row["recording_id"],
        "room_id": row["room_id"],
        "title": row["title"],
        "host_name": row["host_name"],
        "started_at": row["started_at"],
        "duration_ms": row["duration_ms"],
        "url": f"/recordings/{row['recording_id']}.ogg",
    }


def salvage_recordings(room: Room) -> int:
    """Finish the room's recordings that a stopped process left open (a crash cut them short) from
    what their files hold: cut to the last complete page, timed and listed by it. One with no
    sound in it is removed. Called when the room opens here, so nobody is making them."""
    salvaged = 0
    for row in room.store.open_recordings(room.room_id):
        path = recordings_dir(room) / row["file"]
        try:
            with path.open("r+b") as file:
                size, duration_ms = ogg_opus_extent(file)
                file.truncate(size)
        except OSError:
            size, duration_ms = 0, 0
        if duration_ms <= 0:
            room.store.delete_recording(row["recording_id"])
            path.unlink(missing_ok=True)
            continue
        started = datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
        ended = (started + timedelta(milliseconds=duration_ms)).isoformat(timespec="milliseconds")
        room.store.finish_recording(row["recording_id"], duration_ms=duration_ms, size=size,
                                    ended_at=ended.replace("+00:00", "Z"))
        log.warning("room %s: recording %s was cut short (%d ms kept)", room.room_id,
                    row["recording_id"], duration_ms)
        salvaged += 1
    return salvaged


class Recorder:
    """Encodes the program into one Ogg/Opus file; ``close`` finishes it and calls ``on_done``."""

    def __init__(self, path: Path, title: str, on_done: Any) -> None:
        self.path = path
        self._stream = OggOpusStream(title=title, packets_per_page=10)
        self._file: IO[bytes] | None = path.open("wb")
        self._file.write(self._stream.header)
        self._on_done = on_done
        self.size = len(self._stream.header)

    @property
    def duration_ms(self) -> int:
        return self._stream.duration_ms

    def feed(self, frame: np.ndarray) -> None:
        if self._file is None:
            return
        page = self._stream.feed(frame)
        if page:
            self._write(page)

    def _write(self, data: bytes) -> None:
        assert self._file is not None
        try:
            self._file.write(data)
            self.size += len(data)
        except OSError:  # a full disk ends the recording, not the show
            log.exception("recording %s failed", self.path.name)
            self.close()

    def close(self) -> None:
        if self._file is None:
            return
        self._write(self._stream.finish())
        file, self._file = self._file, None
        if file is not None:
            file.close()
        self._on_done(self)


class RoomRecording:
    """One room's recording switch. ``state()`` is what ``welcome`` and ``recording`` carry."""

    _rooms: weakref.WeakKeyDictionary[Room, RoomRecording] = weakref.WeakKeyDictionary()

    def __init__(self, room: Room) -> None:
        self.room = room
        self.recorder: Recorder | None = None
        self.recording_id: str | None = None
        self.program: Program | None = None
        room.once("ended", self.stop)

    @classmethod
    def of(cls, room: Room) -> RoomRecording:
        recording = cls._rooms.get(room)
        if recording is None:
            recording = cls._rooms[room] = cls(room)
        return recording

    @property
    def on(self) -> bool:
        return self.recorder is not None

    def state(self) -> dict[str, Any]:
        return {"on": True, "recording_id": self.recording_id} if self.on else {"on": False}

    def start(self) -> dict[str, Any]:
        """Start recording (if not already); returns the recording's row."""
        room = self.room
        if self.recorder is not None and self.recording_id is not None:
            row = room.store.recording(self.recording_id)
            assert row is not None
            return row
        folder = recordings_dir(room)
        folder.mkdir(parents=True, exist_ok=True)
        recording_id = new_id("rec")
        path = folder / f"{recording_id}.ogg"
        row = room.store.add_recording(recording_id, room_id=room.room_id, title=room.title,
                                       host_name=room.host_name, description=room.description,
                                       file=path.name)
        recorder = Recorder(path, room.title, self._done)
        self.program = program_for(room.room_id, room.router, room.music, name=room.title)
        self.program.add_recorder(recorder)
        self.recorder, self.recording_id = recorder, recording_id
        log.info("room %s: recording %s started", room.room_id, recording_id)
        return row

    def stop(self) -> str | None:
        """Stop recording; the id of the recording that stopped, if one was on."""
        recorder, recording_id = self.recorder, self.recording_id
        if recorder is None:
            return None
        if self.program is not None:
            self.program.remove_recorder(recorder)
        recorder.close()  # (already closed, and stored, if the program closed under it)
        return recording_id

    def _done(self, recorder: Recorder) -> None:
        """The file is complete (stopped here, or the program closed under it)."""
        if recorder is not self.recorder or self.recording_id is None:
            return
        self.room.store.finish_recording(self.recording_id, duration_ms=recorder.duration_ms,
                                         size=recorder.size)
        log.info("room %s: recording %s stopped (%d ms)", self.room.room_id, self.recording_id,
                 recorder.duration_ms)
        self.recorder, self.recording_id = None, None
