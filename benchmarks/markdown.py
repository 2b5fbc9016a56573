"""Write a benchmark result as a dated section at the top of ``docs/benchmarks.md``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

HEADER = """# Benchmarks

Written by `make bench` (`python -m benchmarks.run`), newest first. The server
runs as `onair serve` pinned to one CPU, the load generator (`python -m
loadtest`) to the other; listeners join one room at 50/s and the window is
measured after the last join. Server CPU per packet is the growth of
`onair_process_cpu_seconds_total` over the growth of
`onair_forwarded_packets_total` in that window: it includes the room's music
(decode, mix, encode once per room), signaling and RTCP, so it falls as the
room grows; "marginal" subtracts the two sizes to cancel the fixed costs. The
floor is `python -m benchmarks.floor`: header + SRTP protect (pylibsrtp,
one session per listener) + `sendto` to 127.0.0.1 in a plain loop, sent the
way the server sends: a burst to every listener every 20 ms, each listener a
socket of its own read by an event loop in a process on the load generator's
CPU (on loopback, delivering and waking the receiver is charged to the
sender's `sendto`, for the floor as for the server). The "tight" floor (one
drained socket, back-to-back packets, hot caches) is quoted for reference.
"Audio in real time" is the part of each listener's window covered by packets
that arrived in time for a 200 ms jitter buffer (mean over listeners).
RSS per listener is from the first run of each size (later runs reuse memory).

"""

COLUMNS: tuple[tuple[str, str], ...] = (
    ("runs", "runs"),
    ("joined", "joined"),
    ("join_ms_p95", "join p95 ms"),
    ("first_audio_ms_p95", "first audio p95 ms"),
    ("loss_pct", "loss %"),
    ("realtime_pct", "real time %"),
    ("server_cpu_pct", "server CPU %"),
    ("cpu_us_per_forwarded_packet", "server us/packet"),
    ("ratio_to_floor", "x floor"),
    ("rss_per_listener_first", "RSS/listener KB"),
    ("server_tick_late_ms_p99", "tick late p99 ms"),
    ("server_music_underruns", "music underruns"),
    ("loadgen_cpu_pct", "loadgen CPU %"),
)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key == "rss_per_listener_first":
        return f"{value / 1024:.0f}"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def section(result: dict[str, Any]) -> str:
    """The markdown for one benchmark run."""
    floor = result["floor"]
    machine = result["machine"]
    lines = [
        f"## {result['date']}",
        "",
        f"Command: `{result['command']}` (server on CPU {machine['server_cpu']}, "
        f"load generator on CPU {machine['loadgen_cpu']}; {machine['cpus']} CPUs, "
        f"Python {machine['python']}, {machine['system']}). "
        f"Runs per size: {result['settings']['runs']} (medians); "
        f"{result['settings']['seconds']:g} s measured, joins at {result['settings']['rate']:g}/s.",
        "",
        "| listeners | " + " | ".join(label for _, label in COLUMNS) + " |",
        "|---:|" + "---:|" * len(COLUMNS),
    ]
    for size, medians in result["sizes"].items():
        cells = [_cell(key, medians.get(key)) for key, _ in COLUMNS]
        lines.append(f"| {size} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Floor ({floor['profile']}, {floor['listeners']} sessions x "
        f"{floor['packets_per_listener']} packets): {floor['cpu_us_per_packet']} us/packet paced; "
        f"tight loop {floor.get('cpu_us_per_packet_tight')} us/packet "
        f"({floor['cpu_us_per_packet_protect_only']} us of it header + protect).",
        f"Marginal server cost between the sizes: {result['marginal_us_per_packet']} us/packet.",
        "",
        *extras_lines(result.get("extras") or {}),
    ]
    return "\n".join(lines) + "\n"


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{100 * share:.2f} %"


def extras_lines(extras: dict[str, Any]) -> list[str]:
    """One paragraph per extra benchmark (``benchmarks.run --extras``)."""
    lines = []
    idle = extras.get("idle")
    if idle and "median" in idle:
        m = idle["median"]
        lines.append(
            f"Idle (`benchmarks.idle_bench`, medians of {idle['settings']['runs']} x "
            f"{idle['settings']['seconds']:g} s): demo room, fresh data dir {_pct(m['fresh']['cpu_share'])} "
            f"of a core, RSS {m['fresh']['rss_start_mb']:.0f} MB at start; restarted "
            f"{_pct(m['restart']['cpu_share'])}, {m['restart']['rss_start_mb']:.0f} MB; no room "
            f"{_pct(m['bare_cpu_share'])}; each empty room {_pct(m['per_room_cpu_share'])}."
        )
    storm = extras.get("joinstorm")
    if storm and "storm" in storm:
        st, inn, per = storm["storm"], storm["listeners_in"], storm["messages_per_join"]
        lines.append(
            f"Join storm (`benchmarks.joinstorm_bench`, {st['joins']} joins at "
            f"{storm['settings']['rate']:g}/s into {storm['settings']['listeners']} listeners): "
            f"join p95 {st['join_ms_p95']} ms, {st['joined']} joined; listeners already in: loss "
            f"{inn['loss_pct']} %, real time {inn['realtime_pct']} %; messages per join to each listener "
            f"{per['listener']['total']}, to each stage member {per['stage']['total']}."
        )
    gen = extras.get("loadgen")
    if gen and "header" in gen:
        lines.append(
            f"Load generator (`benchmarks.loadgen_bench`, {gen['settings']['listeners']} listeners): "
            f"header mode {gen['header']['cpu_pct_per_listener']} % of a core per listener, decrypt mode "
            f"{gen['decrypt']['cpu_pct_per_listener']} % (ratio {gen['header_over_decrypt']})."
        )
    lines += program_feed_lines(extras)
    skipped = [f"{name}: {r['skipped']}" for name, r in extras.items() if "skipped" in r]
    if skipped:
        lines.append("Not run: " + "; ".join(skipped) + ".")
    return [line for entry in lines for line in (entry, "")]


def program_feed_lines(extras: dict[str, Any]) -> list[str]:
    """The program feed's extras: HTTP readers (``listen``), the mix and its encoders (``mix``)."""
    lines = []
    listen = extras.get("listen")
    if listen and "median" in listen:
        m = listen["median"]
        lines.append(
            f"HTTP `listen.ogg` (`benchmarks.listen_bench`, {listen['settings']['listeners']} readers): "
            f"{_pct(m['above_room_cpu'])} of a core above the room's own cost, {m['kb_per_listener']} KB "
            f"per listener, {m['stalls_total']} stalls over 1 s (worst gap {m['worst_gap_s']} s)."
        )
    mix = extras.get("mix")
    if mix and "median" in mix:
        parts = [f"{name} {v['us_per_frame']} us/frame ({v['core_pct']} %)"
                 for name, v in mix["median"].items()]
        lines.append("Program mix and encoders per room (`benchmarks.mix_bench`): " + ", ".join(parts) + ".")
    return lines


def write_section(path: Path, result: dict[str, Any]) -> None:
    """Insert ``section(result)`` after the file's header (creating the file if needed)."""
    text = path.read_text(encoding="utf-8") if path.exists() else HEADER
    marker = "\n## "
    cut = text.find(marker)
    head, rest = (text, "") if cut < 0 else (text[: cut + 1], text[cut + 1 :])
    if not head.endswith("\n\n"):
        head = head.rstrip("\n") + "\n\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + section(result) + rest, encoding="utf-8")
