"""The fan-out's own cost against a raw loop, in one process, for the same packets.

``Producer.forward`` over N real consumers (pylibsrtp sessions, UDP sockets to
127.0.0.1) against the plainest loop doing the same header + protect + sendto:
what our per-consumer Python costs on top of the work itself. Receivers are
read between bursts in this process, so wake-ups of other processes do not
enter either figure (``benchmarks.floor`` measures those). Prints JSON.

``python -m benchmarks.fanout --listeners 200 --bursts 300``
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import struct
import sys
import time

from pylibsrtp import Policy, Session

from sfu.aiortc_seams import Wire
from sfu.consumer import Consumer
from sfu.producer import Counters, Producer


def _session() -> Session:
    policy = Policy(
        key=os.urandom(44),
        ssrc_type=Policy.SSRC_ANY_OUTBOUND,
        srtp_profile=Policy.SRTP_PROFILE_AEAD_AES_256_GCM,
    )
    return Session(policy)


def run(listeners: int, bursts: int) -> dict[str, float]:
    receivers = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(listeners)]
    for sock in receivers:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
    senders = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(listeners)]
    sessions = [_session() for _ in range(listeners)]
    addrs = [sock.getsockname() for sock in receivers]
    payload = os.urandom(160)

    def drain() -> None:
        for sock in receivers:
            try:
                while True:
                    sock.recv(2048)
            except BlockingIOError:
                pass

    producer = Producer("music", "bench", Counters())
    for i in range(listeners):
        wire = Wire(sessions[i].protect, sessions[i].protect_rtcp, senders[i].sendto, addrs[i])
        producer.add_consumer(Consumer(0x1000 + i, 111, wire), live=True)
    ours = 0.0
    for n in range(bursts):
        start = time.process_time()
        producer.forward(payload, n * 960, n)
        ours += time.process_time() - start
        drain()

    pack = struct.Struct("!BBHII").pack
    targets = [(0x1000 + i, sessions[i].protect, senders[i].sendto, addrs[i]) for i in range(listeners)]
    raw = 0.0
    for n in range(bursts, 2 * bursts):  # later sequence numbers: SRTP refuses replays
        start = time.process_time()
        for ssrc, protect, sendto, addr in targets:
            sendto(protect(pack(0x80, 111, n, n * 960, ssrc) + payload), addr)
        raw += time.process_time() - start
        drain()
    for sock in receivers + senders:
        sock.close()
    packets = listeners * bursts
    return {
        "listeners": listeners,
        "packets": packets,
        "forward_us_per_packet": round(ours / packets * 1e6, 3),
        "raw_loop_us_per_packet": round(raw / packets * 1e6, 3),
        "ratio": round(ours / raw, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--bursts", type=int, default=300)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.listeners, args.bursts), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
