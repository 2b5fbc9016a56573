"""SIGKILL the real server mid-show and start it again on the same data dir: nothing is lost."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.clients import RoomClient
from tests.test_live_show import wait_for
from tests.test_permissions import AddressedClient, close_all, join_frames, refused_join, settled

ADMIN = "T"
ONAIR = Path(sys.executable).parent / "onair"
BANNED_ADDRESS = "127.0.0.2"  # the banned participant's own address, so the ban spares the others


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """``onair serve`` as a child process, on a data dir that outlives it."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.log = log
        self.proc: asyncio.subprocess.Process | None = None
        self.base_url = ""

    async def start(self) -> str:
        port = free_port()
        args = [
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(self.data_dir),
            "--media-address",
            "127.0.0.1",
            "--admin-token",
            ADMIN,
            "--no-demo",
            "--log-level",
            "warning",
        ]
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                str(ONAIR), *args, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        self.base_url = f"http://127.0.0.1:{port}"
        await self._healthy(timeout=60.0)
        return self.base_url

    async def _healthy(self, timeout: float) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with aiohttp.ClientSession() as http:
            while asyncio.get_running_loop().time() < deadline:
                assert self.proc is not None and self.proc.returncode is None, self.log.read_text()
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base_url}/healthz") as resp:
                        if resp.status == 200:
                            return
                await asyncio.sleep(0.1)
        raise TimeoutError(f"the server did not come up:\n{self.log.read_text()}")

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def server_process(tmp_path: Path) -> AsyncIterator[ServerProcess]:
    process = ServerProcess(tmp_path / "data", tmp_path / "server.log")
    try:
        yield process
    finally:
        await process.kill()


async def get(http: aiohttp.ClientSession, url: str, **kwargs: object) -> tuple[int, object]:
    async with http.get(url, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, await resp.json()


def same_message(message: dict, chat: list[dict]) -> bool:
    """``message`` is in ``chat`` (its ``server_ms`` is on the old process's clock: not compared)."""
    keys = ("message_id", "participant_id", "name", "text", "at")
    return any(all(m.get(k) == message[k] for k in keys) for m in chat)


@pytest.mark.timeout(90)
async def test_a_show_survives_a_sigkill(server_process: ServerProcess) -> None:
    base_url = await server_process.start()
    async with aiohttp.ClientSession() as http:
        body = {"title": "Crash test", "host_name": "Hosty"}
        async with http.post(f"{base_url}/api/rooms", json=body) as resp:
            assert resp.status == 201
            room = await resp.json()
        rid = room["room_id"]
        host = await RoomClient(base_url, rid, "Hosty", token=room["host_token"]).connect()
        listener = await RoomClient(base_url, rid, "Lis").connect()
        pest = await AddressedClient(base_url, rid, "Pest", local_ip=BANNED_ADDRESS).connect()
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

            await server_process.kill()
            assert server_process.proc is not None and server_process.proc.returncode == -signal.SIGKILL
            await close_all(*clients)
            base_url = await server_process.start()

            status, summary = await get(http, f"{base_url}/api/rooms/{rid}")
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
            status, reports = await get(
                http, f"{base_url}/api/reports", headers={"Authorization": f"Bearer {ADMIN}"}
            )
            assert status == 200
            assert [(r["reason"], r["message_id"], r["reporter_id"]) for r in reports] == [  # type: ignore[union-attr]
                ("spoilers", message["message_id"], listener.participant_id)
            ]
        finally:
            await close_all(*clients)
