"""Reactions: six emoji, counted by the server and sent at most twice a second as one message per
window (1,000 reactions in a second from 50 clients reach a listener as at most 2 messages); at
most 5 a second each; refused for bad emoji and chat-muted participants."""

from __future__ import annotations

import asyncio
import time

import aiohttp
from aiohttp.test_utils import TestServer

from signaling.model.reactions import EMOJIS
from tests.clients import RoomClient
from tests.helpers import MakeServer, create_room, url_of


async def test_reactions_are_counted_and_refused_per_participant(base_url: str, room: dict) -> None:
    token = room["host_token"]
    host = await RoomClient(base_url, room["room_id"], "Hosty", token=token, media=False).connect()
    lis = await RoomClient(base_url, room["room_id"], "Lis", media=False).connect()
    muted = await RoomClient(base_url, room["room_id"], "Shh", media=False).connect()
    await host.request({"type": "mute_chat", "participant_id": muted.participant_id, "muted": True})

    for bad in ("👍", "", None, 3, ["🔥"], "🔥🔥"):
        assert (await lis.request({"type": "react", "emoji": bad}))["code"] == "bad_request", bad
    assert (await muted.request({"type": "react", "emoji": "🔥"}))["code"] == "forbidden"

    taps = ["👏", "\u2764", "🔥", "😂", "🎉", "🙌"]  # a bare heart counts as ❤️
    replies = [await lis.request({"type": "react", "emoji": e}) for e in taps]
    assert [r["type"] for r in replies] == ["ack"] * 5 + ["error"]
    assert replies[-1]["code"] == "rate_limited"
    got = await host.next("reactions")
    assert got["counts"] == {"👏": 1, "❤️": 1, "🔥": 1, "😂": 1, "🎉": 1}
    assert (await lis.next("reactions"))["counts"] == got["counts"]  # everyone, the sender included
    await asyncio.gather(host.close(), lis.close(), muted.close())


async def test_a_thousand_reactions_in_a_second_reach_a_listener_as_at_most_two_messages(
    make_server: MakeServer,
) -> None:
    server: TestServer = await make_server(join_rate=0, max_sockets_per_address=0)
    base = url_of(server)
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, base)
    listener = await RoomClient(base, room["room_id"], "Listener", media=False).connect()
    crowd = await asyncio.gather(*(RoomClient(base, room["room_id"], f"Fan {i}", media=False).connect()
                                   for i in range(50)))

    async def burst(client: RoomClient, n: int) -> None:
        for k in range(20):
            await client.send({"type": "react", "emoji": EMOJIS[(n + k) % len(EMOJIS)]})

    started = time.monotonic()
    await asyncio.gather(*(burst(c, n) for n, c in enumerate(crowd)))
    sent_in = time.monotonic() - started
    await asyncio.sleep(1.6)  # every window closed
    messages = listener.messages["reactions"]
    assert sent_in < 1.0, sent_in  # the premise: 1,000 reactions within a second
    assert 1 <= len(messages) <= 2, messages
    counted = sum(sum(m["counts"].values()) for m in messages)
    assert counted == 50 * 5  # each fan's 5-a-second budget: the other 15 refused
    assert set().union(*(m["counts"] for m in messages)) <= set(EMOJIS)
    refused = [e for e in crowd[0].messages["error"] if e["code"] == "rate_limited"]
    assert len(refused) == 15
    await asyncio.gather(listener.close(), *(c.close() for c in crowd))
