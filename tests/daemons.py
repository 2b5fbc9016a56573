"""Real servers for tests: nginx, coturn and redis-server as child processes.

Each runs in a temp dir of its own, on free loopback ports, in its own process
group, and is stopped by that group's id (SIGTERM, then SIGKILL), never by
name. ``start()`` returns only once the server answers: nginx accepts a TCP
connection, coturn answers a STUN binding request, redis answers ``PING``.
The Debian packages (``make daemons``) provide the binaries; a missing one is
an error, not a skip.
"""

from __future__ import annotations

import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
NGINX_SITE = ROOT / "docs" / "deploy" / "nginx.conf"
LOOPBACK = "127.0.0.1"


def free_port(kind: int = socket.SOCK_STREAM, host: str = LOOPBACK) -> int:
    """A port nobody listens on right now (TCP by default)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def free_port_both(host: str = LOOPBACK) -> int:
    """A port free for UDP and for TCP at once (coturn listens on both, whatever its flags say)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP")


def free_udp_range(count: int, attempts: int = 50) -> tuple[int, int]:
    """``count`` consecutive free UDP ports (coturn's relay range), first and last."""
    for _ in range(attempts):
        first = random.randrange(40_000, 60_000 - count)
        socks: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind((LOOPBACK, port))
            return first, first + count - 1
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free UDP ports")


def binary(name: str) -> str:
    """The absolute path of a daemon's binary (also where Debian puts it outside root's PATH)."""
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError(f"{name} is not installed (make daemons installs nginx, coturn, redis-server)")


class Daemon:
    """One child server: started, waited for until ``ready()`` says yes, stopped by process group."""

    def __init__(self, name: str, command: list[str], workdir: Path,
                 ready: Callable[[], bool], start_timeout_s: float = 15.0) -> None:
        self.name = name
        self.command = command
        self.workdir = workdir
        self.ready = ready
        self.start_timeout_s = start_timeout_s
        self.log_path = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.workdir,
                                         start_new_session=True)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not answer in {self.start_timeout_s} s: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the child's process group, SIGKILL if it lingers."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait_s)
                return
            except subprocess.TimeoutExpired:
                continue

    def kill(self) -> None:
        """SIGKILL to the child's process group at once: it vanishes with all it held."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)

    def __enter__(self) -> Daemon:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def tcp_answers(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False

    return check


STUN_BINDING_REQUEST = 0x0001
STUN_BINDING_SUCCESS = 0x0101
STUN_MAGIC = 0x2112A442


def stun_answers(host: str, port: int) -> Callable[[], bool]:
    """A STUN binding request over UDP gets a success response with our transaction id."""

    def check() -> bool:
        txid = secrets.token_bytes(12)
        request = struct.pack("!HHI", STUN_BINDING_REQUEST, 0, STUN_MAGIC) + txid
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(0.5)
            try:
                sock.sendto(request, (host, port))
                data, _ = sock.recvfrom(2048)
            except OSError:
                return False
        kind, _, magic = struct.unpack("!HHI", data[:8])
        return kind == STUN_BINDING_SUCCESS and magic == STUN_MAGIC and data[8:20] == txid

    return check


def redis_answers(host: str, port: int) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    return check


# ---- coturn ------------------------------------------------------------------------------------


@dataclass
class Coturn:
    """coturn in ``use-auth-secret`` mode on loopback, relaying between loopback peers."""

    workdir: Path
    secret: str
    realm: str = "onair.test"
    relay_ports: int = 40

    def __post_init__(self) -> None:
        self.port = free_port_both()
        self.min_port, self.max_port = free_udp_range(self.relay_ports)
        self.daemon = Daemon("turnserver", self.command, self.workdir, stun_answers(LOOPBACK, self.port))

    @property
    def url(self) -> str:
        return f"turn:{LOOPBACK}:{self.port}?transport=udp"

    @property
    def command(self) -> list[str]:
        return [
            binary("turnserver"), "-n",  # no config file: everything is on this line
            f"--listening-ip={LOOPBACK}", f"--listening-port={self.port}", f"--relay-ip={LOOPBACK}",
            f"--min-port={self.min_port}", f"--max-port={self.max_port}",
            "--use-auth-secret", f"--static-auth-secret={self.secret}", f"--realm={self.realm}",
            "--allow-loopback-peers", "--no-tls", "--no-dtls", "--no-cli",
            f"--pidfile={self.workdir / 'turnserver.pid'}", f"--userdb={self.workdir / 'turndb'}",
            f"--log-file={self.workdir / 'turn.log'}", "--simple-log", "--verbose",
        ]

    def log(self) -> str:
        """coturn's own log (verbose: one line per allocation, with its username)."""
        try:
            return (self.workdir / "turn.log").read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> Coturn:
        self.daemon.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.daemon.stop()


