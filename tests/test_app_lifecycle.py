"""The app opens each resource in its own cleanup context: what opened is closed, whatever fails."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from signaling import app as app_module
from signaling.app import create_app
from signaling.keys import LOOP_MONITOR, STORE
from signaling.model import permissions
from signaling.model.registry import RoomRegistry
from signaling.protocol.dispatch import HANDLERS
from signaling.store import Store
from tests.helpers import OPERATOR, make_settings, start_server


async def test_a_library_that_fails_to_open_leaves_no_open_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_library(*args: object) -> None:
        raise OSError("the music disk is gone")

    monkeypatch.setattr(app_module, "open_library", broken_library)
    app = create_app(make_settings(tmp_path / "data"))
    runner = web.AppRunner(app)
    with pytest.raises(OSError, match="music disk"):
        await runner.setup()
    store = app[STORE]
    assert not store.closed  # opened before the library failed...
    await runner.cleanup()
    assert store.closed  # ...and closed by its own cleanup context


async def test_a_registry_that_raises_at_close_still_closes_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def failing_close(self: RoomRegistry) -> None:
        raise RuntimeError("a room would not shut down")

    monkeypatch.setattr(RoomRegistry, "close", failing_close)
    app = create_app(make_settings(tmp_path / "data"))
    runner = web.AppRunner(app)
    await runner.setup()
    store = app[STORE]
    with pytest.raises(Exception, match="a room would not shut down"):
        await runner.cleanup()
    assert store.closed


def test_every_message_type_has_a_handler_and_a_permission() -> None:
    assert set(HANDLERS) == set(permissions.ALLOWED)


async def test_healthz_is_ok_then_degraded_when_the_database_is_locked(tmp_path: Path) -> None:
    srv = await start_server(make_settings(tmp_path / "data"))
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(srv.make_url("/healthz")) as resp:
                assert (resp.status, await resp.json()) == (200, {"status": "ok"})
            other = Store(srv.app[STORE].path)  # another writer holds the write lock
            other._db.execute("BEGIN EXCLUSIVE")
            try:
                async with http.get(srv.make_url("/healthz")) as resp:
                    body = await resp.json()
                    assert resp.status == 503
                    assert body["status"] == "degraded"
                    assert any("cannot be written" in r for r in body["reasons"])
            finally:
                other._db.execute("ROLLBACK")
                other.close()
            async with http.get(srv.make_url("/healthz")) as resp:
                assert resp.status == 200
    finally:
        await srv.close()


async def test_healthz_says_when_the_event_loop_stalls(tmp_path: Path) -> None:
    srv = await start_server(make_settings(tmp_path / "data"))
    try:
        monitor = srv.app[LOOP_MONITOR]
        monitor.note(time.monotonic(), 350.0)  # as the monitor notes a wake-up 350 ms late
        async with aiohttp.ClientSession() as http:
            async with http.get(srv.make_url("/healthz")) as resp:
                body = await resp.json()
        assert resp.status == 503
        assert body["reasons"] == ["the event loop lagged 350 ms (limit 200)"]
    finally:
        await srv.close()


async def test_metrics_keep_their_names_under_prometheus_client(server: TestServer) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(server.make_url("/metrics"), headers=OPERATOR) as resp:
            text = await resp.text()
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
    names = {line.split()[0] for line in text.splitlines() if line and not line.startswith("#")}
    assert {
        "onair_process_cpu_seconds_total", "onair_process_resident_memory_bytes",
        "onair_forwarded_packets_total", "onair_received_packets_total", "onair_rooms",
        "onair_participants", "onair_listeners", "onair_music_ticks_total",
        "onair_music_underruns_total", "onair_music_tick_late_ms_max", "onair_music_tick_late_ms_p99",
    } <= names
