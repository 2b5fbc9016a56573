"""The load generator's two ways of counting: clear SRTP headers (the default) and full decryption."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.server import ROOT, LocalServer, loadtest_command
from loadtest.peer import ListenerPeer
from loadtest.stats import Window
from sfu.aiortc_seams import _header_reader


def _reader() -> tuple[Any, list[tuple[int, int, int, int]], list[bytes]]:
    headers: list[tuple[int, int, int, int]] = []
    passed: list[bytes] = []
    reader = _header_reader(lambda data, addr: passed.append(data), lambda *h: headers.append(h))
    return reader, headers, passed


def test_header_reader_counts_rtp_and_passes_everything_else() -> None:
    reader, headers, passed = _reader()
    rtp = struct.pack("!BBHII", 0x80, 111 | 0x80, 65535, 0xFFFFFFFF, 0x1234ABCD) + b"\x00" * 40
    reader(rtp, ("127.0.0.1", 5000))
    assert headers == [(0x1234ABCD, 65535, 0xFFFFFFFF, 40)]
    assert passed == []
    rtcp_sr = struct.pack("!BBH", 0x80, 200, 6) + b"\x00" * 24
    dtls = bytes([22, 0xFE, 0xFD]) + b"\x00" * 20
    stun = bytes([0, 1, 0, 0]) + b"\x21\x12\xa4\x42" + b"\x00" * 12
    short = bytes([0x80, 111, 0, 1])
    for data in (rtcp_sr, dtls, stun, short, b""):
        reader(data, ("127.0.0.1", 5000))
    assert passed == [rtcp_sr, dtls, stun, short, b""]
    assert len(headers) == 1


def test_header_reader_can_drop_rtcp_unread() -> None:
    headers: list[tuple[int, int, int, int]] = []
    passed: list[bytes] = []
    reader = _header_reader(lambda data, addr: passed.append(data), lambda *h: headers.append(h), False)
    rtcp_sr = struct.pack("!BBH", 0x80, 200, 6) + b"\x00" * 24
    dtls = bytes([22, 0xFE, 0xFD]) + b"\x00" * 20
    rtp = struct.pack("!BBHII", 0x80, 111, 7, 960, 42) + b"\x00" * 10
    for data in (rtcp_sr, dtls, rtp):
        reader(data, ("127.0.0.1", 5000))
    assert passed == [dtls]
    assert headers == [(42, 7, 960, 10)]


async def test_a_peer_refuses_an_unknown_mode() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="mode"):
            ListenerPeer("ws://127.0.0.1:1/ws", session, Window(), mode="sniff")  # type: ignore[arg-type]


def test_cli_refuses_an_unknown_mode() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest", "--url", "http://127.0.0.1:1", "--listeners", "1",
         "--seconds", "1", "--mode", "sniff"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "--mode" in done.stderr


@pytest.mark.timeout(240)
def test_both_modes_count_the_same_music(tmp_path: Path) -> None:
    summaries = {}
    with LocalServer(tmp_path / "data") as server:
        for mode in ("header", "decrypt"):
            out = tmp_path / f"{mode}.json"
            done = subprocess.run(
                loadtest_command(server.url, server.admin_token, listeners=3, seconds=3, out=out, mode=mode),
                cwd=ROOT, capture_output=True, text=True, timeout=90,
            )
            assert done.returncode == 0, done.stderr[-2000:] + server.log_tail()
            summaries[mode] = json.loads(out.read_text())
    for mode, summary in summaries.items():
        assert summary["mode"] == mode
        assert summary["joined"] == 3, summary
        assert summary["loss_pct"] is not None and summary["loss_pct"] < 5.0, summary
        assert summary["realtime_pct"] > 90.0, summary
        assert summary["ws_messages_per_peer"] >= 2, summary  # welcome and an offer at least
    header, decrypt = summaries["header"]["packets_received"], summaries["decrypt"]["packets_received"]
    assert abs(header - decrypt) <= 0.1 * decrypt, summaries  # 50 packets/s of music each, 3 s
    # the clear header leaves the SRTP tag in the size: more bytes per packet than the decrypted payload
    per_packet = {m: s["bytes_received"] / s["packets_received"] for m, s in summaries.items()}
    assert per_packet["header"] > per_packet["decrypt"], per_packet
