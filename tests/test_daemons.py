"""tests/daemons.py itself: each server answers when start() returns, and nothing outlives stop()."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.daemons import Coturn, Daemon, Nginx, Redis, redis_answers, stun_answers, tcp_answers


def gone(pid: int) -> bool:
    """No process with this pid is left (a zombie of ours counts as gone: it was reaped by wait)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:  # stat: state ppid pgrp ...
                members.append(int(entry.name))
    return members


def test_redis_answers_ping_and_stops_with_its_group(tmp_path: Path) -> None:
    with Redis(tmp_path) as redis:
        assert redis.daemon.proc is not None
        pid = redis.daemon.proc.pid
        assert redis_answers("127.0.0.1", redis.port)()
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
    assert gone(pid) and group_members(pid) == []
    assert not redis_answers("127.0.0.1", redis.port)()
    assert not list(tmp_path.glob("*.rdb")), "redis saved a dump: --save '' was not applied"


def test_coturn_answers_stun_and_stops_with_its_threads(tmp_path: Path) -> None:
    with Coturn(tmp_path, "secret") as coturn:
        assert coturn.daemon.proc is not None
        pid = coturn.daemon.proc.pid
        assert stun_answers("127.0.0.1", coturn.port)()
        assert coturn.url == f"turn:127.0.0.1:{coturn.port}?transport=udp"
    assert gone(pid) and group_members(pid) == []
    assert not stun_answers("127.0.0.1", coturn.port)()


def test_nginx_master_and_workers_stop_together(tmp_path: Path) -> None:
    backend = socket.socket()
    backend.bind(("127.0.0.1", 0))
    with backend, Nginx(tmp_path, backend.getsockname()[1]) as nginx:
        assert nginx.daemon.proc is not None
        pid = nginx.daemon.proc.pid
        assert len(group_members(pid)) >= 2, "no worker process: is it nginx?"
        assert tcp_answers("127.0.0.1", nginx.https_port)()
    assert gone(pid) and group_members(pid) == []
    assert not tcp_answers("127.0.0.1", nginx.https_port)()


def test_a_server_that_exits_at_start_is_an_error_with_its_output(tmp_path: Path) -> None:
    daemon = Daemon("broken", ["sh", "-c", "echo 'bad config line 3' >&2; exit 3"], tmp_path,
                    lambda: False)
    with pytest.raises(RuntimeError, match=r"broken exited with 3: bad config line 3"):
        daemon.start()


def test_a_server_that_never_answers_is_stopped_and_an_error(tmp_path: Path) -> None:
    daemon = Daemon("silent", ["sleep", "60"], tmp_path, lambda: False, start_timeout_s=0.5)
    with pytest.raises(RuntimeError, match="did not answer"):
        daemon.start()
    assert daemon.proc is not None and daemon.proc.poll() is not None
