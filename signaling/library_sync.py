"""The track library: scanned from disk, kept in the store, searchable (stub, being written)."""

from __future__ import annotations

from pathlib import Path

from mixer import Library

from .config import Settings
from .store import Store


async def open_library(settings: Settings, store: Store, demo_dir: Path) -> Library:
    """Scan the music folders into the store and return the mixer's library."""
    library = Library([demo_dir, *settings.music_dirs, settings.data_dir / "uploads"])
    await library.scan_async()
    return library
