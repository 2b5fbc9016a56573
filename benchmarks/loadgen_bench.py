"""The load generator's own cost: its CPU per listener, header mode against full decryption.

One ``onair serve`` pinned to one CPU; on the other, ``python -m loadtest``
with ``--listeners`` peers, once per mode and round (the modes take turns, so
both see the same machine). ``--baseline-tree DIR`` adds a third contender:
the ``loadtest`` package of another checkout (e.g. ``git archive HEAD`` of
an older commit), run with ``PYTHONPATH=DIR`` and its own defaults. Reported
per contender: the median over ``--rounds`` of the generator's CPU share over
the measured window divided by the listeners, and the loss and real-time
share it measured.

``python -m benchmarks.loadgen_bench [--listeners 200] [--seconds 20] [--rounds 3] [--baseline-tree DIR]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .server import ROOT, LocalServer, loadtest_command, pinned


def run_one(
    server: LocalServer, contender: str, args: argparse.Namespace, out: Path
) -> dict[str, Any] | None:
    """One load test; ``contender`` is a mode, or ``baseline`` (the other tree's loadtest)."""
    env, cwd = dict(os.environ), ROOT
    if contender == "baseline":
        command = loadtest_command(
            server.url, server.admin_token, args.listeners, args.seconds, out, args.rate
        )
        command = [c for c in command if c not in ("--mode", "header")]  # the old CLI has no --mode
        env["PYTHONPATH"] = str(args.baseline_tree)
        cwd = args.baseline_tree  # ``-m`` puts the working directory first on the path
    else:
        command = loadtest_command(
            server.url, server.admin_token, args.listeners, args.seconds, out, args.rate, mode=contender
        )
    timeout = args.listeners / args.rate + args.seconds + 90
    done = subprocess.run(pinned(command, args.load_cpu or None), cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if done.returncode != 0 or not out.exists():
        print(f"loadgen_bench: {contender} failed: {done.stderr[-1500:]}", file=sys.stderr)
        return None
    summary: dict[str, Any] = json.loads(out.read_text())
    return summary


def figures(runs: list[dict[str, Any]], listeners: int) -> dict[str, Any]:
    cpu = [r["loadgen_cpu_pct"] for r in runs if r.get("loadgen_cpu_pct") is not None]
    return {
        "runs": len(runs),
        "loadgen_cpu_pct": [round(c, 1) for c in cpu],
        "loadgen_cpu_pct_median": statistics.median(cpu) if cpu else None,
        "cpu_pct_per_listener": round(statistics.median(cpu) / listeners, 4) if cpu else None,
        "loss_pct_median": statistics.median(r["loss_pct"] for r in runs if r.get("loss_pct") is not None)
        if runs else None,
        "realtime_pct_median": statistics.median(r["realtime_pct"] for r in runs) if runs else None,
        "joined": [r.get("joined") for r in runs],
        "loss_pct": [r.get("loss_pct") for r in runs],
        "server_music_underruns": [r.get("server_music_underruns") for r in runs],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loadgen_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--listeners", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="a checkout whose loadtest package is the 'before' (run with PYTHONPATH)")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--load-cpu", default="1")
    args = parser.parse_args(argv)
    if args.listeners < 1 or args.seconds <= 0 or args.rounds < 1:
        parser.error("--listeners, --seconds and --rounds must be positive")
    if args.baseline_tree is not None and not (args.baseline_tree / "loadtest").is_dir():
        parser.error(f"{args.baseline_tree} holds no loadtest package")
    contenders = ["decrypt", "header"] + (["baseline"] if args.baseline_tree else [])
    results: dict[str, list[dict[str, Any]]] = {c: [] for c in contenders}
    with tempfile.TemporaryDirectory(prefix="onair-loadgen-") as tmp, LocalServer(
        Path(tmp) / "data", cpu=args.server_cpu or None
    ) as server:
        for n in range(args.rounds):
            for contender in contenders:
                time.sleep(2)  # the previous room's end settles
                summary = run_one(server, contender, args, Path(tmp) / f"{contender}-{n}.json")
                if summary is not None:
                    results[contender].append(summary)
                    print(f"loadgen_bench: round {n + 1} {contender}: loadgen CPU "
                          f"{summary.get('loadgen_cpu_pct')} %", file=sys.stderr)
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "settings": {"listeners": args.listeners, "seconds": args.seconds, "rate": args.rate,
                     "rounds": args.rounds, "baseline_tree": str(args.baseline_tree or "")},
        **{c: figures(runs, args.listeners) for c, runs in results.items()},
    }
    header, decrypt = out["header"]["loadgen_cpu_pct_median"], out["decrypt"]["loadgen_cpu_pct_median"]
    out["header_over_decrypt"] = round(header / decrypt, 3) if header and decrypt else None
    if args.baseline_tree and out["baseline"]["loadgen_cpu_pct_median"] and header:
        out["header_over_baseline"] = round(header / out["baseline"]["loadgen_cpu_pct_median"], 3)
    print(json.dumps(out, indent=2))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
