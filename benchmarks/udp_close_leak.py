"""Does the event loop keep what was sent on a UDP transport that closes right after?

``python -m benchmarks.udp_close_leak`` opens two datagram endpoints, sends
three datagrams (or answers them, as aioice answers STUN checks), closes both,
2,000 times, and prints the Python memory still allocated per round, under
uvloop and under plain asyncio. A departed listener's ICE transports close
this way (consent checks in flight), so what is kept here is kept per join.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tracemalloc
from collections.abc import Callable, Coroutine
from typing import Any, cast

import uvloop

Runner = Callable[[Coroutine[Any, Any, float]], float]


class _Echo(asyncio.DatagramProtocol):
    """Answers every datagram with a fresh bytes object to a fresh address tuple (as aioice does)."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if self.answer and self.transport is not None:
            self.transport.sendto(bytes(data) + b"!", (addr[0], addr[1]))


async def _round(wait_s: float, answer: bool) -> None:
    loop = asyncio.get_running_loop()
    rx, _ = await loop.create_datagram_endpoint(lambda: _Echo(answer), local_addr=("127.0.0.1", 0))
    port = rx.get_extra_info("sockname")[1]
    tx, _ = await loop.create_datagram_endpoint(lambda: _Echo(False), local_addr=("127.0.0.1", 0))
    for _ in range(3):
        tx.sendto(bytes(100), ("127.0.0.1", port))
    if wait_s:
        await asyncio.sleep(wait_s)
    rx.close()
    tx.close()
    await asyncio.sleep(0)


async def _measure(rounds: int, wait_s: float, answer: bool) -> float:
    for _ in range(50):  # warm caches and free lists
        await _round(wait_s, answer)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(rounds):
        await _round(wait_s, answer)
    await asyncio.sleep(0.2)
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return kept / rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.udp_close_leak", description=__doc__)
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    loops: dict[str, Runner] = {"uvloop": uvloop.run, "asyncio": asyncio.run}
    cases = {"close at once": (0.0, False), "close after 5 ms": (0.005, False),
             "answered, close after 5 ms": (0.005, True)}
    result = {
        name: {case: round(run(_measure(args.rounds, *how)), 1) for case, how in cases.items()}
        for name, run in loops.items()
    }
    print(json.dumps({"bytes_kept_per_round": result}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
