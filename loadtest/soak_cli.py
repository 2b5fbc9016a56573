"""The ``--soak`` part of the command line: its options, and a server of its own when none is given."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .soak import SoakConfig, soak
from .soak_figures import MAX_KB_PER_JOIN

try:  # only to start a server of its own; run from the repository's root
    from benchmarks.server import LocalServer
except ImportError:  # pragma: no cover - an installed loadtest without the repository
    LocalServer = None  # type: ignore[assignment,misc]  # the class or nothing


def add_soak_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "soak", "--soak MINUTES: waves of listeners join and leave; exits 1 if the server keeps anything"
    )
    group.add_argument("--soak", type=float, metavar="MINUTES", help="run the churn soak this long")
    group.add_argument("--wave", type=int, default=30, help="listeners per wave (default 30)")
    group.add_argument("--hold", type=float, default=1.0, help="seconds a wave stays (default 1)")
    group.add_argument(
        "--gap", type=float, default=1.0, help="seconds between a wave leaving and the next (default 1)"
    )
    group.add_argument(
        "--warmup-waves", type=int, default=1, help="waves before the start figures (default 1)"
    )
    group.add_argument(
        "--stage-every", type=int, default=3, help="a promote and demote every N waves (0: never)"
    )
    group.add_argument("--server-pid", type=int, help="PID of the server at --url, to read /proc")
    group.add_argument("--server-cpu", help="no --url: pin the server started here to this CPU")
    group.add_argument(
        "--max-kb-per-join",
        type=float,
        default=MAX_KB_PER_JOIN,
        help=f"RSS growth per join that fails the soak (default {MAX_KB_PER_JOIN:g})",
    )


def run_soak(args: argparse.Namespace) -> int:
    """Run the soak (starting a local server unless --url is given); 0 when everything came back."""
    if args.soak <= 0 or args.wave < 1 or args.rate <= 0 or args.warmup_waves < 1:
        print("loadtest: --soak, --wave, --rate and --warmup-waves must be positive", file=sys.stderr)
        return 2
    try:
        with _server(args) as (url, token, pid):
            cfg = SoakConfig(
                url=url,
                minutes=args.soak,
                admin_token=token,
                server_pid=pid,
                wave=args.wave,
                rate=args.rate,
                hold_s=args.hold,
                gap_s=args.gap,
                settle_s=10.0 if args.settle is None else args.settle,
                warmup_waves=args.warmup_waves,
                stage_every=args.stage_every,
                join_timeout_s=args.join_timeout,
                max_kb_per_join=args.max_kb_per_join,
                cpus=args.cpu_list,
                progress=None if args.quiet else sys.stderr,
            )
            summary = asyncio.run(soak(cfg))
    except (OSError, RuntimeError) as exc:
        print(f"loadtest: {exc}", file=sys.stderr)
        return 1
    return _report(summary, args.json_file)


def _report(summary: dict[str, Any], json_file: str | None) -> int:
    text = json.dumps(summary, indent=2)
    print(text)
    if json_file:
        Path(json_file).write_text(text + "\n", encoding="utf-8")
    for failure in summary["verdict"]["failures"]:
        print(f"loadtest: soak: {failure}", file=sys.stderr)
    healthy = summary["failed"] <= (summary["joins"] + summary["failed"]) * 0.01
    if not healthy:
        print(f"loadtest: soak: {summary['failed']} joins failed", file=sys.stderr)
    return 0 if summary["verdict"]["ok"] and healthy else 1


@contextlib.contextmanager
def _server(args: argparse.Namespace) -> Iterator[tuple[str, str | None, int | None]]:
    """(url, admin token, pid): the given server, or a local one stopped at the end."""
    if args.url is not None:
        yield args.url, args.admin_token, args.server_pid
        return
    if LocalServer is None:
        raise RuntimeError("no --url given and benchmarks.server is not importable")
    with tempfile.TemporaryDirectory(prefix="onair-soak-") as tmp:
        with LocalServer(Path(tmp) / "data", cpu=args.server_cpu) as server:
            assert server.proc is not None
            yield server.url, server.admin_token, server.proc.pid
