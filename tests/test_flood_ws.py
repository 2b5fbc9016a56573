"""One socket sending 10,000 frames as fast as it can (valid and hostile): refused `rate_limited`,
then closed with 4429, while everyone else's ping round trip stays within 50 ms of its usual.

The measured flood runs against a server process of its own (pinned to one core), from a flooder
process on the other core; the bystander pinging is a real listener (aiortc) in this process. Run
as a script, this module is the flooder (``main``). The budget's rules are tested on an in-process
server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from benchmarks.server import LocalServer, pinned
from signaling.protocol.flood import MessageBudget, Verdict
from tests.clients import RoomClient
from tests.test_live_show import wait_for

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 10_000
RATE_LIMITED_CLOSE = 4429
PINGERS = 4
AFTERMATH_S = 1.0


# --- the flooder (a process of its own) -------------------------------------------------------


def frame(n: int) -> tuple[str, str | bytes]:
    """Frame ``n`` of the flood: valid messages of every kind and hostile ones, most with an id."""
    kind = n % 10
    ident = f"f{n}"
    if kind == 0:
        return "text", json.dumps({"type": "ping", "t": n, "id": ident})
    if kind == 1:
        return "text", json.dumps({"type": "chat", "text": f"spam {n}", "id": ident})
    if kind == 2:
        return "text", json.dumps({"type": "stats", "rtt_ms": 10, "id": ident})
    if kind == 3:
        return "text", json.dumps({"type": "raise_hand", "id": ident})
    if kind == 4:
        return "text", json.dumps({"type": "teleport", "id": ident})
    if kind == 5:
        return "text", "{not json"
    if kind == 6:
        return "binary", bytes(range(256)) * 4
    if kind == 7:
        return "text", "[" * 5_000 + "]" * 5_000  # parses to RecursionError: costly on purpose
    if kind == 8:
        return "text", json.dumps({"type": "chat", "text": "x" * 20_000, "id": ident})  # too long
    return "ping", b"are you there"  # a WebSocket ping frame


async def flood_socket(url: str, room_id: str, count: int) -> dict:
    """Join, wait for the go on stdin, send ``count`` frames as fast as the socket takes them."""
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{url}/api/rooms/{room_id}/ws", params={"name": "Flood"}, max_msg_size=0)
        assert (await ws.receive_json(timeout=10))["type"] == "welcome"
        replies: Counter[str] = Counter()
        refused: list[int] = []
        done = asyncio.Event()

        async def read() -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    data = json.loads(msg.data)
                    if data.get("ref") == "last":
                        done.set()
                    replies[data["type"] if data["type"] != "error" else f"error:{data['code']}"] += 1
                    if data.get("code") == "rate_limited" and str(data.get("ref", "")).startswith("f"):
                        refused.append(int(data["ref"][1:]))

        reader = asyncio.ensure_future(read())
        frames = [frame(n) for n in range(count)]
        print("ready", flush=True)
        await loop.run_in_executor(None, sys.stdin.readline)
        start = time.monotonic()
        sent = 0
        with contextlib.suppress(ConnectionError, RuntimeError):
            for how, data in frames:
                if ws.closed:
                    break
                if how == "text":
                    await ws.send_str(str(data))
                elif how == "binary":
                    await ws.send_bytes(bytes(data))  # type: ignore[arg-type]
                else:
                    await ws.ping(bytes(data))  # type: ignore[arg-type]
                sent += 1
        sending_ended = time.monotonic()
        if not ws.closed:  # not limited (--message-rate 0): wait until the server got through it all
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(json.dumps({"type": "ping", "t": 0, "id": "last"}))
                await asyncio.wait_for(done.wait(), timeout=60)
                await ws.close()
        await asyncio.wait_for(reader, timeout=20)
        return {
            "start": start,
            "sending_s": sending_ended - start,
            "closed_after_s": time.monotonic() - start,
            "end": time.monotonic(),
            "sent": sent,
            "close_code": ws.close_code,
            "replies": dict(replies),
            "first_refused": min(refused) if refused else None,
        }


def main(argv: list[str]) -> None:
    url, room_id, count = argv[0], argv[1], int(argv[2])
    print(json.dumps(asyncio.run(flood_socket(url, room_id, count))), flush=True)


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
    script = "import sys; from tests.test_flood_ws import main; main(sys.argv[1:])"
    command = pinned([sys.executable, "-c", script, url, room_id, str(FRAMES)], "1")
    proc = await asyncio.create_subprocess_exec(
        *command, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        assert (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).strip() == b"ready"
        started.set()
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
        out = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return json.loads(out)


async def measure_flood(url: str) -> dict:
    """A room with a listener pinging; the flood; the listener's round trips before and during it."""
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/rooms", json={"title": "WS flood", "host_name": "H"}) as resp:
            room = await resp.json()
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