# ---- redis -------------------------------------------------------------------------------------


@dataclass
class Redis:
    """redis-server without persistence, on a free loopback port."""

    workdir: Path

    def __post_init__(self) -> None:
        self.port = free_port()
        command = [binary("redis-server"), "--bind", LOOPBACK, "--port", str(self.port),
                   "--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.daemon = Daemon("redis", command, self.workdir, redis_answers(LOOPBACK, self.port))

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"

    def __enter__(self) -> Redis:
        self.daemon.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.daemon.stop()


# ---- nginx -------------------------------------------------------------------------------------


def self_signed_certificate(workdir: Path, name: str = LOOPBACK) -> tuple[Path, Path]:
    """A one-day certificate and its key for ``name`` (openssl req -x509)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cert, key = workdir / "cert.pem", workdir / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=IP:{name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )
    return cert, key


def substitute(text: str, replacements: Mapping[str, str]) -> str:
    """Replace each key of ``replacements``; a key that is not in ``text`` is an error."""
    for old, new in replacements.items():
        if old not in text:
            raise ValueError(f"{old!r} is not in the file: the test's substitutions are out of date")
        text = text.replace(old, new)
    return text


WRAPPER = """\
# Generated for a test: the main context Debian's /etc/nginx/nginx.conf would give,
# with every path under this temp dir. The site itself is docs/deploy/nginx.conf.
worker_processes 1;
error_log {prefix}/error.log info;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    include {site};
}}
"""


class Nginx:
    """nginx running docs/deploy/nginx.conf, with only its ports, certificate and backend replaced.

    The shipped site listens on 80 and 443 of every address and proxies to
    127.0.0.1:8080; here it listens on free loopback ports and proxies to
    ``backend_port``. ``replacements`` maps text of the site to what the test
    uses; each must occur in the file, so a site that changed shape fails
    loudly instead of being tested half-substituted.
    """

    def __init__(self, workdir: Path, backend_port: int, site: Path = NGINX_SITE) -> None:
        self.workdir = workdir
        self.https_port = free_port()
        self.http_port = free_port()
        self.cert, self.key = self_signed_certificate(workdir / "tls")
        self.replacements = {
            "listen 443 ssl;": f"listen {LOOPBACK}:{self.https_port} ssl;",
            "listen 80;": f"listen {LOOPBACK}:{self.http_port};",
            "/etc/letsencrypt/live/radio.example.org/fullchain.pem": str(self.cert),
            "/etc/letsencrypt/live/radio.example.org/privkey.pem": str(self.key),
            "server 127.0.0.1:8080": f"server 127.0.0.1:{backend_port}",
        }
        self.site = workdir / "onair-site.conf"
        self.site.write_text(substitute(site.read_text(), self.replacements))
        (workdir / "tmp").mkdir(exist_ok=True)
        self.conf = workdir / "nginx.conf"
        self.conf.write_text(WRAPPER.format(prefix=workdir, site=self.site))
        command = [binary("nginx"), "-p", str(workdir), "-c", str(self.conf),
                   "-e", str(workdir / "error.log"), "-g", f"daemon off; pid {workdir / 'nginx.pid'};"]
        self.daemon = Daemon("nginx", command, workdir, tcp_answers(LOOPBACK, self.https_port))

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.https_port}"

    def check_config(self) -> subprocess.CompletedProcess[str]:
        """``nginx -t`` on the generated configuration."""
        return subprocess.run([*self.daemon.command, "-t"], capture_output=True, text=True, timeout=30)

    def error_log(self) -> str:
        return (self.workdir / "error.log").read_text(errors="replace")

    def __enter__(self) -> Nginx:
        self.daemon.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.daemon.stop()
