"""One socket sending 10,000 frames as fast as it can (valid and hostile): refused `rate_limited`,
then closed with 4429, while everyone else's ping round trip stays within 50 ms of its usual.

The measured flood runs against a server process of its own (pinned to one core), from a flooder
process on the other core (tests/flood_helpers.py); the bystander pinging is a real listener
(aiortc) in this process. The budget's rules are tested on an in-process server.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator

import aiohttp
import pytest

from benchmarks.server import LocalServer
from signaling.protocol.flood import MessageBudget, Verdict
from tests.clients import RoomClient
from tests.flood_helpers import Flooder
from tests.helpers import create_room, wait_for

FRAMES = 10_000
RATE_LIMITED_CLOSE = 4429
PINGERS = 4
AFTERMATH_S = 1.0


# --- measuring -----------------------------------------------------------------------------------


def quantiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return {"n": len(ordered), "median_ms": statistics.median(ordered), "p95_ms": p95}


async def ping_all_along(client: RoomClient, stop: asyncio.Event, out: list[tuple[float, float]]) -> None:
    """Ping every 80 ms (within anyone's budget) until ``stop``; (sent at, round trip ms) for each."""
    while not stop.is_set():
        sent_at = time.monotonic()
        reply = await client.request({"type": "ping", "t": sent_at})
        assert reply["type"] == "ack", reply
        out.append((sent_at, 1000 * (time.monotonic() - sent_at)))
        await asyncio.sleep(max(0.0, sent_at + 0.08 - time.monotonic()))


async def run_flooder(url: str, room_id: str, started: asyncio.Event) -> dict:
    async with Flooder("ws", url, room_id, str(FRAMES)) as flooder:
        started.set()
        await flooder.go()
        return await flooder.result(60)


async def measure_flood(url: str) -> dict:
    """A room with a listener pinging; the flood; the listener's round trips before and during it."""
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, url, "WS flood", "H")
    bystanders = [await RoomClient(url, room["room_id"], f"Bystander{n}").connect() for n in range(PINGERS)]
    bystander = bystanders[0]
    await wait_for(lambda: len(bystander.seqs.get("0", [])) > 50, timeout=15)  # music flows
    samples: list[tuple[float, float]] = []
    stop = asyncio.Event()
    pingers = []
    for client in bystanders:  # one ping every 20 ms in all
        pingers.append(asyncio.ensure_future(ping_all_along(client, stop, samples)))
        await asyncio.sleep(0.08 / PINGERS)
    await asyncio.sleep(3.0)  # a little more than the 2 s of baseline, warm
    started = asyncio.Event()
    flood = asyncio.ensure_future(run_flooder(url, room["room_id"], started))
    await started.wait()
    ready_at = time.monotonic()
    result = await flood
    await asyncio.sleep(AFTERMATH_S)
    stop.set()
    await asyncio.gather(*pingers)
    before = [rtt for at, rtt in samples if ready_at - 2.0 <= at < ready_at]
    # the server may still be reading what the flooder had in flight after its close
    during = [rtt for at, rtt in samples if result["start"] <= at <= result["end"] + AFTERMATH_S]
    music = bystander.mid_of("music")
    heard = len(bystander.seqs[music])
    await asyncio.sleep(1.0)
    figures = {
        "flood": result,
        "before": quantiles(before),
        "during": quantiles(during),
        "bystanders_connected": all(client.close_code is None for client in bystanders),
        "music_per_s_after": len(bystander.seqs[music]) - heard,
    }
    await asyncio.gather(*(client.close() for client in bystanders))
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {room['host_token']}"}
        await http.delete(f"{url}/api/rooms/{room['room_id']}", headers=headers)
    return figures


@pytest.fixture(scope="module")
def signaling_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(tmp_path_factory.mktemp("flood-ws"), cpu="0") as server:
        yield server


