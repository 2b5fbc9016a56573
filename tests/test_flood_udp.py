"""10,000 hostile datagrams from strangers at the server's UDP ports: listeners lose under 0.5 % of
their music and of the host's voice, and the server stays under half a core while it lasts.

The server runs as its own process (its CPU time read from /proc), pinned to one core; the flooder
is another process on the other core, sending from 127.0.0.2 and 127.0.0.3 (addresses no peer
uses); the listeners are real aiortc peers in this process counting packets by sequence number.
The flooder is in tests/flood_helpers.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from benchmarks.server import LocalServer
from tests.clients import EncodedToneTrack, RoomClient
from tests.flood_helpers import Flooder
from tests.helpers import create_room, wait_for

DATAGRAMS = 10_000
FLOOD_S = 2.0
STRANGERS = ("127.0.0.2", "127.0.0.3")
LISTENERS = 3
MUSIC_PER_S = 50


# --- the server's side, seen from /proc --------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def udp_ports(pid: int) -> set[int]:
    """Every local UDP port of the process: its sockets' inodes looked up in /proc/net/udp."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    ports = set()
    with open(f"/proc/{pid}/net/udp") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if cols[9] in inodes:
                ports.add(int(cols[1].split(":")[1], 16))
    return ports


def media_port_and_ufrag(sdp: str) -> tuple[int, str]:
    """The server's host candidate port and ICE username fragment in its offer."""
    port = re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", sdp)
    ufrag = re.search(r"a=ice-ufrag:(\S+)", sdp)
    assert port is not None and ufrag is not None, sdp
    return int(port.group(1)), ufrag.group(1)


# --- listeners ---------------------------------------------------------------------------------


def unwrap(seqs: list[int]) -> list[int]:
    """16-bit sequence numbers as an increasing count (wrap aware)."""
    out: list[int] = []
    for seq in seqs:
        if not out:
            out.append(seq)
            continue
        step = (seq - out[-1]) & 0xFFFF
        out.append(out[-1] + (step if step < 0x8000 else step - 0x10000))
    return out


def loss_of(seqs: list[int]) -> tuple[int, int]:
    """(packets received, packets sent) in a run of sequence numbers: first to last."""
    if not seqs:
        return 0, 1
    run = unwrap(seqs)
    return len(set(run)), max(run) - min(run) + 1


class Window:
    """What each listener received and what the server spent between ``open`` and ``close``."""

    def __init__(self, pid: int, listeners: list[RoomClient]) -> None:
        self.pid = pid
        self.tracks = [(lis, kind, lis.mid_of(kind)) for lis in listeners for kind in ("music", "voice")]

    def marks(self) -> list[int]:
        return [len(lis.seqs[mid]) for lis, _, mid in self.tracks]

    def open(self) -> None:
        self.t0, self.cpu0, self.i0 = time.monotonic(), cpu_seconds(self.pid), self.marks()

    def close(self) -> None:
        self.t1, self.cpu1, self.i1 = time.monotonic(), cpu_seconds(self.pid), self.marks()

    async def settle(self) -> dict:
        """Sum up, counting the packets sent in the window that arrive within 0.3 s after it."""
        await asyncio.sleep(0.3)
        seconds = self.t1 - self.t0
        tracks = []
        for (lis, kind, mid), i0, i1 in zip(self.tracks, self.i0, self.i1, strict=True):
            received, sent = loss_of(lis.seqs[mid][i0:])
            tracks.append({"listener": lis.name, "kind": kind, "received": received, "sent": sent,
                           "loss_pct": 100 * (1 - received / sent), "per_s": (i1 - i0) / seconds})
        return {"seconds": seconds, "cpu_pct": 100 * (self.cpu1 - self.cpu0) / seconds, "tracks": tracks}


@pytest.fixture(scope="module")
def media_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with LocalServer(tmp_path_factory.mktemp("flood-udp"), cpu="0") as server:
        yield server


@pytest.fixture
async def show(media_server: LocalServer) -> AsyncIterator[tuple[RoomClient, list[RoomClient]]]:
    """A host on the air (voice) and three listeners hearing music and voice."""
    async with aiohttp.ClientSession() as http:
        room = await create_room(http, media_server.url, "Flood", "H")
    host = await RoomClient(media_server.url, room["room_id"], "Host", token=room["host_token"]).connect()
    await host.publish(EncodedToneTrack(440.0))
    listeners = [
        await RoomClient(media_server.url, room["room_id"], f"L{n}").connect() for n in range(LISTENERS)
    ]
    for lis in listeners:
        await wait_for(lambda lis=lis: any(t["kind"] == "voice" for t in lis.tracks), timeout=15)
        await wait_for(lambda lis=lis: len(lis.seqs.get(lis.mid_of("music"), [])) > 50, timeout=15)
    yield host, listeners
    await asyncio.gather(*(c.close() for c in [*listeners, host]))
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {room['host_token']}"}
        await http.delete(f"{media_server.url}/api/rooms/{room['room_id']}", headers=headers)


async def run_flood(plan: dict, window: Window) -> dict:
    """The flood, from a process of its own on the other core; ``window`` spans exactly its sending."""
    async with Flooder("udp", json.dumps(plan)) as flooder:
        window.open()
        await flooder.go()
        sent = await flooder.line(30)
        window.close()
        assert sent == b"sent", sent
        return await flooder.result(30)


async def test_hostile_datagrams_from_strangers_neither_cut_listeners_nor_eat_the_server(
    media_server: LocalServer, show: tuple[RoomClient, list[RoomClient]]
) -> None:
    host, listeners = show
    assert media_server.proc is not None
    pid = media_server.proc.pid
    target = listeners[0]
    assert target.sub is not None and target.sub.remoteDescription is not None
    port, ufrag = media_port_and_ufrag(target.sub.remoteDescription.sdp)
    ports = udp_ports(pid)
    assert port in ports and len(ports) >= LISTENERS + 2, ports  # every sub, the host's sub and pub
    others = sorted(ports - {port})
    # half of the flood at one listener's media port, the other half spread over every other port
    targets = [["127.0.0.1", port, len(others)], *(["127.0.0.1", p, 1] for p in others)]
    plan = {"targets": targets, "count": DATAGRAMS, "seconds": FLOOD_S, "sources": STRANGERS,
            "ufrag": ufrag, "seed": 8}

    quiet = Window(pid, listeners)
    quiet.open()
    await asyncio.sleep(FLOOD_S)
    quiet.close()
    calm = await quiet.settle()

    loud = Window(pid, listeners)
    sent = await run_flood(plan, loud)
    stormy = await loud.settle()
    figures = {"flood": sent, "quiet": calm, "during": stormy, "ports": len(ports)}
    print("udp flood:", json.dumps(figures))

    assert sent["sent"] == DATAGRAMS, sent
    assert sent["answered"] == 0, sent  # once connected, nothing of a stranger's reaches ICE
    for lis in [host, *listeners]:
        assert lis.sub is not None and lis.sub.connectionState == "connected", lis.name
    for track in stormy["tracks"]:  # the music, and the host's voice through the flooded pub port
        assert track["loss_pct"] < 0.5, (track, figures)
        assert track["per_s"] >= 0.9 * MUSIC_PER_S, ("the media stalled", track, figures)
    assert stormy["cpu_pct"] < 50, figures
    # and the show goes on afterwards: the listener that took the brunt still hears new music
    mid = target.mid_of("music")
    before = len(target.seqs[mid])
    await asyncio.sleep(1.0)
    assert len(target.seqs[mid]) - before > 0.8 * MUSIC_PER_S

