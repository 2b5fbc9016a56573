"""The supervisor: N worker processes kept running, stopped together.

Each worker is a command line (``onair serve --worker-id w1 ...``) the
supervisor starts in a session of its own (a Ctrl-C in the terminal reaches
the supervisor alone, which then stops the workers in order) with the
parent-death signal set to SIGKILL (a supervisor killed outright takes its
workers with it). A worker that dies is started again at once, unless it
keeps dying within ``min_uptime_s`` of starting: then each restart waits
twice as long as the last, up to ``max_backoff_s``. SIGTERM or SIGINT to the
supervisor sends SIGTERM to every worker (they drain), waits up to
``grace_s``, SIGKILLs the rest and exits 0; a second signal kills at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
MAX_WORKERS = 1024


@dataclass(frozen=True)
class WorkerSpec:
    """One worker slot: its id, its command line and the environment it adds to the supervisor's."""

    worker_id: str
    argv: Sequence[str]
    env: Mapping[str, str] = field(default_factory=dict)


def resolve_workers(value: str | int) -> int:
    """``auto`` = the CPUs this process may run on (at least 1); else a whole number from 1 up."""
    if value == "auto":
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not on Linux
            return max(1, os.cpu_count() or 1)
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"workers: 'auto' or a whole number, not {value!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise ValueError(f"workers: from 1 to {MAX_WORKERS}, not {count}")
    return count


def reuse_port_works(host: str = "127.0.0.1", sockets: int = 2) -> bool:
    """Whether ``sockets`` listening TCP sockets can share one port with SO_REUSEPORT here."""
    if not hasattr(socket, "SO_REUSEPORT"):
        return False
    opened: list[socket.socket] = []
    try:
        port = 0
        for _ in range(sockets):
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
            opened.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen()
            port = sock.getsockname()[1]
        return True
    except OSError:
        return False
    finally:
        for sock in opened:
            sock.close()


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function that makes the child get SIGKILL when the supervisor dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the supervisor died before prctl took effect
            os._exit(1)

    return preexec


class Supervisor:
    """Keeps one process running per ``WorkerSpec`` until told to stop.

    Each slot owns its process from start to end, the stop included, so a
    worker started at the very moment of a stop is terminated like the others.
    """

    def __init__(self, specs: Sequence[WorkerSpec], *, grace_s: float = 10.0, min_uptime_s: float = 1.0,
                 first_backoff_s: float = 0.5, max_backoff_s: float = 30.0) -> None:
        ids = [spec.worker_id for spec in specs]
        if not specs or len(set(ids)) != len(ids):
            raise ValueError(f"worker ids must be given and distinct: {ids}")
        if any(not spec.argv for spec in specs):
            raise ValueError("every worker needs a command line")
        self.specs = list(specs)
        self.grace_s = grace_s
        self.min_uptime_s = min_uptime_s
        self.first_backoff_s = first_backoff_s
        self.max_backoff_s = max_backoff_s
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.starts: dict[str, list[float]] = {spec.worker_id: [] for spec in specs}  # monotonic times
        self._stopping = asyncio.Event()
        self._deadline = 0.0  # when the grace period of a stop ends (monotonic)
        self._preexec = _die_with_parent()

    def pids(self) -> dict[str, int]:
        """The pid of each running worker."""
        return {wid: proc.pid for wid, proc in self.procs.items() if proc.returncode is None}

    def stop(self) -> None:
        """Begin the graceful stop; a second call kills the workers at once."""
        if self._stopping.is_set():
            log.warning("supervisor: stopped again, killing the workers now")
            self._kill_all()
            return
        self._deadline = time.monotonic() + self.grace_s
        self._stopping.set()

    def main(self) -> int:
        """Run until SIGTERM/SIGINT; the exit status for ``sys.exit``."""
        return asyncio.run(self.run(handle_signals=True))

    async def run(self, *, handle_signals: bool = False) -> int:
        """Keep the workers running until ``stop()`` (or a signal), then stop them all; returns 0."""
        loop = asyncio.get_running_loop()
        if handle_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self._on_signal, sig)
        try:
            await asyncio.gather(*(self._keep(spec) for spec in self.specs))
        finally:
            if handle_signals:
                for sig in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(sig)
            self._kill_all()  # nothing outlives the supervisor, even on an error
        return 0

    def _on_signal(self, sig: signal.Signals) -> None:
        log.info("supervisor: %s, stopping %d workers", sig.name, len(self.pids()))
        self.stop()

    async def _keep(self, spec: WorkerSpec) -> None:
        """One slot: start the worker, wait for it, start it again (after a backoff in a crash loop)."""
        quick_deaths = 0
        while not self._stopping.is_set():
            started = time.monotonic()
            try:
                proc = await self._spawn(spec)
            except OSError as exc:
                log.error("worker %s: cannot start %s: %s", spec.worker_id, spec.argv[0], exc)
                code: int | None = None
            else:
                code = await self._wait_or_stop(proc)
                if self._stopping.is_set():
                    await self._terminate(spec.worker_id, proc)
                    return
            quick_deaths = quick_deaths + 1 if time.monotonic() - started < self.min_uptime_s else 0
            delay = 0.0 if quick_deaths == 0 else min(
                self.max_backoff_s, self.first_backoff_s * 2 ** (quick_deaths - 1))
            log.log(logging.ERROR if quick_deaths else logging.WARNING,
                    "worker %s exited (%s)%s; restarting in %.1f s", spec.worker_id, describe_exit(code),
                    f", {quick_deaths} times in a row within {self.min_uptime_s} s" if quick_deaths else "",
                    delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def _spawn(self, spec: WorkerSpec) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *spec.argv, env={**os.environ, **spec.env, "ONAIR_WORKER_ID": spec.worker_id},
            stdin=asyncio.subprocess.DEVNULL, start_new_session=True, preexec_fn=self._preexec)
        self.procs[spec.worker_id] = proc
        self.starts[spec.worker_id].append(time.monotonic())
        log.info("worker %s started (pid %d)", spec.worker_id, proc.pid)
        return proc

    async def _wait_or_stop(self, proc: asyncio.subprocess.Process) -> int | None:
        """The worker's exit status, or None as soon as the supervisor is stopping."""
        exited = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if exited.done():
            return exited.result()
        exited.cancel()
        return None

    async def _terminate(self, worker_id: str, proc: asyncio.subprocess.Process) -> None:
        """SIGTERM, then SIGKILL once the grace period is over."""
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), max(0.0, self._deadline - time.monotonic()))
        except TimeoutError:
            log.warning("worker %s still running after %.1f s: killing it", worker_id, self.grace_s)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        log.info("worker %s stopped (%s)", worker_id, describe_exit(proc.returncode))

    def _kill_all(self) -> None:
        for proc in self.procs.values():
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()


def describe_exit(code: int | None) -> str:
    """``status 3``, ``SIGKILL`` or ``not started``."""
    if code is None:
        return "not started"
    if code < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-code).name
    return f"status {code}"
