"""Shared fixtures: a real server in this process, real clients over loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.app import create_app
from signaling.config import Settings
from signaling.keys import REGISTRY, STORE

ADMIN_TOKEN = "test-admin-token"


def make_settings(data_dir: Path, **overrides: object) -> Settings:
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


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session, so the demo library is synthesized once."""
    return tmp_path_factory.mktemp("onair-data")


@pytest.fixture
async def server(shared_data_dir: Path) -> AsyncIterator[TestServer]:
    srv = TestServer(create_app(make_settings(shared_data_dir)), host="127.0.0.1")
    await srv.start_server()
    yield srv
    # The data dir is shared to synthesize the demo music once: end this test's
    # rooms so the next server does not restore them.
    for room_id in list(srv.app[REGISTRY].rooms):
        srv.app[STORE].end_room(room_id)
    await srv.close()


@pytest.fixture
def base_url(server: TestServer) -> str:
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def room(base_url: str, http: aiohttp.ClientSession) -> dict:
    async with http.post(
        f"{base_url}/api/rooms", json={"title": "Test show", "host_name": "Hosty"}
    ) as resp:
        assert resp.status == 201
        return await resp.json()
