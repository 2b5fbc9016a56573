"""Server settings: command-line flags, each also readable from an ``ONAIR_*`` variable."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Settings:
    """Everything the server can be told at start."""

    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    music_dirs: list[Path] = field(default_factory=list)
    admin_token: str | None = None
    media_addresses: list[str] = field(default_factory=list)
    ice_servers: list[str] = field(default_factory=list)
    log_level: str = "info"
    log_format: str = "text"
    demo: bool = True
    allowed_origins: list[str] = field(default_factory=list)
    room_create_rate: int = 10  # rooms per address per minute, 0 = off
    join_rate: int = 60  # joins per address per 10 s, 0 = off
    max_upload_bytes: int = 100 * 1024 * 1024
    word_filter: Path | None = None
    rules_file: Path | None = None
    host_grace_s: float = 300.0
    max_participants: int = 2000
    chat_max: int = 500


def _env_list(name: str) -> list[str]:
    raw = os.environ.get(name, "")
    return [item.strip() for item in raw.split(",") if item.strip()]


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="onair", description="OnAir: self-hosted live radio shows in the browser."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="run the server",
        description="Run the OnAir server: HTTP API, WebSocket signaling, the SFU and the "
        "music mixer in one process. Every flag can also be set with the ONAIR_* variable "
        "named in its help (lists comma-separated).",
    )
    serve.add_argument(
        "--host",
        default=env("ONAIR_HOST", "127.0.0.1"),
        help="address to listen on for HTTP (ONAIR_HOST, default 127.0.0.1)",
    )
    serve.add_argument(
        "--port",
        type=int,
        default=int(env("ONAIR_PORT", "8080")),
        help="HTTP port (ONAIR_PORT, default 8080)",
    )
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("ONAIR_DATA_DIR", "data")),
        help="where the database, uploads and the demo music live (ONAIR_DATA_DIR, default ./data)",
    )
    serve.add_argument(
        "--music-dir",
        type=Path,
        action="append",
        default=[Path(p) for p in _env_list("ONAIR_MUSIC_DIR")],
        help="a folder of audio files (mp3, ogg, opus, flac, wav, m4a) to add "
        "to the library; repeatable (ONAIR_MUSIC_DIR)",
    )
    serve.add_argument(
        "--admin-token",
        default=env("ONAIR_ADMIN_TOKEN"),
        help="operator token for /metrics, reports and bans (ONAIR_ADMIN_TOKEN; "
        "unset: those endpoints answer 403)",
    )
    serve.add_argument(
        "--media-address",
        action="append",
        default=_env_list("ONAIR_MEDIA_ADDRESS"),
        help="an address to gather ICE candidates on; repeatable "
        "(ONAIR_MEDIA_ADDRESS; default: every interface but loopback; "
        "tests and load runs use 127.0.0.1)",
    )
    serve.add_argument(
        "--ice-server",
        action="append",
        default=_env_list("ONAIR_ICE_SERVER"),
        help="a STUN/TURN URL used by the server and handed to the page; "
        "repeatable (ONAIR_ICE_SERVER; default none: never a public STUN "
        "server by surprise)",
    )
    serve.add_argument(
        "--allowed-origin",
        action="append",
        default=_env_list("ONAIR_ALLOWED_ORIGIN"),
        help="an extra Origin allowed to open WebSockets, besides the served "
        "host; repeatable (ONAIR_ALLOWED_ORIGIN)",
    )
    serve.add_argument(
        "--room-create-rate",
        type=int,
        default=int(env("ONAIR_ROOM_CREATE_RATE", "10")),
        help="rooms one address may create per minute, 0 = no limit "
        "(ONAIR_ROOM_CREATE_RATE, default 10)",
    )
    serve.add_argument("--max-upload-mb", type=float,
                       default=float(env("ONAIR_MAX_UPLOAD_MB", "100")),
                       help="largest track upload in MB (ONAIR_MAX_UPLOAD_MB, default 100)")
    serve.add_argument("--join-rate", type=int, default=int(env("ONAIR_JOIN_RATE", "60")),
                       help="joins one address may make per 10 s, 0 = no limit "
                       "(ONAIR_JOIN_RATE, default 60)")
    serve.add_argument("--max-participants", type=int,
                       default=int(env("ONAIR_MAX_PARTICIPANTS", "2000")),
                       help="participants per room before joins get room_full "
                       "(ONAIR_MAX_PARTICIPANTS, default 2000)")
    serve.add_argument("--word-filter", type=Path, default=env("ONAIR_WORD_FILTER"),
                       help="a file of words (one per line) masked in chat, added to the "
                       "default list (ONAIR_WORD_FILTER)")
    serve.add_argument("--rules-file", type=Path, default=env("ONAIR_RULES_FILE"),
                       help="the operator's rules shown in every room, one per line "
                       "(ONAIR_RULES_FILE; default: three house rules)")
    serve.add_argument(
        "--log-level",
        default=env("ONAIR_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
        help="log level (ONAIR_LOG_LEVEL, default info)",
    )
    serve.add_argument(
        "--log-format",
        default=env("ONAIR_LOG_FORMAT", "text"),
        choices=["text", "json"],
        help="log format (ONAIR_LOG_FORMAT)",
    )
    serve.add_argument(
        "--no-demo",
        action="store_true",
        default=env("ONAIR_NO_DEMO", "") not in ("", "0", "false"),
        help="do not start the permanent 'OnAir demo' room (ONAIR_NO_DEMO=1)",
    )
    return parser


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        music_dirs=list(args.music_dir),
        admin_token=args.admin_token or None,
        media_addresses=list(args.media_address),
        ice_servers=list(args.ice_server),
        log_level=args.log_level,
        log_format=args.log_format,
        demo=not args.no_demo,
        allowed_origins=list(args.allowed_origin),
        room_create_rate=args.room_create_rate,
        join_rate=args.join_rate,
        max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
        max_participants=args.max_participants,
        word_filter=Path(args.word_filter) if args.word_filter else None,
        rules_file=Path(args.rules_file) if args.rules_file else None,
    )
