"""The listen benchmark's pure parts: stall counting, the loopback-only target, merging readers."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest
from aiohttp import web

from benchmarks.listen_bench import merge_readers
from benchmarks.listen_readers import GapTracker, Totals, loopback_target
from benchmarks.server import ROOT


def test_gap_tracker_ignores_the_start_and_keeps_the_worst_gap() -> None:
    gaps = GapTracker(warmup=100)
    gaps.note(0.0, 60)  # headers
    gaps.note(2.5, 60)  # the first audio page comes late: still warming up (60 < 100 bytes before it)
    gaps.note(2.7, 50)
    gaps.note(4.0, 50)  # 1.3 s
    gaps.note(4.5, 50)
    assert gaps.bytes == 270
    assert gaps.worst == pytest.approx(1.3)
    assert gaps.worst_at == 4.0


def test_totals_count_a_stall_only_over_the_limit() -> None:
    totals = Totals(count=3)
    for ends in ([0.0, 0.2, 1.1, 1.3], [0.0, 0.2, 1.3, 1.5], [0.0, 0.2]):
        gaps = GapTracker(warmup=1)
        for t in ends:
            gaps.note(10.0 + t, 10)
        totals.add(gaps, stall_s=1.0, start=10.0)
    result = totals.as_json(seconds=2.0)
    assert result["stalls"] == 1  # the 1.1 s gap; 0.9 s is not one
    assert result["stall_at"] == [(1.3, 1)]
    assert result["worst_gap_s"] == pytest.approx(1.1)
    assert result["least_bytes"] == 20
    assert result["bytes"] == 100


@pytest.mark.parametrize("url", [
    "http://10.0.0.1:8080/r/x/listen.ogg",
    "http://example.com/r/x/listen.ogg",
    "http://localhost:8080/listen.ogg",  # a name could resolve anywhere
    "https://127.0.0.1/listen.ogg",
    "http://[::1]:8080/listen.ogg",
    "ftp://127.0.0.1/x",
])
def test_loopback_target_refuses_anything_off_127(url: str) -> None:
    with pytest.raises(ValueError):
        loopback_target(url)


def test_loopback_target_splits_a_loopback_url() -> None:
    assert loopback_target("http://127.0.0.1:8080/r/ab/listen.ogg?x=1") == (
        "127.0.0.1", 8080, "/r/ab/listen.ogg?x=1")
    assert loopback_target("http://127.1.2.3") == ("127.1.2.3", 80, "/")


def test_merge_readers_adds_counts_and_keeps_the_worst() -> None:
    one = {"n": 1, "bytes": 10, "worst_gap_s": 0.2, "stalls": 0, "refused": 0, "closed": 0,
           "least_bytes": 10, "stall_at": [], "errors": {}}
    many = {"n": 9, "bytes": 50, "worst_gap_s": 1.4, "stalls": 2, "refused": 1, "closed": 1,
            "least_bytes": 3, "stall_at": [[5.0, 2]], "errors": {"ConnectionRefusedError": 1}}
    merged = merge_readers([one, many])
    assert (merged["n"], merged["bytes"], merged["stalls"], merged["refused"]) == (10, 60, 2, 1)
    assert merged["worst_gap_s"] == 1.4 and merged["least_bytes"] == 3


def test_readers_refuse_a_non_loopback_url_and_bad_bounds() -> None:
    for args in (["http://192.0.2.1/x"], ["http://127.0.0.1:1/x", "--count", "0"],
                 ["http://127.0.0.1:1/x", "--seconds", "601"]):
        done = subprocess.run([sys.executable, "-m", "benchmarks.listen_readers", *args], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 2, done.stderr


def test_readers_count_a_refused_connection() -> None:
    with socket.socket() as sock:  # a port nobody listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.listen_readers", f"http://127.0.0.1:{port}/x",
             "--count", "3", "--seconds", "2"],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
    result = json.loads(done.stdout)
    assert result["n"] == 3 and result["refused"] == 3 and result["bytes"] == 0


async def _stream(request: web.Request) -> web.StreamResponse:
    """8 KB, then 100 ms chunks; one pause of 1.4 s after the first second."""
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"h" * 8192)
    for i in range(30):
        await asyncio.sleep(1.4 if i == 10 else 0.1)
        await response.write(b"a" * 1200)
    return response


async def test_readers_see_a_real_stall_on_a_real_stream() -> None:
    app = web.Application()
    app.router.add_get("/listen.ogg", _stream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "benchmarks.listen_readers", f"http://127.0.0.1:{port}/listen.ogg",
            "--count", "4", "--seconds", "3", cwd=ROOT, stdout=asyncio.subprocess.PIPE)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    finally:
        await runner.cleanup()
    result = json.loads(out)
    assert result["refused"] == 0 and result["stalls"] == 4
    assert 1.3 < result["worst_gap_s"] < 2.0
    assert result["least_bytes"] > 8192 + 10 * 1200
