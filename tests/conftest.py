"""Shared fixtures: a real server in this process, real clients over loopback (helpers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.daemons import Redis
from tests.helpers import MakeServer, create_room, make_settings, start_server, stop_server, url_of


@pytest.fixture(scope="session")
def shared_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data dir for the session, so the demo library is synthesized once."""
    return tmp_path_factory.mktemp("onair-data")


@pytest.fixture
async def server(shared_data_dir: Path) -> AsyncIterator[TestServer]:
    srv = await start_server(make_settings(shared_data_dir))
    yield srv
    # The data dir is shared to synthesize the demo music once: this test's rooms end with it.
    await stop_server(srv)


@pytest.fixture
async def make_server(shared_data_dir: Path) -> AsyncIterator[MakeServer]:
    """``await make_server(**settings)``: servers of their own settings on the shared data dir,
    all stopped (their rooms ended) at the end of the test."""
    servers: list[TestServer] = []

    async def make(**overrides: object) -> TestServer:
        servers.append(await start_server(make_settings(shared_data_dir, **overrides)))
        return servers[-1]

    yield make
    for srv in servers:
        await stop_server(srv)


@pytest.fixture
def base_url(server: TestServer) -> str:
    return url_of(server)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def room(base_url: str, http: aiohttp.ClientSession) -> dict:
    return await create_room(http, base_url, "Test show", "Hosty")


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Redis]:
    with Redis(tmp_path_factory.mktemp("redis")) as server:
        yield server
