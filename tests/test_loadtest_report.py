"""The load test's summary and table, and the /metrics parser (no server)."""

from __future__ import annotations

import json
import time

import pytest

from benchmarks.markdown import extras_lines, write_section
from benchmarks.run import main as bench_main
from benchmarks.run import run_extras
from loadtest.metrics_client import Sample, parse_prometheus
from loadtest.report import format_table, summarize

METRICS = """# HELP onair_process_cpu_seconds_total CPU
# TYPE onair_process_cpu_seconds_total counter
onair_process_cpu_seconds_total {cpu}
onair_process_resident_memory_bytes {rss}
onair_forwarded_packets_total{{room="a"}} {fwd_a}
onair_forwarded_packets_total{{room="b"}} 0
onair_participants 3
onair_rooms 1
bogus line
"""


def sample(at: float, cpu: float, rss: int, fwd: int) -> Sample:
    return Sample(at, parse_prometheus(METRICS.format(cpu=cpu, rss=rss, fwd_a=fwd)))


def peer(joined: bool = True, **over: object) -> dict:
    base = {
        "joined": joined,
        "failure": None if joined else "error:room_full",
        "dropped": None,
        "join_ms": 10.0 if joined else None,
        "first_audio_ms": 100.0 if joined else None,
        "packets": 500 if joined else 0,
        "bytes": 80_000 if joined else 0,
        "expected": 500 if joined else 0,
        "lost": 0,
        "realtime": 1.0 if joined else 0.0,
    }
    base.update(over)
    return base


def test_parse_prometheus_sums_label_sets() -> None:
    values = parse_prometheus(METRICS.format(cpu=1.5, rss=1000, fwd_a=42))
    assert values["onair_process_cpu_seconds_total"] == 1.5
    assert values["onair_forwarded_packets_total"] == 42
    assert values["onair_rooms"] == 1
    assert "bogus" not in values


def test_summary_figures() -> None:
    peers = [peer(join_ms=float(i), first_audio_ms=100.0 + i) for i in range(9)]
    peers.append(peer(lost=5, realtime=0.5))
    peers.append(peer(joined=False))
    workers = [{"cpu_s": 1.0, "window_ms": 10_000.0, "peers": peers}]
    samples = (
        sample(0.0, 1.0, 100_000_000, 0),
        sample(1.0, 2.0, 100_000_000, 0),
        sample(11.0, 4.0, 110_000_000, 100_000),
    )
    meta = {"url": "http://x", "listeners": 11}
    summary = summarize(meta, peers, workers, samples)
    assert summary["joined"] == 10 and summary["failed"] == 1
    assert summary["failures"] == {"error:room_full": 1}
    assert summary["join_ms_p50"] == 4.5  # 0..8 and one 10
    assert summary["first_audio_ms_p95"] is not None
    assert summary["packets_received"] == 5000
    assert summary["loss_pct"] == 0.1  # 5 of 5000
    assert summary["realtime_pct"] == 95.0
    assert summary["window_s"] == 10.0 and summary["loadgen_cpu_pct"] == 10.0
    assert summary["server_cpu_seconds"] == 2.0
    assert summary["server_cpu_pct"] == 20.0
    assert summary["forwarded_packets"] == 100_000
    assert summary["cpu_us_per_forwarded_packet"] == 20.0
    assert summary["rss_per_listener_bytes"] == 1_000_000
    json.dumps(summary)  # JSON-able
    table = format_table(summary)
    assert "server CPU us / packet" in table and "20.0" in table
    assert "error:room_full: 1" in table


def test_summary_without_metrics_or_peers() -> None:
    summary = summarize({}, [], [], (None, None, None))
    assert summary["joined"] == 0 and summary["cpu_us_per_forwarded_packet"] is None
    assert summary["join_ms_p50"] is None and summary["realtime_pct"] is None
    assert "-" in format_table(summary)


def test_benchmark_markdown_newest_first(tmp_path) -> None:
    result = {
        "date": "2025-01-01 00:00 UTC",
        "command": "python -m benchmarks.run",
        "machine": {
            "cpus": 2,
            "python": "3.11",
            "system": "Linux",
            "server_cpu": "0",
            "loadgen_cpu": "1",
        },
        "settings": {"runs": 3, "seconds": 20.0, "rate": 20.0},
        "floor": {
            "profile": "aead_aes_256_gcm",
            "listeners": 200,
            "packets_per_listener": 500,
            "cpu_us_per_packet": 4.0,
            "cpu_us_per_packet_protect_only": 1.2,
        },
        "sizes": {
            "50": {
                "runs": 3,
                "cpu_us_per_forwarded_packet": 40.0,
                "ratio_to_floor": 10.0,
                "rss_per_listener_first": 204800,
            }
        },
        "marginal_us_per_packet": 12.0,
    }
    path = tmp_path / "benchmarks.md"
    write_section(path, result)
    write_section(path, {**result, "date": "2025-02-02 00:00 UTC"})
    text = path.read_text()
    assert text.startswith("# Benchmarks")
    assert text.index("2025-02-02") < text.index("2025-01-01")
    assert "| 50 | 3 |" in text and "| 200 |" in text  # 200 KB/listener column


def test_benchmark_markdown_extras() -> None:
    extras = {
        "idle": {
            "settings": {"runs": 3, "seconds": 30.0},
            "median": {
                "fresh": {"cpu_share": 0.011, "rss_start_mb": 121.0},
                "restart": {"cpu_share": 0.012, "rss_start_mb": 117.0},
                "bare_cpu_share": 0.002,
                "per_room_cpu_share": 0.006,
            },
        },
        "joinstorm": {
            "settings": {"rate": 100.0, "listeners": 300},
            "storm": {"joins": 1000, "joined": 1000, "join_ms_p95": 120.0},
            "listeners_in": {"loss_pct": 0.0, "realtime_pct": 99.9},
            "messages_per_join": {"listener": {"total": 0.01}, "stage": {"total": 1.0}},
        },
        "loadgen": {"skipped": "out of time"},
    }
    text = "\n".join(extras_lines(extras))
    assert "fresh data dir 1.10 % of a core, RSS 121 MB" in text
    assert "each empty room 0.60 %" in text
    assert "join p95 120.0 ms" in text and "to each listener 0.01, to each stage member 1.0" in text
    assert "Not run: loadgen: out of time." in text
    assert extras_lines({}) == []


def test_bench_extras_skip_when_out_of_time_and_refuse_unknown_names() -> None:
    assert run_extras(["idle", "joinstorm"], time.monotonic(), (None, None)) == {
        "idle": {"skipped": "out of time"},
        "joinstorm": {"skipped": "out of time"},
    }
    with pytest.raises(SystemExit) as exited:
        bench_main(["--extras", "idle,bogus", "--no-write"])
    assert exited.value.code == 2
