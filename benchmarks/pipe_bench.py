"""CPU per relayed packet of the RTP pipe between workers, against a bare UDP loop in the same run.

All in one process, over loopback (127.0.0.1 -> 127.0.0.2), ``--packets``
packets per run in batches of 50 (sent, then read, so no socket buffer
overflows), ``time.process_time`` around each half of each batch:

- ``bare``: ``sendto`` of a 12-byte RTP header + payload on a plain socket,
  ``recvfrom`` on another: the least any pipe can cost.
- ``pipe``: send side is ``PipeSink.send`` as a producer's fan-out calls it
  (header, AES-256-GCM seal, the endpoint's asyncio ``sendto``); receive side
  is ``recvfrom`` plus ``PipeEndpoint.receive`` (length and magic checks,
  stream lookup, GCM open, replay window, counters) handing the packet to a
  bound ``Producer`` with 0 consumers.
- ``through_loop``: the same pipe with the receiving endpoint on its own
  socket, woken by the event loop (uvloop when installed): all CPU of both
  sides per packet, against bare send + recv; and what the endpoints' own
  ``timing`` counters (the live metric) say about the same packets.
- ``auth``: the cost of each candidate tag alone, to seal and to open.
- ``drop``: what ``receive`` spends on a datagram it drops (junk, unknown
  stream, bad tag, replay): the price of a flood.

Medians of ``--runs`` runs. Prints JSON.

``python -m benchmarks.pipe_bench [--packets 20000] [--runs 5] [--payload 160]``
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import socket
import statistics
import struct
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sfu.pipe import PipeEndpoint, PipeSink
from sfu.pipe_wire import Sealer, new_key
from sfu.producer import Counters, Producer

try:
    import uvloop
except ImportError:  # optional: not built for every platform
    uvloop = None  # type: ignore[assignment]  # the module or nothing

BATCH = 50
RTP = struct.Struct("!BBHII")


def _udp(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((host, 0))
    return sock


def _halves(packets: int, send: Callable[[int], object], recv: Callable[[], object]) -> tuple[float, float]:
    """CPU µs per packet of ``send(n)`` and of ``recv()``, batch by batch."""
    send_s = recv_s = 0.0
    clock = time.process_time
    for start in range(0, packets, BATCH):
        t0 = clock()
        for n in range(start, start + BATCH):
            send(n)
        t1 = clock()
        for _ in range(BATCH):
            recv()
        send_s += t1 - t0
        recv_s += clock() - t1
    return send_s * 1e6 / packets, recv_s * 1e6 / packets


def bare_run(packets: int, payload: bytes) -> tuple[float, float]:
    a, b = _udp("127.0.0.1"), _udp("127.0.0.2")
    to, pack, sendto, recvfrom = b.getsockname(), RTP.pack, a.sendto, b.recvfrom

    def send(n: int) -> None:
        sendto(pack(0x80, 111, n & 0xFFFF, n * 960 & 0xFFFFFFFF, 0x1234) + payload, to)

    try:
        return _halves(packets, send, lambda: recvfrom(2048))
    finally:
        a.close()
        b.close()


async def pipe_run(packets: int, payload: bytes, key: bytes) -> tuple[float, float]:
    """Send side through a real sink and endpoint; receive side read by hand and fed to B."""
    a, b = PipeEndpoint(key), PipeEndpoint(key)
    await a.start("127.0.0.1", 0)
    reader = _udp("127.0.0.2")
    stream_id = b.new_stream_id()
    b.bind(stream_id, Producer("music", "music", Counters()))
    sink = a.add_sink(Producer("music", "music", Counters()), reader.getsockname(), stream_id)
    send_one, receive, recvfrom, now = sink.send, b.receive, reader.recvfrom, time.monotonic()

    def recv() -> None:
        data, addr = recvfrom(2048)
        receive(data, addr)

    try:
        result = _halves(packets, lambda n: send_one(payload, n * 960, n & 0xFFFF, False, now), recv)
        assert b.counters.received == packets, b.stats()
        return result
    finally:
        reader.close()
        await asyncio.gather(a.close(), b.close())


async def through_loop_run(packets: int, payload: bytes, key: bytes) -> dict[str, float]:
    """Both endpoints on real sockets, B woken by the event loop: CPU of both sides per packet."""
    a, b = PipeEndpoint(key, timing=True), PipeEndpoint(key, timing=True)
    await a.start("127.0.0.1", 0)
    await b.start("127.0.0.2", 0)
    got = [0]
    arrived = asyncio.Event()

    def count(*_packet: Any) -> None:
        got[0] += 1
        if got[0] % BATCH == 0:
            arrived.set()

    stream_id = b.new_stream_id()
    b.bind(stream_id, count)
    sink: PipeSink = a.add_sink(Producer("music", "music", Counters()), b.address, stream_id)
    now = time.monotonic()
    start = time.process_time()
    for first in range(0, packets, BATCH):
        arrived.clear()
        for n in range(first, first + BATCH):
            sink.send(payload, n * 960, n & 0xFFFF, False, now)
        await arrived.wait()
    total_us = (time.process_time() - start) * 1e6 / packets
    stats_a, stats_b = a.stats(), b.stats()
    await asyncio.gather(a.close(), b.close())
    return {"total_us": total_us, "self_timed_tx_us": stats_a["tx_us_per_packet"],
            "self_timed_rx_us": stats_b["rx_us_per_packet"]}


def auth_costs(payload: bytes, rounds: int = 20_000) -> dict[str, dict[str, float]]:
    """µs to seal (sender) and to open (receiver) a 34-byte header + payload, for each candidate."""
    key, header, nonce = new_key(), os.urandom(34), os.urandom(12)
    message = header + payload
    gcm = AESGCM(key)
    sealed = gcm.encrypt(nonce, payload, header)
    tag = hmac.digest(key, message, "sha256")[:16]
    b2_tag = hashlib.blake2s(message, key=key, digest_size=16).digest()
    candidates: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "aes_256_gcm": (lambda: gcm.encrypt(nonce, payload, header),
                        lambda: gcm.decrypt(nonce, sealed, header)),
        "hmac_sha256_16": (lambda: hmac.digest(key, message, "sha256")[:16],
                           lambda: hmac.compare_digest(hmac.digest(key, message, "sha256")[:16], tag)),
        "blake2s_16": (lambda: hashlib.blake2s(message, key=key, digest_size=16).digest(),
                       lambda: hmac.compare_digest(
                           hashlib.blake2s(message, key=key, digest_size=16).digest(), b2_tag)),
    }
    out: dict[str, dict[str, float]] = {}
    for name, sides in candidates.items():
        out[name] = {}
        for side, work in zip(("seal", "open"), sides, strict=True):
            start = time.process_time()
            for _ in range(rounds):
                work()
            out[name][side] = (time.process_time() - start) * 1e6 / rounds
    return out


def drop_costs(payload: bytes, rounds: int = 20_000) -> dict[str, float]:
    """µs of ``PipeEndpoint.receive`` per datagram it drops, by reason: what a flood costs."""
    key = new_key()
    endpoint = PipeEndpoint(key)
    stream_id = endpoint.new_stream_id()
    endpoint.bind(stream_id, Producer("music", "music", Counters()))
    sealer = Sealer(key, sender_id=1)
    first = sealer.seal(0, 127, stream_id, 1, 0, 0, payload)
    kinds = {
        "junk": b"\x80" + os.urandom(len(first) - 1),
        "unknown_stream": sealer.seal(0, 127, stream_id ^ 1, 1, 0, 0, payload),
        "bad_tag": first[:-1] + bytes([first[-1] ^ 1]),
        "replay": first,
    }
    endpoint.receive(first, ("127.0.0.1", 1))
    out = {}
    for name, data in kinds.items():
        start = time.process_time()
        for _ in range(rounds):
            endpoint.receive(data, ("127.0.0.1", 1))
        out[name] = (time.process_time() - start) * 1e6 / rounds
    c = endpoint.counters
    assert c.received == 1 and c.dropped_malformed == c.dropped_unknown == c.dropped_auth == rounds
    return out


async def bench(packets: int, runs: int, payload_bytes: int) -> dict[str, Any]:
    payload, key = os.urandom(payload_bytes), new_key()
    bare, pipe, loop, auth, drops = [], [], [], [], []
    for _ in range(runs):  # interleaved, so a noisy neighbour hits all alike
        bare.append(bare_run(packets, payload))
        pipe.append(await pipe_run(packets, payload, key))
        loop.append(await through_loop_run(packets, payload, key))
        auth.append(auth_costs(payload))
        drops.append(drop_costs(payload))
    med = statistics.median
    bare_send, bare_recv = med(r[0] for r in bare), med(r[1] for r in bare)
    pipe_send, pipe_recv = med(r[0] for r in pipe), med(r[1] for r in pipe)
    loop_total = med(r["total_us"] for r in loop)
    return {
        "packets": packets, "runs": runs, "payload_bytes": payload_bytes, "batch": BATCH,
        "event_loop": "uvloop" if uvloop is not None else "asyncio",
        "bare_us": {"send": bare_send, "recv": bare_recv, "total": bare_send + bare_recv},
        "pipe_us": {"send": pipe_send, "recv": pipe_recv, "total": pipe_send + pipe_recv},
        "ratio": {"send": pipe_send / bare_send, "recv": pipe_recv / bare_recv,
                  "total": (pipe_send + pipe_recv) / (bare_send + bare_recv)},
        "pipe_overhead_us": {"send": pipe_send - bare_send, "recv": pipe_recv - bare_recv},
        "through_loop_us": {"total": loop_total, "ratio_to_bare": loop_total / (bare_send + bare_recv),
                            "self_timed_tx": med(r["self_timed_tx_us"] for r in loop),
                            "self_timed_rx": med(r["self_timed_rx_us"] for r in loop)},
        "auth_us": {name: {side: med(a[name][side] for a in auth) for side in ("seal", "open")}
                    for name in auth[0]},
        "drop_us": {name: med(d[name] for d in drops) for name in drops[0]},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--packets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--payload", type=int, default=160, help="Opus payload bytes (160: 64 kb/s)")
    args = parser.parse_args()
    if args.packets % BATCH:
        parser.error(f"--packets must be a multiple of {BATCH}")
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    print(json.dumps(asyncio.run(bench(args.packets, args.runs, args.payload)), indent=2))


if __name__ == "__main__":
    main()
