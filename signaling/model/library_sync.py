"""The track library: scanned from disk in a worker thread, kept in the store, rescanned on demand.

Folders: the demo music, every ``--music-dir`` and ``<data_dir>/uploads`` (uploads
arrive through ``<data_dir>/uploads/.incoming/``, which scans skip as a hidden
folder). ``open_library`` seeds the mixer's ``Library`` with the tracks the store
already holds, so a file whose path, mtime and size are unchanged is neither
reopened nor measured again; it scans in a thread (the event loop never waits
on a file), then writes the result in one transaction and drops the rows of
files that are gone.

Later scans go through the app's ``LibraryScans``: one at a time, in the
background. ``request`` asks for one and waits for it (several callers meanwhile
share the next one); ``start`` starts one unless one is running (the operator's
``POST /api/library/rescan``). Uploads commit under
``LibraryScans.commit``, the lock a scan holds while it saves, and are kept in the
store even if a scan that listed the folder before the file arrived saves after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from mixer import Library, Track

from ..config import Settings
from ..store import Store

log = logging.getLogger(__name__)

UPLOADS_DIR = "uploads"
INCOMING_DIR = ".incoming"
PROGRESS_STEP = 0.05  # log the scan's progress at every 5 % ...
PROGRESS_MIN_GAP_S = 1.0  # ... unless the last line is under 1 s old (a quick scan says little) ...
PROGRESS_EVERY_S = 2.0  # ... and at least every 2 s


class ScanCancelled(Exception):
    """The server is shutting down: the scan stopped between two files (nothing was saved)."""


def uploads_dir(settings: Settings) -> Path:
    """``<data_dir>/uploads``: where accepted uploads live (a library folder)."""
    return Path(settings.data_dir) / UPLOADS_DIR


def incoming_dir(settings: Settings) -> Path:
    """``<data_dir>/uploads/.incoming``: uploads being received (never scanned)."""
    return uploads_dir(settings) / INCOMING_DIR


def prepare_uploads(settings: Settings) -> Path:
    """Create the uploads folders and delete what an interrupted upload left in ``.incoming``."""
    incoming = incoming_dir(settings)
    incoming.mkdir(parents=True, exist_ok=True)
    for leftover in incoming.iterdir():
        with contextlib.suppress(OSError):
            if leftover.is_file() or leftover.is_symlink():
                leftover.unlink()
                log.info("removed an interrupted upload: %s", leftover.name)
    return uploads_dir(settings)


def library_folders(settings: Settings, demo_dir: Path) -> list[Path]:
    """The demo folder, the music folders and the uploads folder, each once."""
    folders: list[Path] = []
    seen: set[Path] = set()
    for folder in [demo_dir, *settings.music_dirs, uploads_dir(settings)]:
        key = Path(folder).resolve()
        if key not in seen:
            seen.add(key)
            folders.append(Path(folder))
    return folders


class ScanLog:
    """A scan's ``progress`` callback: logs "library scan 340/1000" at each 5 % step (at most once a
    second) and at least every 2 s, so a long scan shows it is alive and a quick one stays quiet.

    Called in the scanning thread; raises ``ScanCancelled`` once ``stop`` is set.
    """

    def __init__(
        self,
        label: str = "library scan",
        stop: threading.Event | None = None,
        *,
        start_level: int = logging.INFO,
    ) -> None:
        self.label = label
        self.stop = stop
        self.start_level = start_level
        self.total = 0
        self.done = 0
        self.started = time.monotonic()
        self._last_log = self.started
        self._step = 1
        self._next_mark = 1

    def __call__(self, done: int, total: int) -> None:
        if self.stop is not None and self.stop.is_set():
            raise ScanCancelled
        self.done, self.total = done, total
        now = time.monotonic()
        if done == 0:
            log.log(self.start_level, "%s: %d audio files", self.label, total)
            self._last_log = now
            self._step = self._next_mark = max(1, int(total * PROGRESS_STEP))
            return
        if done >= total:
            return  # the caller logs the outcome
        since = now - self._last_log
        at_mark = done >= self._next_mark
        while self._next_mark <= done:
            self._next_mark += self._step
        if (at_mark and since >= PROGRESS_MIN_GAP_S) or since >= PROGRESS_EVERY_S:
            log.info("%s %d/%d", self.label, done, total)
            self._last_log = now


def save_tracks(store: Store, tracks: list[Track], also_keep: Iterable[Path] = ()) -> int:
    """Write a scan's result to the store: every track in one transaction, then drop the rows of files
    that are gone (not found by the scan and not in ``also_keep``). Returns how many rows were dropped.

    Thread-safe (the store serialises its connection), meant to run in a worker thread.
    """
    store.upsert_tracks([t.to_record() for t in tracks])
    keep = [str(t.path) for t in tracks]
    keep.extend(str(p) for p in also_keep if Path(p).is_file())
    return store.remove_tracks_not_in(keep)


async def scan_and_save(
    library: Library, store: Store, *, label: str = "library scan", stop: threading.Event | None = None
) -> tuple[list[Track], int]:
    """Scan ``library`` in a worker thread and save the result to ``store`` (in a thread too).

    Returns the tracks found and how many rows of vanished files were dropped.
    """
    started = time.monotonic()
    progress = ScanLog(label, stop)
    tracks = await library.scan_async(progress)
    removed = await asyncio.to_thread(save_tracks, store, tracks)
    log.info(
        "%s done: %d tracks from %d files in %.1f s, %d gone",
        label,
        len(tracks),
        progress.total,
        time.monotonic() - started,
        removed,
    )
    return tracks, removed


async def open_library(settings: Settings, store: Store, demo_dir: Path) -> Library:
    """Scan the music folders into the store and return the mixer's library.

    Tracks the store knows are reused while their files are unchanged (no
    re-measuring); the scan runs in a worker thread.
    """
    prepare_uploads(settings)
    known = [Track.from_record(record) for record in store.all_tracks()]
    library = Library(library_folders(settings, demo_dir), known=known, excluded=store.removed_track_paths())
    await scan_and_save(library, store)
    return library


class LibraryScans:
    """The app's background rescans: one at a time; requests made while one runs share the next one.

    ``commit`` is held while a scan saves; an upload holds it while it moves its file
    into place and writes its row, then calls ``note_upload`` (the track is kept by a
    scan that started before the file arrived, and reused, not measured again, by
    the next one).
    """

    def __init__(self) -> None:
        self.commit = asyncio.Lock()
        self.fresh: dict[Path, Track] = {}
        self.last: dict[str, float | int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._pending: list[asyncio.Future[list[Track]]] = []
        self._stop = threading.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def note_upload(self, library: Library, track: Track) -> None:
        """An uploaded file is in place and in the store (call under ``commit``)."""
        self.fresh[track.path] = track
        library.remember([track])

    def start(self, library: Library, store: Store) -> bool:
        """Start a rescan now unless one is running (then False)."""
        if self.running or self._stop.is_set():
            return False
        self._task = asyncio.get_running_loop().create_task(self._run(library, store))
        return True

    def request(self, library: Library, store: Store) -> asyncio.Future[list[Track]]:
        """A future for the result of a rescan that starts after now (the next one if one is running)."""
        future: asyncio.Future[list[Track]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)  # a caller that stopped waiting leaves no warning behind
        if self._stop.is_set():
            future.set_exception(ScanCancelled())
            return future
        self._pending.append(future)
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(self._run(library, store))
        return future

    async def wait(self) -> None:
        """Until no scan runs."""
        while self._task is not None and not self._task.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop the running scan at its next file (nothing of it is saved) and refuse new ones."""
        self._stop.set()
        await self.wait()
        for future in self._pending:
            if not future.done():
                future.set_exception(ScanCancelled())
        self._pending.clear()

    async def _run(self, library: Library, store: Store) -> None:
        while True:
            waiting, self._pending = self._pending, []
            try:
                tracks = await self._scan_once(library, store)
            except ScanCancelled:
                log.info("library rescan cancelled")
                for future in waiting:
                    if not future.done():
                        future.set_exception(ScanCancelled())
                return
            except Exception as exc:  # a store or disk failure: say so, keep serving
                log.exception("library rescan failed")
                for future in waiting:
                    if not future.done():
                        future.set_exception(exc)
            else:
                for future in waiting:
                    if not future.done():
                        future.set_result(tracks)
            if not self._pending or self._stop.is_set():
                return

    async def _scan_once(self, library: Library, store: Store) -> list[Track]:
        started = time.monotonic()
        library.remember(self.fresh.values())
        progress = ScanLog("library rescan", self._stop, start_level=logging.DEBUG)
        tracks = await library.scan_async(progress)
        async with self.commit:
            found = {t.path for t in tracks}
            also_keep = [p for p in self.fresh if p not in found]
            removed = await asyncio.to_thread(save_tracks, store, tracks, also_keep)
            for path in list(self.fresh):
                if path in found or not path.is_file():
                    del self.fresh[path]
        elapsed = time.monotonic() - started
        self.last = {"tracks": len(tracks), "files": progress.total, "removed": removed, "seconds": elapsed}
        log.info(
            "library rescan done: %d tracks from %d files in %.1f s, %d gone",
            len(tracks),
            progress.total,
            elapsed,
            removed,
        )
        return tracks


def _retrieved(future: asyncio.Future[list[Track]]) -> None:
    if not future.cancelled():
        future.exception()
