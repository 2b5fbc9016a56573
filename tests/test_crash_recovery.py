"""SIGKILL the real server mid-show and start it again on the same data dir: nothing is lost."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.server import LocalServer
from tests.clients import RoomClient
from tests.helpers import call, close_all, create_room, join_frames, refused_join, settled, wait_for

BANNED_ADDRESS = "127.0.0.2"  # the banned participant's own address, so the ban spares the others


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LocalServer]:
    """The real ``onair serve`` as a child process, on a data dir that outlives it."""
    process = LocalServer(tmp_path / "data")
    try:
        yield process
    finally:
        process.stop()


def same_message(message: dict, chat: list[dict]) -> bool:
    """``message`` is in ``chat`` (its ``server_ms`` is on the old process's clock: not compared)."""
    keys = ("message_id", "participant_id", "name", "text", "at")
    return any(all(m.get(k) == message[k] for k in keys) for m in chat)


@pytest.mark.timeout(90)
async def test_a_show_survives_a_sigkill(server: LocalServer) -> None:
    await asyncio.to_thread(server.start)
    base_url = server.url
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, base_url, "Crash test")
        rid = room["room_id"]
        host = await RoomClient(base_url, rid, "Hosty", token=room["host_token"]).connect()
        listener = await RoomClient(base_url, rid, "Lis").connect()
        pest = await RoomClient(base_url, rid, "Pest", local_ip=BANNED_ADDRESS).connect()
        clients = [host, listener, pest]
        try:
            await settled(pest)
            assert (await listener.request({"type": "chat", "text": "before the crash"}))["type"] == "ack"
            message = (await listener.next("chat"))["message"]
            kick = {"type": "kick", "participant_id": pest.participant_id, "ban": True, "reason": "pest"}
            assert (await host.request(kick))["type"] == "ack"
            await wait_for(lambda: pest.close_code is not None)
            assert pest.close_code == 4003
            report = {"type": "report", "message_id": message["message_id"], "reason": "spoilers"}
            assert (await listener.request(report))["type"] == "ack"

            server.kill()
            assert server.proc is not None and server.proc.returncode == -signal.SIGKILL
            await close_all(*clients)
            await asyncio.to_thread(server.start)  # same port, same data dir

            status, summary = await call(http, "get", f"{base_url}/api/rooms/{rid}")
            assert status == 200 and summary["room_id"] == rid  # type: ignore[index]
            host = await RoomClient(base_url, rid, "Hosty", token=room["host_token"]).connect()
            clients = [host]
            assert host.welcome["role"] == "host"
            assert same_message(message, host.welcome["chat"])
            back = await RoomClient(base_url, rid, "Lis", token=listener.welcome["resume_token"]).connect()
            clients.append(back)
            assert back.participant_id == listener.participant_id
            assert back.welcome["role"] == "listener"
            newcomer, _ = await join_frames(base_url, rid, "Newcomer")
            assert newcomer["type"] == "welcome" and same_message(message, newcomer["chat"])
            token = pest.welcome["resume_token"]
            assert await refused_join(base_url, rid, "Pest", token=token) == ("banned", 4403)
            assert await refused_join(base_url, rid, "Pest 2", local_ip=BANNED_ADDRESS) == ("banned", 4403)
            operator = {"Authorization": f"Bearer {server.admin_token}"}
            status, reports = await call(http, "get", f"{base_url}/api/reports", headers=operator)
            assert status == 200
            assert [(r["reason"], r["message_id"], r["reporter_id"]) for r in reports] == [  # type: ignore[union-attr]
                ("spoilers", message["message_id"], listener.participant_id)
            ]
        finally:
            await close_all(*clients)
