"""Command line: ``python -m loadtest --url URL --listeners N --seconds S [...]``,
or ``python -m loadtest --soak MINUTES [--url URL --server-pid PID]`` (see ``loadtest.soak``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .peer import MODES
from .report import format_table
from .runner import LoadConfig, run
from .soak_cli import add_soak_arguments, run_soak


def parse_cpu_list(text: str) -> list[int]:
    """``"1"``, ``"0,2"`` or ``"2-3"`` (taskset's list syntax) -> CPU numbers."""
    cpus: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            low, high = part.split("-", 1)
            cpus.extend(range(int(low), int(high) + 1))
        elif part:
            cpus.append(int(part))
    return cpus


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description="Join N listener peers to an OnAir room and measure what they receive.",
    )
    parser.add_argument(
        "--url", help="server base URL, e.g. http://127.0.0.1:8080 (--soak: default, start one)"
    )
    parser.add_argument("--listeners", type=int, help="number of listener peers")
    parser.add_argument("--seconds", type=float, help="measured window after the last join")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--rate", type=float, default=20.0, help="joins per second, in total")
    parser.add_argument("--room", help="room id to join (default: create one, delete it after)")
    parser.add_argument("--admin-token", help="operator token, to read the server's /metrics")
    parser.add_argument("--json", dest="json_file", help="also write the JSON summary here")
    parser.add_argument(
        "--cpu-list",
        type=parse_cpu_list,
        default=[],
        help="pin the load generator to these CPUs, e.g. 1 or 2-3",
    )
    parser.add_argument(
        "--jitter-ms",
        type=float,
        default=200.0,
        help="jitter buffer of the real-time model (default 200)",
    )
    parser.add_argument(
        "--join-timeout",
        type=float,
        default=20.0,
        help="seconds a peer may take to get audio (default 20)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=None,
        help="seconds to wait after every peer has audio before measuring (default 2; "
        "--soak: after the warm-up and after the last wave, default 10)",
    )
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="header",
        help="header: count packets from their clear SRTP header, never decrypting (light, the "
        "default); decrypt: aiortc decrypts and parses every packet (for correctness runs)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    add_soak_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.soak is not None:
        return run_soak(args)
    if args.url is None or args.listeners is None or args.seconds is None:
        print("loadtest: --url, --listeners and --seconds are required", file=sys.stderr)
        return 2
    if args.listeners < 1 or args.seconds <= 0 or args.rate <= 0 or args.processes < 1:
        print(
            "loadtest: --listeners, --seconds, --rate and --processes must be positive",
            file=sys.stderr,
        )
        return 2
    cfg = LoadConfig(
        url=args.url,
        listeners=args.listeners,
        seconds=args.seconds,
        processes=args.processes,
        rate=args.rate,
        room=args.room,
        admin_token=args.admin_token,
        jitter_ms=args.jitter_ms,
        join_timeout_s=args.join_timeout,
        settle_s=2.0 if args.settle is None else args.settle,
        cpus=args.cpu_list,
        mode=args.mode,
        progress=None if args.quiet else sys.stderr,
    )
    try:
        summary = asyncio.run(run(cfg))
    except (OSError, RuntimeError) as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 1
    text = json.dumps(summary, indent=2, sort_keys=False)
    print(format_table(summary))
    print(text)
    if args.json_file:
        with open(args.json_file, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    return 0 if summary["joined"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
