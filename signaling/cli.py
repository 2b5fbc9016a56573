"""The ``onair`` command."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import secrets
import sys

from aiohttp import web

try:
    import uvloop
except ImportError:  # optional: not built for every platform
    uvloop = None  # type: ignore[assignment]  # the module or nothing

from mixer import ensure_demo_library

from .app import create_app
from .cluster import Supervisor, WorkerSpec, resolve_workers, reuse_port_works
from .config import ConfigError, Settings, build_parser, settings_from_args
from .http.accesslog import AccessLogger
from .store import Store

LISTEN_BACKLOG = 4096  # the kernel's default net.core.somaxconn (since Linux 5.4), which caps it


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def setup_logging(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    # aiortc and aioice are chatty at info; keep them at warning unless debugging
    if level != "debug":
        for name in ("aioice", "aiortc"):
            logging.getLogger(name).setLevel(logging.WARNING)


def supervise(settings: Settings, argv: list[str]) -> int:
    """``--workers N``: run N workers on the one port under a supervisor that restarts them."""
    count = resolve_workers(settings.workers)
    if settings.port == 0:
        raise ConfigError("--workers needs a fixed --port: every worker serves the same one")
    if not reuse_port_works(settings.host):
        raise ConfigError(f"this system cannot share a port between processes (SO_REUSEPORT) on "
                          f"{settings.host}")
    prepare_data_dir(settings)
    node = settings.worker_id or "w"
    host, port = settings.pipe_address.rsplit(":", 1)
    env = {"ONAIR_WORKERS": "1", "ONAIR_CLUSTER_SECRET": settings.cluster_secret or secrets.token_hex(32)}
    specs = []
    for i in range(1, count + 1):
        pipe_port = 0 if int(port) == 0 else int(port) + i - 1
        specs.append(WorkerSpec(f"{node}{i}", [
            sys.executable, "-m", "signaling.cli", *argv, "--workers", "1", "--worker-id", f"{node}{i}",
            "--pipe-address", f"{host}:{pipe_port}"], env=env))
    setup_logging(settings.log_level, settings.log_format)
    logging.getLogger("onair").info("OnAir on http://%s:%d with %d workers", settings.host, settings.port,
                                    count)
    return Supervisor(specs).main()


def prepare_data_dir(settings: Settings) -> None:
    """What workers would otherwise race to make: the demo music and the migrated database."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ensure_demo_library(settings.data_dir)
    Store.in_data_dir(settings.data_dir).close()


def serve(settings: Settings) -> None:
    if settings.redis_url and settings.worker_id and not settings.cluster_secret:
        raise ConfigError("a worker needs --cluster-secret (the same on every node) to seal its pipes")
    if uvloop is not None:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    setup_logging(settings.log_level, settings.log_format)
    logging.getLogger("onair").info("OnAir on http://%s:%d", settings.host, settings.port)
    raise_file_limit()
    web.run_app(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log_class=AccessLogger,
        shutdown_timeout=5,
        # aiohttp starts this timer when a connection opens and closes the connection
        # if no complete request has arrived by then (new, or idle between requests);
        # bytes trickling in do not restart it. A WebSocket in use is never idle.
        keepalive_timeout=settings.handshake_timeout_s,
        # aiohttp's 128 overflows when connections arrive in a burst (a room opening,
        # a flood): the kernel then drops handshakes and the clients wait seconds to retry.
        backlog=LISTEN_BACKLOG,
        reuse_port=bool(settings.worker_id),  # workers share the port
    )


def raise_file_limit() -> None:
    """Lift the soft limit on open files to the hard one.

    Each listener holds a socket for the page and one or two for media; the
    usual soft limit of 1,024 would refuse connections (EMFILE) long before the
    machine runs out of anything.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft == hard:
        return
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 65_536)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            logging.getLogger("onair").warning("could not raise the open-file limit from %d", soft)


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        try:
            settings = settings_from_args(args)
            if resolve_workers(settings.workers) > 1:  # the workers are started with --workers 1
                sys.exit(supervise(settings, list(sys.argv[1:] if argv is None else argv)))
            serve(settings)
        except ConfigError as exc:
            parser.error(str(exc))


if __name__ == "__main__":
    main()
