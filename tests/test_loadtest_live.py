"""``python -m loadtest`` against a real ``onair serve`` subprocess: 3 listeners, 3 seconds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks.server import ROOT, LocalServer, loadtest_command


@pytest.mark.timeout(180)
def test_three_listeners_get_music(tmp_path: Path) -> None:
    out = tmp_path / "summary.json"
    with LocalServer(tmp_path / "data") as server:
        done = subprocess.run(
            loadtest_command(server.url, server.admin_token, listeners=3, seconds=3, out=out),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stderr[-2000:] + server.log_tail()
    summary = json.loads(out.read_text())
    assert summary["joined"] == 3, summary
    assert summary["packets_received"] > 0, summary
    assert summary["loss_pct"] is not None and summary["loss_pct"] < 5.0, summary
    assert summary["forwarded_packets"] and summary["forwarded_packets"] > 0, summary
