"""Listeners come and go; the server gives back what each one used (issue 8, the churn soak).

- one minute of ``python -m loadtest --soak`` against a real ``onair serve``:
  descriptors, threads, tasks and RSS come back within 5 % and RSS does not
  climb with the number of joins (the leak was ~90 KB per join);
- in this process, a departed listener's connection (OpenSSL and SRTP state
  included) is freed by the media worker's sweeper, and nothing is swept while
  nobody leaves;
- the soak's arithmetic: the regression and the verdict, on made-up series.
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import time
import weakref
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer

from benchmarks.run import cpus_for
from benchmarks.server import ROOT, LocalServer, pinned
from loadtest.__main__ import main as loadtest_main
from loadtest.soak_figures import MAX_KB_PER_JOIN, Reading, slope, verdict
from sfu.worker import SWEEP_MIN_CLOSED, SWEEP_QUIET_S, Sweeper
from signaling.keys import REGISTRY, WORKER
from tests.clients import RoomClient
from tests.helpers import wait_for


def soak_command(server: LocalServer, out: Path, minutes: float, cpu: str | None) -> list[str]:
    assert server.proc is not None
    command = [
        sys.executable, "-m", "loadtest", "--soak", str(minutes), "--url", server.url,
        f"--admin-token={server.admin_token}", "--server-pid", str(server.proc.pid),
        "--settle", "5", "--json", str(out), "--quiet",
    ]
    return pinned(command, cpu)


@pytest.mark.timeout(170)
def test_one_minute_of_churn_gives_everything_back(tmp_path: Path) -> None:
    server_cpu, load_cpu = cpus_for(True)
    out = tmp_path / "soak.json"
    with LocalServer(tmp_path / "data", cpu=server_cpu) as server:
        done = subprocess.run(
            soak_command(server, out, 1.0, load_cpu), cwd=ROOT, capture_output=True, text=True, timeout=140
        )
        log = server.log_tail()
    assert out.exists(), done.stderr[-3000:] + log
    summary = json.loads(out.read_text())
    assert done.returncode == 0, (summary["verdict"], done.stderr[-2000:], log)
    start, end = summary["start"], summary["end"]
    # the soak itself did what it says: waves joined, heard music, chatted, went on stage
    assert summary["joins_measured"] >= 200, summary["joins_measured"]
    assert summary["failed"] == 0, summary["failures"]
    assert summary["with_audio"] == summary["joins"]
    assert summary["chats_acked"] == summary["joins"]
    assert summary["stage_changes"].get("ok", 0) >= 2, summary["stage_changes"]
    assert max(s["participants"] for s in summary["samples"]) == 1  # every listener left each time
    # and the server gave everything back
    for name in ("fds", "threads", "tasks"):
        assert abs(end[name] - start[name]) <= max(1, 0.05 * start[name]), (name, start, end)
    assert abs(end["rss_kb"] - start["rss_kb"]) <= 0.05 * start["rss_kb"], (start, end)
    assert summary["kb_per_join"] < MAX_KB_PER_JOIN, summary["kb_per_join"]
    assert summary["server_metrics"]["end"]["onair_gc_sweeps_total"] >= 1


async def test_a_departed_listener_is_freed_by_the_sweeper(
    server: TestServer, base_url: str, room: dict
) -> None:
    worker = server.app[WORKER]
    live = server.app[REGISTRY].get(room["room_id"])
    assert live is not None
    gc.disable()  # from here on only the sweeper collects reference cycles
    try:
        listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
        await wait_for(lambda: any(listener.payloads.values()))  # DTLS and SRTP are up
        peer = live.router.subscribers[listener.participant_id]
        dtls = peer.slots[0].transceiver.sender.transport
        refs = [weakref.ref(peer), weakref.ref(peer.pc), weakref.ref(dtls), weakref.ref(dtls.transport)]
        del peer, dtls
        before = worker.sweeper.sweeps
        await listener.close()
        await wait_for(lambda: listener.participant_id not in live.router.subscribers)
        await wait_for(lambda: all(ref() is None for ref in refs), timeout=10)
        assert worker.sweeper.sweeps > before
        assert worker.sweeper.pending == 0
    finally:
        gc.enable()


async def test_nothing_is_swept_while_nobody_leaves(server: TestServer, base_url: str, room: dict) -> None:
    worker = server.app[WORKER]
    listener = await RoomClient(base_url, room["room_id"], "Lis").connect()
    try:
        await wait_for(lambda: any(listener.payloads.values()))
        deadline = time.monotonic() + SWEEP_QUIET_S + 2.5  # past the quiet time and a check
        while time.monotonic() < deadline:
            assert worker.sweeper.sweeps == 0 and worker.sweeper.pending == 0
            await asyncio.sleep(0.25)
    finally:
        await listener.close()


def test_sweeper_waits_for_enough_departures_or_for_quiet() -> None:
    sweeper = Sweeper()
    now = time.monotonic()
    assert not sweeper.due(live=10, now=now)  # nobody left
    for _ in range(3):
        sweeper.note_closed()
    assert not sweeper.due(live=10, now=sweeper.last_close + 0.1)  # still leaving
    assert sweeper.due(live=10, now=sweeper.last_close + SWEEP_QUIET_S)  # quiet now
    for _ in range(SWEEP_MIN_CLOSED):
        sweeper.note_closed()
    assert sweeper.due(live=10, now=sweeper.last_close)  # enough departures, even mid-churn
    assert not sweeper.due(live=4 * 1000, now=sweeper.last_close)  # a big room waits for a quarter
    freed = sweeper.sweep()
    assert freed >= 0 and sweeper.pending == 0 and sweeper.sweeps == 1
    sweeper.last_s = 0.1  # a slow sweep spaces the next ones: at most 2 % of the time
    for _ in range(SWEEP_MIN_CLOSED):
        sweeper.note_closed()
    assert not sweeper.due(live=10, now=sweeper.last_sweep + 1.0)
    assert sweeper.due(live=10, now=sweeper.last_sweep + 5.0)


def _reading(
    at: float, joins: int, rss_kb: float, fds: int = 20, threads: int = 6, tasks: int = 14
) -> Reading:
    return Reading(
        at_s=at, joins=joins, rss_kb=rss_kb, fds=fds, threads=threads, tasks=tasks, participants=1
    )


def test_slope_is_least_squares() -> None:
    assert slope([0, 1, 2, 3], [1, 3, 5, 7]) == pytest.approx(2.0)
    assert slope([0, 1], [0, 1]) is None  # too few points
    assert slope([5, 5, 5], [1, 2, 3]) is None  # no spread


def test_verdict_passes_a_flat_server() -> None:
    series = [_reading(i, 30 * i, 250_000 + (i % 3) * 500) for i in range(1, 30)]
    judged = verdict(series[0], series[-1], series)
    assert judged["ok"], judged
    assert abs(judged["kb_per_join"]) < 5


def test_verdict_catches_the_90_kb_leak_of_issue_8() -> None:
    series = [_reading(i, 30 * i, 250_000 + 90 * 30 * i) for i in range(1, 30)]
    judged = verdict(series[0], series[-1], series)
    assert not judged["ok"]
    assert judged["kb_per_join"] == pytest.approx(90.0)
    assert any("KB per join" in f for f in judged["failures"])
    assert any(f.startswith("rss_kb") for f in judged["failures"])


def test_verdict_catches_descriptors_threads_and_tasks_left_behind() -> None:
    start = _reading(1, 30, 250_000)
    end = _reading(60, 630, 250_000, fds=23, threads=8, tasks=30)
    judged = verdict(start, end, [start, _reading(30, 330, 250_000), end])
    failures = " ".join(judged["failures"])
    assert not judged["ok"]
    assert "fds" in failures and "threads" in failures and "tasks" in failures
    # one descriptor or thread more is within 5 % of 20 or 6 (rounded up to a whole one)
    close = _reading(60, 630, 250_000, fds=21, threads=7)
    assert verdict(start, close, [start, _reading(30, 330, 250_000), close])["ok"]


def test_verdict_refuses_what_it_could_not_measure() -> None:
    start = Reading(at_s=1, joins=30, rss_kb=250_000, fds=20, threads=6, tasks=None, participants=None)
    judged = verdict(start, start, [start])
    assert not judged["ok"]
    assert "tasks: not measured" in judged["failures"]
    assert any("too few samples" in f for f in judged["failures"])


@pytest.mark.parametrize(
    "argv",
    [["--soak", "0"], ["--soak", "-1"], ["--soak", "1", "--wave", "0"], ["--soak", "1", "--rate", "0"],
     ["--soak", "1", "--warmup-waves", "0"]],
)
def test_the_soak_refuses_nonsense(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert loadtest_main(argv) == 2
    assert "must be positive" in capsys.readouterr().err
