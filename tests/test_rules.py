"""Room rules and the chat word filter."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from signaling.model.wordfilter import WordFilter
from tests.clients import RoomClient
from tests.helpers import make_settings, start_server, stop_server, url_of


def test_listed_words_are_masked_whatever_their_case_or_accents() -> None:
    words = WordFilter(["darn", "heck"])
    assert words.clean("Darn it, what the HÉCK") == "**** it, what the ****"
    assert words.clean("darnedest") == "*********", "suffixes of a listed word are masked too"
    assert words.clean("a sudden heckler") == "a sudden *******"
    assert words.clean("nothing to see") == "nothing to see"
    assert words.clean("straße darn") == "straße ****", "folding that changes lengths keeps the text"


def test_the_operator_file_adds_to_the_default_list(tmp_path: Path) -> None:
    listed = tmp_path / "words.txt"
    listed.write_text("# one per line\nfrobnicate\n\n", encoding="utf-8")
    words = WordFilter.load(listed)
    assert words.clean("frobnicate shit") == "********** ****"


@pytest.fixture
async def ruled_server(shared_data_dir: Path, tmp_path: Path) -> AsyncIterator[TestServer]:
    rules = tmp_path / "rules.txt"
    rules.write_text("Operator rule one.\n# a comment\nOperator rule two.\n", encoding="utf-8")
    words = tmp_path / "words.txt"
    words.write_text("bleep\n", encoding="utf-8")
    settings = make_settings(shared_data_dir, rules_file=rules, word_filter=words)
    srv = await start_server(settings)
    yield srv
    await stop_server(srv)


async def test_rooms_show_the_operators_rules_then_the_hosts_and_chat_is_filtered(
    ruled_server: TestServer,
) -> None:
    base = url_of(ruled_server)
    async with aiohttp.ClientSession() as http:
        body = {"title": "T", "host_name": "H", "rules": ["Keep it about music."]}
        async with http.post(f"{base}/api/rooms", json=body) as resp:
            room = await resp.json()
        async with http.post(f"{base}/api/rooms", json={**body, "rules": "not a list"}) as resp:
            assert resp.status == 400
    listener = await RoomClient(base, room["room_id"], "Lis").connect()
    assert listener.welcome["rules"] == ["Operator rule one.", "Operator rule two.", "Keep it about music."]
    await listener.request({"type": "chat", "text": "what a BLEEPING song"})
    echoed = await listener.next("chat")
    assert echoed["message"]["text"] == "what a ******** song"
    await listener.close()