async def test_a_flooding_socket_is_refused_then_closed_and_nobody_else_waits(
    signaling_server: LocalServer,
) -> None:
    figures = await measure_flood(signaling_server.url)
    print("ws flood:", json.dumps(figures))
    flood = figures["flood"]
    assert flood["close_code"] == RATE_LIMITED_CLOSE, figures
    assert flood["replies"].get("error:rate_limited", 0) >= 1, figures
    # the default budget: a burst of 50, then refusals, then the close; never all 10,000 read
    assert flood["first_refused"] is not None and 45 <= flood["first_refused"] <= 60, figures
    handled = flood["replies"].get("ack", 0) + sum(
        n for key, n in flood["replies"].items() if key.startswith("error:") and key != "error:rate_limited"
    )
    assert handled <= 55, figures
    assert flood["closed_after_s"] < 5.0, figures
    assert figures["during"]["n"] >= 30, figures
    assert figures["during"]["median_ms"] - figures["before"]["median_ms"] < 50, figures
    assert figures["during"]["p95_ms"] - figures["before"]["p95_ms"] < 50, figures
    assert figures["bystanders_connected"] and figures["music_per_s_after"] > 40, figures


# --- the budget's rules ----------------------------------------------------------------------------


def test_the_budget_allows_a_burst_then_the_rate_refuses_then_closes() -> None:
    budget = MessageBudget(rate=20, burst=50)
    now = 1000.0
    budget._at = now
    assert all(budget.take(now) is Verdict.HANDLE for _ in range(50))
    assert budget.take(now) is Verdict.REFUSE
    # at the rate, refused frames are paid back: 1 s later 20 more are handled
    verdicts = [budget.take(now + 1.0) for _ in range(20)]
    assert verdicts.count(Verdict.HANDLE) == 19 and verdicts[-1] is Verdict.REFUSE
    # a client that ignores refusals is closed once its debt reaches another burst
    verdicts = [budget.take(now + 1.0) for _ in range(60)]
    assert Verdict.CLOSE in verdicts and verdicts.index(Verdict.CLOSE) < 50
    # a steady 20 a second after a quiet spell is never refused
    later = now + 100.0
    assert all(budget.take(later + n / 20) is Verdict.HANDLE for n in range(400))
    assert MessageBudget(rate=0, burst=1).take() is Verdict.HANDLE  # 0: no limit


async def test_every_message_type_counts_and_the_socket_closes_with_4429(base_url: str, room: dict) -> None:
    """Pings alone, the cheapest message there is, are enough to be limited."""
    flooder = await RoomClient(base_url, room["room_id"], "Pinger").connect()
    other = await RoomClient(base_url, room["room_id"], "Other").connect()
    for n in range(150):
        await flooder.send({"type": "ping", "t": n, "id": f"p{n}"})
    await wait_for(lambda: flooder.close_code is not None)
    assert flooder.close_code == RATE_LIMITED_CLOSE
    refused = [m for m in flooder.messages["error"] if m["code"] == "rate_limited"]
    # the 51st is refused, with its ref (a frame or two more if the server was slow to read them)
    assert refused and refused[0].get("ref") in ("p50", "p51", "p52"), refused[:2]
    assert 50 <= len(flooder.messages["ack"]) <= 52
    assert (await other.request({"type": "ping", "t": 1}))["type"] == "ack"
    await asyncio.gather(flooder.close(), other.close())


async def test_a_client_at_the_pages_pace_is_never_limited(base_url: str, room: dict) -> None:
    """What the page sends at join and then (pings, stats, chat, hands) several times over."""
    client = await RoomClient(base_url, room["room_id"], "Busy").connect()
    for n in range(30):  # the join: candidates, the first pings, a burst of clicks
        kind = ("ping", "candidate", "raise_hand")[n % 3]
        message = {"type": kind, "t": n} if kind == "ping" else {"type": kind, "pc": "sub", "candidate": None}
        assert (await client.request(message))["type"] in ("ack", "error")
    for n in range(40):  # 10 a second for 4 s: four times what the page sends
        assert (await client.request({"type": "ping", "t": n}))["type"] == "ack"
        await asyncio.sleep(0.1)
    errors = [m["code"] for m in client.messages["error"]]
    assert "rate_limited" not in errors and client.close_code is None
    await client.close()
