"""Helpers shared by the tests that talk to a server: waiting, servers in this process, rooms over
HTTP, joins over a bare socket, and participants on the air.

Test modules import from here (and from clients.py, audio_helpers.py, daemons.py), never from
one another: tests/test_code_shape.py checks it.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from signaling.app import create_app
from signaling.config import Settings
from signaling.keys import REGISTRY, STORE
from tests.clients import EncodedToneTrack, RoomClient, session_from

ADMIN_TOKEN = "test-admin-token"
OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def wait_for(
    predicate: Callable[[], object], timeout: float = 10.0, step: float = 0.1, what: str = "condition"
) -> float:
    """Poll ``predicate`` every ``step`` seconds until it is true: the seconds that took.
    TimeoutError after ``timeout``."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not predicate():
        if loop.time() - start > timeout:
            raise TimeoutError(f"{what} not met within {timeout} s")
        await asyncio.sleep(step)
    return loop.time() - start


# --- servers in this process --------------------------------------------------------------------


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    """Settings for a test server: loopback only, the test admin token, no demo, no rate on rooms."""
    settings = Settings(
        host="127.0.0.1",
        port=0,
        data_dir=data_dir,
        admin_token=ADMIN_TOKEN,
        media_addresses=["127.0.0.1"],
        demo=False,
        room_create_rate=0,
    )
    for key, value in overrides.items():
        setattr(settings, key, value)
    return settings


async def start_server(settings: Settings) -> TestServer:
    """The whole app on a free loopback port."""
    server = TestServer(create_app(settings), host="127.0.0.1")
    await server.start_server()
    return server


async def stop_server(server: TestServer) -> None:
    """End the server's rooms, then close it: a data dir shared with later servers must not
    bring this test's rooms back at their start."""
    for room_id in list(server.app[REGISTRY].rooms):
        server.app[STORE].end_room(room_id)
    await server.close()


MakeServer = Callable[..., Awaitable[TestServer]]  # conftest's make_server fixture: (**settings)


def url_of(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


# --- HTTP ---------------------------------------------------------------------------------------


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: object) -> tuple[int, object]:
    """The status and the JSON body (None for a 204)."""
    async with http.request(method, url, **kwargs) as resp:  # type: ignore[arg-type]
        return resp.status, (None if resp.status == 204 else await resp.json())


async def create_room(
    http: aiohttp.ClientSession, base_url: str, title: str = "Test show", host_name: str = "Hosty"
) -> dict:
    """A new room (its ``room_id``, ``host_token``, ``room_url`` ...); the server must say 201."""
    body = {"title": title, "host_name": host_name}
    status, room = await call(http, "post", f"{base_url}/api/rooms", json=body)
    assert status == 201, room
    return room  # type: ignore[return-value]


def create_room_sync(base_url: str, title: str = "Test show", host_name: str = "Hosty") -> dict:
    """``create_room`` for code that does not run on an event loop (Playwright's sync API) or
    that talks to a server of another process."""
    req = urllib.request.Request(
        f"{base_url}/api/rooms", method="POST",
        data=json.dumps({"title": title, "host_name": host_name}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 201
        return dict(json.loads(resp.read()))


async def upload(
    http: aiohttp.ClientSession, base_url: str, data: object, filename: str, token: str | None,
    room_id: str | None = None,
) -> tuple[int, dict]:
    """POST /api/tracks with ``data`` (bytes, a file, an async generator) as ``filename`` (for
    ``room_id``, as the page names the host's room)."""
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    params = {"room_id": room_id} if room_id is not None else None
    async with http.post(f"{base_url}/api/tracks", data=form, headers=headers, params=params) as resp:
        return resp.status, await resp.json()


# --- joining over a bare socket -----------------------------------------------------------------


async def join_frames(
    base_url: str,
    room_id: str,
    name: str,
    token: str | None = None,
    local_ip: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[dict, int | None]:
    """Join with a bare socket: the first frame and, if the server closes at once, the close code."""
    params = {"name": name, **({"token": token} if token else {})}
    async with session_from(local_ip) as http:
        ws = await http.ws_connect(f"{base_url}/api/rooms/{room_id}/ws", params=params, headers=headers)
        first = await ws.receive_json(timeout=5)
        code = None
        if first["type"] == "error":
            closing = await ws.receive(timeout=5)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), closing
            code = ws.close_code
        await ws.close()
    return first, code


async def refused_join(base_url: str, room_id: str, name: str, **kwargs: Any) -> tuple[str, int | None]:
    """The error code and the close code of a join that must be refused."""
    frame, code = await join_frames(base_url, room_id, name, **kwargs)
    assert frame["type"] == "error", f"{name} was let in: {frame['type']}"
    return frame["code"], code


async def fresh_welcome(base_url: str, room_id: str) -> dict:
    """What a newcomer sees right now (participants other than the newcomer, chat, queue)."""
    welcome, _ = await join_frames(base_url, room_id, "Observer")
    assert welcome["type"] == "welcome", welcome
    welcome["participants"] = [p for p in welcome["participants"] if p["name"] != "Observer"]
    return welcome


async def roster(base_url: str, room_id: str) -> dict[str, dict]:
    """The room's participants by id, as a newcomer would see them."""
    welcome = await fresh_welcome(base_url, room_id)
    return {p["participant_id"]: p for p in welcome["participants"]}


# --- participants -------------------------------------------------------------------------------


async def on_air(base_url: str, room: dict, freq: float = 1000.0) -> tuple[RoomClient, EncodedToneTrack]:
    """The host, joined with the room's host token and publishing a tone of ``freq``."""
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    assert host.welcome is not None and host.welcome["role"] == "host"
    track = EncodedToneTrack(freq)
    await host.publish(track)
    return host, track


async def host_and(base_url: str, room: dict, *names: str) -> tuple[RoomClient, list[RoomClient]]:
    """The host (not publishing) and a listener for each of ``names``."""
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"]).connect()
    assert host.welcome is not None and host.welcome["role"] == "host"
    others = [await RoomClient(base_url, room["room_id"], name).connect() for name in names]
    return host, others


async def settled(*clients: RoomClient) -> None:
    """Their ``sub`` connections are up (no answer of theirs is still in flight)."""
    for c in clients:
        await wait_for(lambda c=c: c.sub is not None and c.sub.connectionState == "connected")


async def close_all(*clients: RoomClient) -> None:
    """Close every client, even when one of them fails to (the test's result is what counts)."""
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
