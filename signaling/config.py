"""Server settings: each one a flag, an ``ONAIR_*`` variable and a key of the TOML file of ``--config``.

A flag wins over a variable, a variable over the file, the file over the
default. The file's keys are the flags' names without the dashes in front
(``media-address = ["192.0.2.10"]``; ``_`` and ``-`` are the same); a key that
is not a setting is an error that names it.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Station:
    """A permanent room of the operator's that plays on its own (AutoDJ): ``--station`` or a
    ``[[stations]]`` table. ``artist_separation`` N: no artist again within N tracks (titles alike)."""

    name: str
    folders: list[Path]
    room_id: str = ""  # its link is /r/<room_id>; made from the name when not given
    description: str = ""
    shuffle: bool = True
    artist_separation: int = 0
    title_separation: int = 0
    host_token: str | None = None  # whoever joins with it hosts the station
    moderator_token: str | None = None  # whoever joins with it moderates it


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
    trusted_proxies: list[str] = field(default_factory=list)
    turn_urls: list[str] = field(default_factory=list)
    turn_secret: str | None = None
    turn_ttl_s: int = 3600
    turn_server_side: bool = False
    ice_transport_policy: str = "all"  # "relay": browsers use TURN only
    max_sockets_per_address: int = 20  # open room sockets per client address, 0 = off
    handshake_timeout_s: float = 10.0  # a connection without a complete HTTP request is closed
    message_rate: float = 20.0  # frames a second per room socket, every type, 0 = off
    message_burst: int = 50
    ws_heartbeat_s: float = 20.0
    workers: str = "1"  # "auto" = one per core
    redis_url: str | None = None
    worker_id: str | None = None  # set by the supervisor for each worker it runs
    pipe_address: str = "127.0.0.1:0"  # where this worker's RTP pipe listens (UDP host:port)
    pipe_advertise: str | None = None  # the address other workers send to (default: the pipe's)
    cluster_secret: str | None = None  # seals the pipes; the same on every node
    stations: list[Station] = field(default_factory=list)


class ConfigError(ValueError):
    """A setting that cannot be used: an unknown key, a wrong type, a bad value."""


@dataclass(frozen=True)
class Option:
    """One setting: its flag (``--name``), the ``Settings`` field it fills and how its text is read."""

    name: str
    attr: str
    parse: Callable[[str], Any]
    help: str
    many: bool = False  # repeatable flag, comma-separated variable, list in the file
    switch: bool = False  # a flag without a value
    to_setting: Callable[[Any], Any] = lambda value: value

    @property
    def env(self) -> str:
        return "ONAIR_" + self.name.upper().replace("-", "_")


def _level(text: str) -> str:
    return _choice(text, ("debug", "info", "warning", "error"))


def _format(text: str) -> str:
    return _choice(text, ("text", "json"))


def _choice(text: str, allowed: tuple[str, ...]) -> str:
    if text not in allowed:
        raise ValueError(f"must be one of {', '.join(allowed)}")
    return text


def _policy(text: str) -> str:
    return _choice(text, ("all", "relay"))


def _workers(text: str) -> str:
    text = text.strip()
    if text != "auto" and not (text.isdigit() and 1 <= int(text) <= 1024):
        raise ValueError("must be auto or a number of workers from 1 to 1024")
    return text


def _host_port(text: str) -> str:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError("must be host:port")
    ipaddress.ip_address(host.strip("[]"))
    return f"{host}:{int(port)}"


def _redis(text: str) -> str:
    if not text.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("must be a redis:// URL")
    return text


def _cidr(text: str) -> str:
    return str(ipaddress.ip_network(text.strip(), strict=False))


def _turn_url(text: str) -> str:
    if not text.startswith(("turn:", "turns:")):
        raise ValueError("a TURN URL starts with turn: or turns:")
    return text


def _flag(text: str) -> bool:
    lowered = str(text).strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


STATION_KEYS = {"name", "id", "folders", "folder", "description", "shuffle", "artist_separation",
                "title_separation", "host_token", "moderator_token"}


def _station(value: Any) -> Station:
    """A station from a ``[[stations]]`` table, or from ``--station "name=Jazz;folder=/srv/jazz;
    folder=/srv/blues;shuffle=true;artist_separation=3"`` (the same keys, ``;`` between them)."""
    if isinstance(value, str):
        table: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in value.split(";"))):
            key, sep, item = part.partition("=")
            if not sep:
                raise ValueError(f"station settings are key=value, not {part!r}")
            key = key.strip().replace("-", "_")
            if key in ("folder", "folders"):
                table.setdefault("folders", []).append(item.strip())
            else:
                table[key] = item.strip()
        value = table
    if not isinstance(value, dict):
        raise TypeError("a station is a table of settings")
    unknown = sorted(set(value) - STATION_KEYS)
    if unknown:
        raise ValueError(f"unknown station setting(s) {', '.join(unknown)}")
    name = str(value.get("name", "")).strip()
    folders = value.get("folders", value.get("folder", []))
    folders = [folders] if isinstance(folders, str) else folders
    if not name or len(name) > 100 or not isinstance(folders, list) or not folders:
        raise ValueError("a station needs a name (at most 100 characters) and at least one folder")
    room_id = str(value.get("id") or re.sub(r"[^a-z0-9]+", "-", name.casefold()).strip("-"))
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", room_id):
        raise ValueError(f"station id {room_id!r}: 1-40 of a-z, 0-9 and -")
    return Station(
        name=name, folders=[Path(str(f)) for f in folders], room_id=room_id,
        description=str(value.get("description", "")), shuffle=_flag(str(value.get("shuffle", True))),
        artist_separation=_count(value.get("artist_separation", 0)),
        title_separation=_count(value.get("title_separation", 0)),
        host_token=str(value["host_token"]) if value.get("host_token") else None,
        moderator_token=str(value["moderator_token"]) if value.get("moderator_token") else None,
    )


