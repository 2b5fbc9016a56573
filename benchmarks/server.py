"""A local ``onair serve`` subprocess for benchmarks and tests, always stopped at the end."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent


def onair_command() -> list[str]:
    """The ``onair`` console script next to this interpreter, else ``python -m signaling.cli``."""
    script = Path(sys.executable).with_name("onair")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "signaling.cli"]


def pinned(command: list[str], cpu: str | None) -> list[str]:
    """``command`` under ``taskset -c cpu`` when a CPU is given and taskset exists."""
    if cpu is None or shutil.which("taskset") is None:
        return command
    return ["taskset", "-c", cpu, *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadtest_command(
    url: str, admin_token: str, listeners: int, seconds: float, out: Path, rate: float = 20.0,
    mode: str = "header",
) -> list[str]:
    """``python -m loadtest`` against a server, its JSON summary written to ``out``."""
    return [
        sys.executable,
        "-m",
        "loadtest",
        "--url",
        url,
        "--listeners",
        str(listeners),
        "--seconds",
        str(seconds),
        "--rate",
        str(rate),
        f"--admin-token={admin_token}",  # a token may start with "-"
        "--json",
        str(out),
        "--mode",
        mode,
        "--quiet",
    ]


class LocalServer:
    """``with LocalServer(data_dir) as server:`` runs the server until the block ends.

    Loopback only, a random admin token, no demo room (unless ``demo``), no room creation limit.
    The process is stopped (SIGINT, then SIGTERM, then SIGKILL, by its own
    process group id) whatever happens inside the block.
    """

    def __init__(
        self,
        data_dir: Path,
        cpu: str | None = None,
        log_path: Path | None = None,
        start_timeout_s: float = 120.0,
        host: str = "127.0.0.1",
        extra_args: list[str] | None = None,
        demo: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.demo = demo
        self.cpu = cpu
        self.host = host
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.admin_token = secrets.token_urlsafe(24)
        self.log_path = log_path or data_dir / "server.log"
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def command(self) -> list[str]:
        return pinned(
            [
                *onair_command(),
                "serve",
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--media-address",
                self.host,
                f"--admin-token={self.admin_token}",  # a token may start with "-"
                *([] if self.demo else ["--no-demo"]),
                "--room-create-rate",
                "0",
                "--join-rate",
                "0",  # every peer joins from 127.0.0.1
                "--max-sockets-per-address",
                "0",  # ... and holds its socket open
                "--log-level",
                "warning",
                *self.extra_args,
            ],
            self.cpu,
        )

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def start(self) -> None:
        """Start (or start again, on the same port and data dir) and wait until healthy."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:  # the child keeps its own copy
            self.proc = subprocess.Popen(
                self.command, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        try:
            self._wait_healthy()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not healthy after {self.start_timeout_s} s: {self.log_tail()}")

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL, as a crash would: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and anything it started (its own process group)."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGINT, 10.0), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue
