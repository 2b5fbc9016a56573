"""Sync you can see: the host and moderators get ``sync`` every 2 s (D, each stage member's loop and
RTT, the listeners' RTT and loss from RTCP); listeners never do; /metrics exports the same."""

from __future__ import annotations

import re

import aiohttp

from tests.clients import RoomClient
from tests.helpers import OPERATOR, close_all, on_air, wait_for


def latest_sync(client: RoomClient) -> dict:
    return client.messages["sync"][-1]


async def test_the_host_sees_the_clocks_health_and_a_listener_does_not(
    base_url: str, room: dict, http: aiohttp.ClientSession
) -> None:
    host, _ = await on_air(base_url, room)
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    try:
        def measured() -> bool:
            figures = host.messages["sync"] and latest_sync(host)["listeners"]
            return bool(figures) and figures["rtt_ms_p50"] is not None and figures["loss_pct_p50"] is not None

        await wait_for(measured, 20, what="a sync with the listener's RTCP figures")
        sync = latest_sync(host)
        assert sync["listeners"]["count"] == 1
        assert 0 <= sync["listeners"]["rtt_ms_p50"] < 20, sync  # loopback
        assert sync["listeners"]["loss_pct_p95"] == 0, sync
        member = sync["members"][host.participant_id]
        assert member["loop_ms"] > 0 and sync["audience_delay_ms"] >= 0, sync
        assert sync["broadcast_delay_s"] == 0
        assert not listener.messages["sync"], "a listener was sent sync"

        async with http.get(f"{base_url}/metrics", headers=OPERATOR) as resp:
            scrape = await resp.text()
        rtt = re.search(r'^onair_listener_rtt_ms\{quantile="0.5"\} (\S+)$', scrape, re.M)
        assert rtt is not None and float(rtt.group(1)) < 20, scrape[-2000:]
        assert re.search(rf'^onair_audience_delay_ms\{{room="{room["room_id"]}"\}} ', scrape, re.M)
    finally:
        await close_all(host, listener)


async def test_sync_comes_every_two_seconds(base_url: str, room: dict) -> None:
    host, _ = await on_air(base_url, room)
    try:
        await wait_for(lambda: len(host.messages["sync"]) >= 1, 5)
        first = len(host.messages["sync"])
        await wait_for(lambda: len(host.messages["sync"]) >= first + 2, 6, what="two more syncs in 6 s")
    finally:
        await close_all(host)