def _count(value: Any) -> int:
    number = int(str(value))
    if not 0 <= number <= 100:
        raise ValueError("a separation is a number of tracks from 0 to 100")
    return number


OPTIONS: tuple[Option, ...] = (
    Option("host", "host", str, "address to listen on for HTTP (default 127.0.0.1)"),
    Option("port", "port", int, "HTTP port (default 8080)"),
    Option("data-dir", "data_dir", Path,
           "where the database, uploads and the demo music live (default ./data)"),
    Option("music-dir", "music_dirs", Path, "a folder of audio files (mp3, ogg, opus, flac, wav, "
           "m4a) to add to the library; repeatable", many=True),
    Option("admin-token", "admin_token", str,
           "operator token for /admin, /metrics, reports and bans (unset: those answer 403)"),
    Option("media-address", "media_addresses", str, "an address to gather ICE candidates on and "
           "offer to browsers; repeatable (default: every interface but loopback)", many=True),
    Option("ice-server", "ice_servers", str, "a STUN URL used by the server and handed to the "
           "page; repeatable (default none: never a public STUN server by surprise)", many=True),
    Option("trusted-proxy", "trusted_proxies", _cidr, "a reverse proxy's address or CIDR: only "
           "from these is X-Forwarded-For believed; repeatable", many=True),
    Option("turn-url", "turn_urls", _turn_url,
           "a turn: or turns: URL handed to browsers with fresh credentials; repeatable", many=True),
    Option("turn-secret", "turn_secret", str,
           "coturn's static-auth-secret (use-auth-secret): TURN credentials are minted from it"),
    Option("turn-ttl", "turn_ttl_s", int, "how long minted TURN credentials last, seconds (3600)"),
    Option("turn-server-side", "turn_server_side", _flag,
           "the server's own peer connections use the TURN servers too", switch=True),
    Option("ice-transport-policy", "ice_transport_policy", _policy, "all, or relay: browsers "
           "connect only through the TURN servers (default all)"),
    Option("allowed-origin", "allowed_origins", str, "an extra Origin allowed to open WebSockets, "
           "besides the served host; repeatable", many=True),
    Option("room-create-rate", "room_create_rate", int,
           "rooms one address may create per minute, 0 = no limit (default 10)"),
    Option("max-upload-mb", "max_upload_bytes", float, "largest track upload in MB (default 100)",
           to_setting=lambda mb: int(mb * 1024 * 1024)),
    Option("join-rate", "join_rate", int, "joins one address may make per 10 s, 0 = no limit (60)"),
    Option("max-participants", "max_participants", int,
           "participants per room before joins get room_full (default 2000)"),
    Option("host-grace", "host_grace_s", float,
           "seconds a show goes on without its host before it ends (default 300)"),
    Option("word-filter", "word_filter", Path,
           "a file of words (one per line) masked in chat, added to the default list"),
    Option("rules-file", "rules_file", Path,
           "the operator's rules shown in every room, one per line (default: three house rules)"),
    Option("log-level", "log_level", _level, "debug, info, warning or error (default info)"),
    Option("log-format", "log_format", _format, "text or json (default text)"),
    Option("no-demo", "demo", _flag, "do not start the permanent 'OnAir demo' room", switch=True,
           to_setting=lambda off: not off),
    Option("max-sockets-per-address", "max_sockets_per_address", int, "room sockets one client "
           "address may have open at once; past it a join gets rate_limited (4429); 0 = no limit "
           "(default 20)"),
    Option("handshake-timeout", "handshake_timeout_s", float, "seconds a connection may take "
           "to send a complete HTTP request (new, or between requests), and a closing room socket "
           "to answer the close (default 10)"),
    Option("message-rate", "message_rate", float, "messages a second one room socket may send "
           "on average, every type counted; 0 = no limit (default 20)"),
    Option("message-burst", "message_burst", int, "messages one room socket may send at once "
           "before --message-rate applies; as many again past it and the socket is closed with "
           "4429 (default 50)"),
    Option("workers", "workers", _workers, "worker processes serving the one HTTP port: a number "
           "or auto (one per core); over 1 needs --redis (default 1)"),
    Option("redis", "redis_url", _redis, "the Redis that workers (and nodes) share: room "
           "directory, commands, events (redis://host:port/db)"),
    Option("worker-id", "worker_id", str, "this worker's id (set by the supervisor; on several "
           "nodes each worker's id must be unique)"),
    Option("pipe-address", "pipe_address", _host_port, "host:port this worker's RTP pipe listens "
           "on, for the other workers' feeds (default 127.0.0.1:0; workers add their index)"),
    Option("pipe-advertise", "pipe_advertise", str, "the address other nodes reach this worker's "
           "pipe at, when it differs from --pipe-address's host"),
    Option("cluster-secret", "cluster_secret", str, "seals the pipes between workers (AES-GCM); "
           "the same on every node (default: one per supervisor)"),
    Option("station", "stations", _station, "a permanent room playing on its own: "
           "'name=Jazz;folder=/srv/jazz;shuffle=true;artist_separation=2;title_separation=5;"
           "host_token=...;moderator_token=...' (in the file: [[stations]] tables); repeatable",
           many=True),
    Option("ws-heartbeat", "ws_heartbeat_s", float, "seconds between WebSocket pings; a socket "
           "that does not answer within half of it is closed (default 20)"),
)
BY_KEY = {option.name: option for option in OPTIONS}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onair", description="OnAir: self-hosted live radio shows in the browser."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="run the server",
        description="Run the OnAir server: HTTP API, WebSocket signaling, the SFU and the music "
        "mixer in one process. Each flag is also an ONAIR_* variable (named in its help; lists "
        "comma-separated) and a key of the --config file; flag over variable over file.",
    )
    serve.add_argument("--config", type=Path, default=os.environ.get("ONAIR_CONFIG"),
                       help="a TOML file of settings, keys named as the flags (ONAIR_CONFIG)")
    for option in OPTIONS:
        _add_flag(serve, option)
    return parser


