"""The per-packet floor benchmark gives sane JSON with a tiny N."""

from __future__ import annotations

import json
import subprocess
import sys

from benchmarks.floor import run_floor


def test_floor_small() -> None:
    result = run_floor(listeners=3, packets=20, payload_bytes=160)
    assert result["packets"] == 60
    assert 0 < result["cpu_us_per_packet"] < 10_000
    assert 0 < result["cpu_us_per_packet_protect_only"] < 10_000
    assert result["received"] is not None and 0 < result["received"] <= 60


def test_floor_cli_prints_json() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.floor",
            "--listeners",
            "2",
            "--packets",
            "5",
            "--profile",
            "aes128_cm_sha1_80",
            "--no-drain",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["packets"] == 10 and result["received"] is None
    assert result["cpu_us_per_packet"] > 0
