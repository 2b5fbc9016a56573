"""Turn peer results and server samples into the summary (JSON) and a readable table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from . import metrics_client as mc
from .stats import percentile


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def peer_figures(peers: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Join, audio and delivery figures over every peer's result."""
    joined = [p for p in peers if p["joined"]]
    failures = Counter(p["failure"] for p in peers if p["failure"] is not None)
    join_ms = [p["join_ms"] for p in joined if p["join_ms"] is not None]
    first_audio = [p["first_audio_ms"] for p in peers if p["first_audio_ms"] is not None]
    expected = sum(p["expected"] for p in peers)
    lost = sum(p["lost"] for p in peers)
    realtime = [p["realtime"] for p in joined]
    messages = [p.get("messages", 0) for p in joined]
    return {
        "joined": len(joined),
        "failed": sum(failures.values()),
        "failures": dict(failures),
        "dropped": sum(p["dropped"] is not None for p in peers),
        "drops": dict(Counter(p["dropped"] for p in peers if p["dropped"] is not None)),
        "no_audio": sum(p["first_audio_ms"] is None for p in joined),
        "join_ms_p50": _round(percentile(join_ms, 50)),
        "join_ms_p95": _round(percentile(join_ms, 95)),
        "first_audio_ms_p50": _round(percentile(first_audio, 50)),
        "first_audio_ms_p95": _round(percentile(first_audio, 95)),
        "packets_received": sum(p["packets"] for p in peers),
        "bytes_received": sum(p["bytes"] for p in peers),
        "loss_pct": _round(100.0 * lost / expected if expected else None, 3),
        "realtime_pct": _round(100.0 * sum(realtime) / len(realtime) if realtime else None, 2),
        "realtime_p05_pct": _round(_pct(percentile(realtime, 5)), 2),
        "ws_messages_per_peer": _round(sum(messages) / len(messages) if messages else None),
    }


def _pct(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def server_figures(
    baseline: mc.Sample | None, start: mc.Sample | None, end: mc.Sample | None, joined: int
) -> dict[str, Any]:
    """CPU per forwarded packet over the window, and memory per listener, from /metrics."""
    cpu = mc.delta(start, end, mc.CPU)
    forwarded = mc.delta(start, end, mc.FORWARDED)
    rss = end.get(mc.RSS) if end else None
    rss_base = baseline.get(mc.RSS) if baseline else None
    interval = end.at_s - start.at_s if start and end else None
    per_packet = cpu / forwarded * 1e6 if cpu is not None and forwarded else None
    per_listener = (rss - rss_base) / joined if rss is not None and rss_base and joined else None
    return {
        "server_cpu_seconds": _round(cpu, 3),
        "server_cpu_pct": _round(100.0 * cpu / interval if cpu is not None and interval else None),
        "forwarded_packets": None if forwarded is None else int(forwarded),
        "cpu_us_per_forwarded_packet": _round(per_packet, 2),
        "server_rss_bytes": None if rss is None else int(rss),
        "rss_per_listener_bytes": None if per_listener is None else int(per_listener),
        "server_participants": end.get(mc.PARTICIPANTS) if end else None,
        "server_rooms": end.get(mc.ROOMS) if end else None,
        "server_music_underruns": mc.delta(start, end, mc.UNDERRUNS),
        "server_music_underruns_joining": mc.delta(baseline, start, mc.UNDERRUNS),
        "server_tick_late_ms_max": _round(end.get(mc.TICK_LATE_MAX) if end else None),
        "server_tick_late_ms_p99": _round(end.get(mc.TICK_LATE_P99) if end else None),
    }


def summarize(
    meta: dict[str, Any],
    peers: Sequence[dict[str, Any]],
    workers: Sequence[dict[str, Any]],
    samples: tuple[mc.Sample | None, mc.Sample | None, mc.Sample | None],
) -> dict[str, Any]:
    """The whole summary: run settings, peer figures, load generator CPU, server figures."""
    figures = peer_figures(peers)
    window_ms = max((w["window_ms"] for w in workers), default=0.0)
    cpu_s = sum(w["cpu_s"] for w in workers)
    loadgen = 100.0 * cpu_s / (window_ms / 1e3) if window_ms else None
    return {
        **meta,
        "window_s": round(window_ms / 1e3, 2),
        **figures,
        "loadgen_cpu_pct": _round(loadgen),
        **server_figures(*samples, joined=figures["joined"]),
    }


ROWS: tuple[tuple[str, str], ...] = (
    ("listeners", "listeners asked"),
    ("joined", "joined (welcome)"),
    ("failed", "failed to join"),
    ("dropped", "lost after joining"),
    ("no_audio", "joined, no audio"),
    ("join_ms_p50", "join ms p50"),
    ("join_ms_p95", "join ms p95"),
    ("first_audio_ms_p50", "first audio ms p50"),
    ("first_audio_ms_p95", "first audio ms p95"),
    ("window_s", "measured window s"),
    ("packets_received", "packets received"),
    ("loss_pct", "loss %"),
    ("realtime_pct", "audio in real time %"),
    ("realtime_p05_pct", "  worst 5% of peers %"),
    ("ws_messages_per_peer", "WebSocket messages / peer"),
    ("loadgen_cpu_pct", "load generator CPU %"),
    ("server_cpu_seconds", "server CPU s"),
    ("server_cpu_pct", "server CPU %"),
    ("forwarded_packets", "server forwarded packets"),
    ("cpu_us_per_forwarded_packet", "server CPU us / packet"),
    ("server_music_underruns", "server music underruns"),
    ("server_music_underruns_joining", "  while joining"),
    ("server_rss_bytes", "server RSS bytes"),
    ("rss_per_listener_bytes", "server RSS / listener bytes"),
)


def format_table(summary: dict[str, Any]) -> str:
    """A two-column text table of the main figures."""
    width = max(len(label) for _, label in ROWS)
    lines = [f"{'figure':<{width}}  value", f"{'-' * width}  {'-' * 12}"]
    for key, label in ROWS:
        value = summary.get(key)
        lines.append(f"{label:<{width}}  {'-' if value is None else value}")
    for key, label in (("failures", "failure reasons"), ("drops", "drop reasons")):
        if summary.get(key):
            reasons = ", ".join(f"{k}: {v}" for k, v in sorted(summary[key].items()))
            lines.append(f"{label:<{width}}  {reasons}")
    return "\n".join(lines)