def _add_flag(parser: argparse.ArgumentParser, option: Option) -> None:
    help_text = f"{option.help} ({option.env})"
    dest = option.name.replace("-", "_")
    if option.switch:
        parser.add_argument(f"--{option.name}", dest=dest, action="store_const", const=True,
                            default=None, help=help_text)
    else:
        parser.add_argument(f"--{option.name}", dest=dest, action="append" if option.many else "store",
                            default=None, help=help_text)


def settings_from_args(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
    """Settings from parsed flags, then the environment, then the ``--config`` file."""
    env = os.environ if env is None else env
    file_values = load_config_file(args.config) if getattr(args, "config", None) else {}
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = getattr(args, option.name.replace("-", "_"), None)
        where = f"--{option.name}"
        if raw is None and env.get(option.env, "") != "":
            raw, where = env[option.env], option.env
            raw = [item.strip() for item in raw.split(",") if item.strip()] if option.many else raw
        if raw is None and option.name in file_values:
            raw, where = file_values[option.name], f"'{option.name}' in {args.config}"
        if raw is not None:
            values[option.attr] = option.to_setting(_read(option, raw, where))
    settings = Settings(**values)
    _check_turn(settings)
    ids = [station.room_id for station in settings.stations]
    if len(set(ids)) != len(ids) or (settings.demo and "demo" in ids):
        raise ConfigError("two stations have the same id (the demo station's is 'demo')")
    if settings.workers != "1" and not settings.redis_url:
        raise ConfigError("--workers over 1 needs --redis: the workers find each other there")
    return settings


def _check_turn(settings: Settings) -> None:
    """TURN settings that would leave browsers without the relay they were promised."""
    if bool(settings.turn_urls) != bool(settings.turn_secret):
        raise ConfigError("--turn-url and --turn-secret go together: credentials for those URLs "
                          "are minted from the secret")
    if not settings.turn_urls and (settings.ice_transport_policy == "relay" or settings.turn_server_side):
        raise ConfigError("--ice-transport-policy relay and --turn-server-side need --turn-url and "
                          "--turn-secret")


def _read(option: Option, raw: Any, where: str) -> Any:
    try:
        if option.many:
            items = raw if isinstance(raw, list) else [raw]
            return [option.parse(_item(item)) for item in items]
        return option.parse(_text(raw))
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _item(value: Any) -> Any:
    """One item of a list setting: a table (a station) as it is, anything else as text."""
    return value if isinstance(value, dict) else _text(value)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"expected a string or a number, got {type(value).__name__}")


def load_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file, keyed by flag name; unknown keys are a ``ConfigError``."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    values = {key.replace("_", "-"): value for key, value in data.items()}
    if "stations" in values:  # [[stations]] tables fill --station
        values["station"] = values.pop("stations")
    unknown = sorted(key for key in values if key not in BY_KEY)
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}")
    return values
