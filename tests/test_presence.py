"""Presence at scale: past 100 listeners the audience gets an ``audience`` summary at most once a
second instead of one message per join or leave; the stage still gets every event."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from signaling.model.presence import AUDIENCE_THRESHOLD
from tests.clients import RoomClient
from tests.helpers import MakeServer, close_all, create_room, url_of, wait_for

CROWD = 150


def joined_ids(client: RoomClient) -> set[str]:
    """Everyone this client was told joined, one by one or in summaries."""
    ids = {m["participant"]["participant_id"] for m in client.messages["participant_joined"]}
    for summary in client.messages["audience"]:
        ids |= {p["participant_id"] for p in summary["joined"]}
    return ids


async def crowd(base_url: str, room_id: str, count: int) -> list[RoomClient]:
    """``count`` listeners on signaling only (their media is not what this pins down)."""
    clients: list[RoomClient] = []
    for start in range(0, count, 25):
        names = [f"L{n}" for n in range(start, min(count, start + 25))]
        batch = [RoomClient(base_url, room_id, name, media=False) for name in names]
        clients += await asyncio.gather(*(c.connect() for c in batch))
    return clients


@pytest.fixture
async def big_room(make_server: MakeServer, http: aiohttp.ClientSession):  # type: ignore[no-untyped-def]
    server = await make_server(join_rate=0, max_sockets_per_address=0)
    base_url = url_of(server)
    room = await create_room(http, base_url)
    host = RoomClient(base_url, room["room_id"], "Hosty", token=room["host_token"], media=False)
    await host.connect()
    watcher = await RoomClient(base_url, room["room_id"], "Early bird", media=False).connect()
    started = time.monotonic()
    listeners = await crowd(base_url, room["room_id"], CROWD)
    yield base_url, room, host, watcher, listeners, started
    await close_all(host, watcher, *listeners)


async def test_the_stage_hears_every_join_and_the_audience_a_summary(big_room) -> None:  # type: ignore[no-untyped-def]
    _, _, host, watcher, listeners, started = big_room
    everyone = {c.participant_id for c in listeners}
    await wait_for(lambda: everyone <= joined_ids(watcher), what="the early listener knows every newcomer")
    elapsed = time.monotonic() - started

    host_joins = {m["participant"]["participant_id"] for m in host.messages["participant_joined"]}
    assert everyone <= host_joins, "the host must get each join"
    one_by_one = len(watcher.messages["participant_joined"])
    assert one_by_one <= AUDIENCE_THRESHOLD, f"{one_by_one} joins told one by one to a listener"
    summaries = watcher.messages["audience"]
    assert summaries, "no audience summary"
    assert len(summaries) <= elapsed + 2, f"{len(summaries)} summaries in {elapsed:.1f} s"
    await wait_for(lambda: watcher.messages["audience"][-1]["listeners"] == CROWD + 1,
                   what="the last summary counts everyone")


async def test_leaving_listeners_are_summarised_too(big_room) -> None:  # type: ignore[no-untyped-def]
    _, _, host, watcher, listeners, _ = big_room
    await wait_for(lambda: {c.participant_id for c in listeners} <= joined_ids(watcher))
    leaving = listeners[-20:]
    gone = {c.participant_id for c in leaving}
    await close_all(*leaving)

    def told_left(client: RoomClient, summarised: bool) -> set[str]:
        if summarised:
            return {pid for s in client.messages["audience"] for pid in s["left"]}
        return {m["participant_id"] for m in client.messages["participant_left"]}

    await wait_for(lambda: gone <= told_left(host, False), what="the host hears each leave")
    await wait_for(lambda: gone <= told_left(watcher, True), what="the audience hears them in a summary")
    assert not watcher.messages["participant_left"], "a listener got leaves one by one"
    assert watcher.messages["audience"][-1]["listeners"] == CROWD + 1 - 20


async def test_a_newcomer_sees_the_stage_the_hands_and_at_most_a_hundred_listeners(big_room) -> None:  # type: ignore[no-untyped-def]
    base_url, room, host, _, listeners, _ = big_room
    hand = listeners[-1]
    await hand.send({"type": "raise_hand"})
    await wait_for(lambda: any(m["participant"]["participant_id"] == hand.participant_id
                               and m["participant"]["hand_raised"]
                               for m in host.messages["participant_updated"]))
    late = await RoomClient(base_url, room["room_id"], "Latecomer", media=False).connect()
    try:
        assert late.welcome is not None
        shown = {p["participant_id"]: p for p in late.welcome["participants"]}
        listed = [p for p in shown.values() if p["role"] == "listener" and not p["hand_raised"]
                  and p["participant_id"] != late.participant_id]
        assert len(listed) == AUDIENCE_THRESHOLD
        assert host.participant_id in shown, "the stage is listed"
        assert hand.participant_id in shown, "a raised hand is listed"
        assert late.participant_id in shown, "the newcomer is listed"
        assert late.welcome["room"]["listeners"] == CROWD + 2
    finally:
        await close_all(late)


async def test_stage_changes_reach_everyone_and_a_hand_only_the_stage(big_room) -> None:  # type: ignore[no-untyped-def]
    _, _, host, watcher, listeners, _ = big_room
    caller, other = listeners[0], listeners[1]
    await caller.send({"type": "raise_hand"})
    own = caller.messages["participant_updated"]
    await wait_for(lambda: any(m["participant"]["hand_raised"] for m in own), what="the caller's own hand")
    await host.request({"type": "promote", "participant_id": caller.participant_id})
    await wait_for(lambda: any(m["participant"]["participant_id"] == caller.participant_id
                               and m["participant"]["role"] == "speaker"
                               for m in watcher.messages["participant_updated"]),
                   what="the audience sees the caller go on air")
    hands_seen = [m for m in other.messages["participant_updated"] if m["participant"]["hand_raised"]]
    assert not hands_seen, "another listener was told of a listener's hand"
    await host.request({"type": "demote", "participant_id": caller.participant_id})
    await wait_for(lambda: any(m["participant"]["participant_id"] == caller.participant_id
                               and m["participant"]["role"] == "listener"
                               for m in other.messages["participant_updated"]),
                   what="the audience sees the caller leave the stage")
