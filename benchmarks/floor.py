"""The floor of the per-packet cost: header, SRTP protect and ``sendto`` in a plain loop.

What the SFU's fan-out must do for every listener and every packet, with
nothing else around it: build the 12-byte RTP header with ``struct``, protect
it with that listener's own pylibsrtp session (random key), send it on a UDP
socket to 127.0.0.1. Prints JSON: CPU microseconds per packet
(``time.process_time``), measured two ways:

- ``paced`` (the floor the server is compared with): the same packets as the
  server sends them: one burst to every listener every 20 ms, each listener a
  socket of its own in a receiving process that waits in its event loop on
  another CPU, as the load-test peers do. On loopback the kernel delivers the
  datagram and wakes the receiver inside the sender's ``sendto``, so that cost
  belongs to the work and is counted on both sides.
- ``tight``: one socket drained by a busy child, packets back to back, caches
  hot. A lower bound no server pays; kept for reference.

``python -m benchmarks.floor --listeners 200 --packets 500``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import socket
import struct
import sys
import time
from typing import Any

from pylibsrtp import Policy, Session

RTP_HEADER = struct.Struct("!BBHII")
PAYLOAD_TYPE = 111
FRAME_SAMPLES = 960  # 20 ms at 48 kHz
PROFILES = {
    # aiortc prefers AEAD_AES_256_GCM (the profile two aiortc ends negotiate)
    "aead_aes_256_gcm": (Policy.SRTP_PROFILE_AEAD_AES_256_GCM, 32 + 12),
    "aead_aes_128_gcm": (Policy.SRTP_PROFILE_AEAD_AES_128_GCM, 16 + 12),
    "aes128_cm_sha1_80": (Policy.SRTP_PROFILE_AES128_CM_SHA1_80, 16 + 14),
}


def _session(profile: str, ssrc: int) -> Session:
    srtp_profile, key_length = PROFILES[profile]
    policy = Policy(key=os.urandom(key_length), ssrc_type=Policy.SSRC_ANY_OUTBOUND, srtp_profile=srtp_profile)
    return Session(policy=policy)


def _drain(sock: socket.socket, stop: Any, count: Any) -> None:
    """Child process: read and discard until told to stop and the socket is idle."""
    sock.settimeout(0.2)
    received = 0
    buf = bytearray(2048)
    while True:
        try:
            sock.recv_into(buf)
            received += 1
        except TimeoutError:
            if stop.is_set():
                break
    count.value = received


def _loop(listeners: int, packets: int, payload: bytes, profile: str, send: Any | None) -> tuple[float, int]:
    """The measured loop: for each packet, for each listener. Returns (CPU s, packets)."""
    ssrcs = [0x10000 + i for i in range(listeners)]
    sessions = [_session(profile, ssrc).protect for ssrc in ssrcs]
    pack = RTP_HEADER.pack
    targets = list(zip(ssrcs, sessions, strict=True))
    start = time.process_time()
    for n in range(packets):
        seq = n & 0xFFFF
        ts = (n * FRAME_SAMPLES) & 0xFFFFFFFF
        for ssrc, protect in targets:
            data = protect(pack(0x80, PAYLOAD_TYPE, seq, ts, ssrc) + payload)
            if send is not None:
                send(data)
    return time.process_time() - start, listeners * packets


def _receive(count: int, addrs: Any, stop: Any, cpu: int | None) -> None:
    """Child process: ``count`` sockets read by an event loop until told to stop."""

    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        endpoints = [
            await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0)) for _ in range(count)
        ]
        addrs.extend([t.get_extra_info("sockname") for t, _ in endpoints])
        while not stop.is_set():
            await asyncio.sleep(0.05)
        for transport, _ in endpoints:
            transport.close()

    try:
        import uvloop  # noqa: PLC0415  (optional: not built for every platform)

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())


def run_paced(listeners: int, ticks: int, payload: bytes, profile: str, receiver_cpu: int | None) -> float:
    """CPU us per packet of paced bursts to ``listeners`` sockets with live receivers."""
    ctx = mp.get_context("fork")
    manager = ctx.Manager()
    addrs, stop = manager.list(), manager.Event()
    receiver = ctx.Process(target=_receive, args=(listeners, addrs, stop, receiver_cpu), daemon=True)
    receiver.start()
    deadline = time.monotonic() + 30
    while len(addrs) < listeners and time.monotonic() < deadline:
        time.sleep(0.05)
    targets = [
        (
            0x10000 + i,
            _session(profile, 0x10000 + i).protect,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM),
            a,
        )
        for i, a in enumerate(list(addrs))
    ]
    pack = RTP_HEADER.pack
    try:
        start_wall = time.monotonic()
        cpu = 0.0
        for n in range(ticks):
            due = start_wall + n * 0.02
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            t0 = time.process_time()
            seq, ts = n & 0xFFFF, (n * FRAME_SAMPLES) & 0xFFFFFFFF
            for ssrc, protect, sock, addr in targets:
                sock.sendto(protect(pack(0x80, PAYLOAD_TYPE, seq, ts, ssrc) + payload), addr)
            cpu += time.process_time() - t0
    finally:
        stop.set()
        receiver.join(timeout=5)
        for _, _, sock, _ in targets:
            sock.close()
        manager.shutdown()
    return cpu / (ticks * len(targets)) * 1e6


def run_floor(
    listeners: int = 200,
    packets: int = 500,
    payload_bytes: int = 160,
    profile: str = "aead_aes_256_gcm",
    drain: bool = True,
    receiver_cpu: int | None = None,
) -> dict[str, Any]:
    """Measure the floor; returns the JSON-able result."""
    payload = os.urandom(payload_bytes)
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    rx.bind(("127.0.0.1", 0))
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    addr = rx.getsockname()
    ctx = mp.get_context("fork")
    stop, count = ctx.Event(), ctx.Value("q", 0)
    drainer = ctx.Process(target=_drain, args=(rx, stop, count), daemon=True) if drain else None
    if drainer is not None:
        drainer.start()
    try:
        wall = time.perf_counter()
        cpu_send, sent = _loop(listeners, packets, payload, profile, lambda d: tx.sendto(d, addr))
        wall = time.perf_counter() - wall
        cpu_protect, _ = _loop(listeners, packets, payload, profile, None)
    finally:
        stop.set()
        if drainer is not None:
            drainer.join(timeout=5)
        tx.close()
        rx.close()
    paced = run_paced(listeners, packets, payload, profile, receiver_cpu)
    return {
        "cpu_us_per_packet": round(paced, 3),
        "cpu_us_per_packet_tight": round(cpu_send / sent * 1e6, 3),
        "listeners": listeners,
        "packets_per_listener": packets,
        "packets": sent,
        "payload_bytes": payload_bytes,
        "profile": profile,
        "cpu_us_per_packet_protect_only": round(cpu_protect / sent * 1e6, 3),
        "wall_s": round(wall, 3),
        "received": count.value if drain else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--packets", type=int, default=500, help="packets per listener")
    parser.add_argument("--payload-bytes", type=int, default=160)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="aead_aes_256_gcm")
    parser.add_argument("--no-drain", action="store_true", help="do not read the socket")
    parser.add_argument(
        "--receiver-cpu", type=int, default=None, help="pin the paced run's receiving process to this CPU"
    )
    args = parser.parse_args(argv)
    result = run_floor(
        args.listeners,
        args.packets,
        args.payload_bytes,
        args.profile,
        drain=not args.no_drain,
        receiver_cpu=args.receiver_cpu,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
