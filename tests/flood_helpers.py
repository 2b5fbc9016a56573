"""The flooders of the flood tests, each a process of its own on the other core:
``python -m tests.flood_helpers udp PLAN`` sends hostile datagrams, ``python -m tests.flood_helpers
ws URL ROOM_ID COUNT`` floods one room socket. Both print ``ready``, wait for ``go`` on stdin, and
print their figures as one JSON line; ``Flooder`` runs them from a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import sys
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

import aiohttp
from aioice import stun

from benchmarks.server import pinned

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("empty", "random", "stun_bad_integrity", "dtls_junk", "rtp_unknown_ssrc", "rtcp_unknown_ssrc")


# --- hostile datagrams at the server's UDP ports ------------------------------------------------


def hostile(kind: str, ufrag: str, rng: random.Random) -> bytes:
    """One datagram of ``kind``: what a stranger can send without knowing any key."""
    if kind == "empty":
        return b""
    if kind == "random":
        return rng.randbytes(rng.randint(1, 1200))
    if kind == "stun_bad_integrity":
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        request.attributes["USERNAME"] = f"{ufrag}:{rng.randbytes(4).hex()}"  # the server's real ufrag
        request.attributes["PRIORITY"] = rng.getrandbits(31)
        request.attributes["ICE-CONTROLLING"] = rng.getrandbits(64)
        request.attributes["USE-CANDIDATE"] = None
        request.add_message_integrity(rng.randbytes(16))  # not the server's password
        request.add_fingerprint()
        return bytes(request)
    if kind == "dtls_junk":  # a record header (handshake or application data), then noise
        body = rng.randbytes(rng.randint(0, 600))
        header = bytes([rng.choice((22, 23)), 0xFE, 0xFD]) + rng.randbytes(8) + len(body).to_bytes(2, "big")
        return header + body
    if kind == "rtp_unknown_ssrc":
        header = bytes([0x80, 111]) + rng.randbytes(2) + rng.randbytes(4) + rng.randbytes(4)
        return header + rng.randbytes(rng.randint(20, 200))
    # an RTCP sender or receiver report from an SSRC nobody announced
    return bytes([0x81, rng.choice((200, 201))]) + (7).to_bytes(2, "big") + rng.randbytes(28)


def flood(plan: dict) -> dict:
    """Send ``plan["count"]`` datagrams over ``plan["seconds"]`` (absolute-deadline batches)."""
    rng = random.Random(plan["seed"])
    targets = [(host, port) for host, port, weight in plan["targets"] for _ in range(weight)]
    datagrams = [
        (hostile(KINDS[n % len(KINDS)], plan["ufrag"], rng), targets[n % len(targets)])
        for n in range(plan["count"])
    ]
    rng.shuffle(datagrams)
    socks = []
    for address in plan["sources"]:
        for _ in range(2):
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((address, 0))
            socks.append(sock)
    batches = max(1, int(plan["seconds"] / 0.01))
    per_batch = -(-len(datagrams) // batches)
    sent = errors = 0
    print("ready", flush=True)
    sys.stdin.readline()  # go
    start = time.monotonic()
    for b in range(batches):
        time.sleep(max(0.0, start + b * 0.01 - time.monotonic()))
        for n, (data, target) in enumerate(datagrams[b * per_batch : (b + 1) * per_batch]):
            try:
                socks[n % len(socks)].sendto(data, target)
                sent += 1
            except OSError:
                errors += 1
    elapsed = time.monotonic() - start
    print("sent", flush=True)
    time.sleep(0.3)
    answered = 0  # whatever the server sent back to the strangers (a STUN error answer, say)
    for sock in socks:
        sock.setblocking(False)
        while True:
            try:
                sock.recv(2048)
            except (BlockingIOError, ConnectionRefusedError):
                break
            answered += 1
        sock.close()
    return {"sent": sent, "errors": errors, "elapsed_s": elapsed, "answered": answered}


# --- one room socket sending as fast as it can ---------------------------------------------------


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
        if not ws.closed:
            # Either the server was not limiting (--message-rate 0) and we wait until it got through
            # it all, or every frame fitted in the socket's buffers before the reader saw the close:
            # then the reader ends, and waiting for the answer to "last" would be waiting for nothing.
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(json.dumps({"type": "ping", "t": 0, "id": "last"}))
            answered = asyncio.ensure_future(done.wait())
            await asyncio.wait([answered, reader], timeout=60, return_when=asyncio.FIRST_COMPLETED)
            answered.cancel()
            with contextlib.suppress(ConnectionError, RuntimeError):
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


# --- running a flooder ---------------------------------------------------------------------------


class Flooder:
    """A flooder process pinned to ``cpu``: ``async with Flooder("udp", plan_json) as f``, then
    ``await f.go()``, ``await f.line()`` for what it says meanwhile, ``await f.result()``."""

    def __init__(self, *args: str, cpu: str = "1") -> None:
        self.command = pinned([sys.executable, "-m", "tests.flood_helpers", *args], cpu)
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> Flooder:
        self.proc = await asyncio.create_subprocess_exec(
            *self.command, cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        try:
            ready = await self.line(30)
            assert ready == b"ready", ready
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stop()

    async def go(self) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(b"go\n")
        await self.proc.stdin.drain()

    async def line(self, timeout: float) -> bytes:
        assert self.proc is not None and self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), timeout=timeout)).strip()

    async def result(self, timeout: float) -> dict:
        """The figures it prints last; it must then exit 0."""
        out = await self.line(timeout)
        assert self.proc is not None
        assert await asyncio.wait_for(self.proc.wait(), timeout=10) == 0
        return dict(json.loads(out))

    async def _stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


def main(argv: list[str]) -> None:
    if argv[0] == "udp":
        figures = flood(json.loads(argv[1]))
    elif argv[0] == "ws":
        figures = asyncio.run(flood_socket(argv[1], argv[2], int(argv[3])))
    else:
        raise SystemExit(f"no flooder {argv[0]!r} (udp, ws)")
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
