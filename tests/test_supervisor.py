"""The supervisor with real processes: two aiohttp workers on one port (SO_REUSEPORT), restarts, stops.

Every process a test starts is killed by a fixture's finalizer, by pid, even
when the test fails; a test never waits longer than a few seconds for anything.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from signaling.cluster import Supervisor, WorkerSpec, resolve_workers, reuse_port_works
from tests.daemons import free_port

ROOT = Path(__file__).resolve().parent.parent

PID_APP = """
import asyncio, os, signal, sys
from aiohttp import web

async def pid(request):
    return web.Response(text=str(os.getpid()))

async def main():
    port, ignore_term = int(sys.argv[1]), sys.argv[2] == "1"
    if ignore_term:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    app = web.Application()
    app.router.add_get("/", pid)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, reuse_port=True).start()
    await asyncio.Event().wait()

asyncio.run(main())
"""

SUPERVISOR = """
import logging, sys
from signaling.cluster import Supervisor, WorkerSpec

logging.basicConfig(level=logging.INFO)
app, port, ignore_term, grace = sys.argv[1:5]
specs = [WorkerSpec(f"w{i}", [sys.executable, app, port, ignore_term]) for i in (1, 2)]
sys.exit(Supervisor(specs, grace_s=float(grace)).main())
"""


def process_state(pid: int) -> tuple[str, int] | None:
    """(state letter, parent pid) from /proc, or None if there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def running(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    state = process_state(pid)
    return state is not None and state[0] != "Z"


def children_of(parent: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            state = process_state(int(entry.name))
            if state is not None and state[1] == parent and state[0] != "Z":
                found.add(int(entry.name))
    return found


class SupervisorProcess:
    """``Supervisor.main()`` in a child process running two pid-answering aiohttp workers on one port."""

    def __init__(self, workdir: Path, ignore_term: bool = False, grace_s: float = 5.0) -> None:
        self.port = free_port()
        app = workdir / "pid_app.py"
        app.write_text(PID_APP)
        self.log = workdir / "supervisor.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", SUPERVISOR, str(app), str(self.port), "1" if ignore_term else "0",
                 str(grace_s)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        self.seen: set[int] = set()  # every worker pid that ever answered

    def ask(self) -> int:
        """The pid of the worker that answers one request on a fresh connection."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=2) as answer:
            pid = int(answer.read())
        self.seen.add(pid)
        return pid

    def pids_answering(self, count: int, timeout: float, exclude: frozenset[int] = frozenset()) -> set[int]:
        """Ask until ``count`` distinct pids not in ``exclude`` answered; fail after ``timeout``."""
        found: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(found) < count:
            assert time.monotonic() < deadline, f"only {found} answered in {timeout} s: {self.log_text()}"
            try:
                pid = self.ask()
            except OSError:
                time.sleep(0.05)
                continue
            if pid not in exclude:
                found.add(pid)
        return found

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def cleanup(self) -> None:
        leftovers = children_of(self.proc.pid) | self.seen
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=5)
        for pid in leftovers:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def start_supervisor(tmp_path: Path) -> Iterator[Callable[..., SupervisorProcess]]:
    started: list[SupervisorProcess] = []

    def start(**options: object) -> SupervisorProcess:
        started.append(SupervisorProcess(tmp_path, **options))  # type: ignore[arg-type]
        return started[-1]

    yield start
    for supervisor in started:
        supervisor.cleanup()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> float:
    start = time.monotonic()
    while not check():
        assert time.monotonic() - start < timeout, f"not within {timeout} s: {what}"
        time.sleep(0.05)
    return time.monotonic() - start


# ---- one port, two processes ---------------------------------------------------------------------


def test_two_workers_answer_on_one_port(start_supervisor: Callable[..., SupervisorProcess]) -> None:
    supervisor = start_supervisor()
    supervisor.pids_answering(2, timeout=20)
    answers = [supervisor.ask() for _ in range(50)]
    assert len(set(answers)) == 2, answers
    assert set(answers) == children_of(supervisor.proc.pid)
    assert min(answers.count(pid) for pid in set(answers)) >= 5  # the kernel spreads connections


def test_a_killed_worker_is_restarted_and_answers_within_5_s(
        start_supervisor: Callable[..., SupervisorProcess]) -> None:
    supervisor = start_supervisor()
    first = supervisor.pids_answering(2, timeout=20)
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    killed = time.monotonic()
    (newcomer,) = supervisor.pids_answering(1, timeout=5, exclude=frozenset(first))
    assert time.monotonic() - killed < 5
    wait_until(lambda: process_state(victim) is None, 2, "the killed worker reaped")
    assert children_of(supervisor.proc.pid) == (first - {victim}) | {newcomer}
    assert "SIGKILL" in supervisor.log_text()


def test_sigterm_to_the_supervisor_stops_every_worker(
        start_supervisor: Callable[..., SupervisorProcess]) -> None:
    supervisor = start_supervisor()
    workers = supervisor.pids_answering(2, timeout=20)
    supervisor.proc.send_signal(signal.SIGTERM)
    assert supervisor.proc.wait(timeout=10) == 0
    assert not any(running(pid) for pid in workers)
    assert process_state(supervisor.proc.pid) is None


def test_workers_that_ignore_sigterm_are_killed_after_the_grace(
        start_supervisor: Callable[..., SupervisorProcess]) -> None:
    supervisor = start_supervisor(ignore_term=True, grace_s=1.0)
    workers = supervisor.pids_answering(2, timeout=20)
    supervisor.proc.send_signal(signal.SIGTERM)
    started = time.monotonic()
    assert supervisor.proc.wait(timeout=10) == 0
    took = time.monotonic() - started
    assert 0.9 < took < 5, took
    assert not any(running(pid) for pid in workers)
    assert "killing it" in supervisor.log_text()


def test_a_supervisor_killed_outright_takes_its_workers_along(
        start_supervisor: Callable[..., SupervisorProcess]) -> None:
    supervisor = start_supervisor()
    workers = supervisor.pids_answering(2, timeout=20)
    supervisor.proc.kill()
    supervisor.proc.wait(timeout=5)
    wait_until(lambda: not any(running(pid) for pid in workers), 3, "workers die with the supervisor")


# ---- in this process: restarts, backoff, stop ----------------------------------------------------


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    made: list[Supervisor] = []
    yield made
    for supervisor in made:
        for pid in supervisor.pids().values():
            if running(pid):
                os.kill(pid, signal.SIGKILL)


async def test_a_crash_loop_backs_off_and_a_long_run_restarts_at_once(
        supervisors: list[Supervisor], caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor([
        WorkerSpec("crash", [sys.executable, "-c", "import sys; sys.exit(3)"]),
        WorkerSpec("steady", [sys.executable, "-c", "import time; time.sleep(0.6)"]),
        WorkerSpec("missing", ["/nonexistent/onair-worker"]),
    ], min_uptime_s=0.5, first_backoff_s=0.2, max_backoff_s=5.0, grace_s=2.0)
    supervisors.append(supervisor)
    with caplog.at_level(logging.INFO, logger="signaling.cluster.supervisor"):
        task = asyncio.get_running_loop().create_task(supervisor.run())
        await asyncio.sleep(3.5)
        supervisor.stop()
        assert await asyncio.wait_for(task, 5) == 0
    crash = supervisor.starts["crash"]
    gaps = [later - earlier for earlier, later in zip(crash, crash[1:], strict=False)]
    # 0.2, 0.4, 0.8, 1.6 s of backoff (plus start-up): a handful of starts, not a busy loop
    assert 3 <= len(crash) <= 6, gaps
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps
    steady = supervisor.starts["steady"]
    assert len(steady) >= 3  # lived past min_uptime: restarted without a wait
    assert all(later - earlier < 1.2 for earlier, later in zip(steady, steady[1:], strict=False))
    assert supervisor.starts["missing"] == []
    messages = [record.getMessage() for record in caplog.records]
    assert any("cannot start /nonexistent/onair-worker" in m for m in messages)
    assert any("worker crash exited (status 3), 3 times in a row" in m for m in messages)
    assert not supervisor.pids()


async def test_a_second_stop_kills_at_once(supervisors: list[Supervisor]) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    supervisor = Supervisor([WorkerSpec("w1", [sys.executable, "-c", stubborn])], grace_s=30.0)
    supervisors.append(supervisor)
    task = asyncio.get_running_loop().create_task(supervisor.run())
    while not supervisor.pids():
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # let it install its SIGTERM handler
    pid = supervisor.pids()["w1"]
    supervisor.stop()
    await asyncio.sleep(0.3)
    assert running(pid)  # ignoring SIGTERM, within the 30 s grace
    supervisor.stop()
    await asyncio.wait_for(task, 3)
    assert not running(pid)


def test_worker_counts_and_bad_supervisor_specs() -> None:
    assert resolve_workers("auto") == len(os.sched_getaffinity(0)) >= 1
    assert resolve_workers("3") == resolve_workers(3) == 3
    for bad in ("0", "-2", "x", "", "1.5", "100000", None):
        with pytest.raises(ValueError):
            resolve_workers(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Supervisor([])
    with pytest.raises(ValueError):
        Supervisor([WorkerSpec("w1", ["a"]), WorkerSpec("w1", ["b"])])
    with pytest.raises(ValueError):
        Supervisor([WorkerSpec("w1", [])])
    assert reuse_port_works("127.0.0.1", sockets=4)
