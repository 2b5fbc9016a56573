"""docs/deploy/: the example config names every setting and starts a server; the systemd unit verifies.

These are files a newcomer copies as they are, so the tests read the shipped
files themselves: a setting added to signaling/config.py without a line in
onair.toml, or a unit systemd would warn about, fails here.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from benchmarks.server import LocalServer, onair_command
from signaling.config import BY_KEY, OPTIONS, Settings, build_parser, load_config_file, settings_from_args
from signaling.model.turn import credential_for, expiry_of

DEPLOY = Path(__file__).resolve().parent.parent / "docs" / "deploy"
EXAMPLE = DEPLOY / "onair.toml"
UNIT = DEPLOY / "onair.service"
COMMENTED_SETTING = re.compile(r"^# ([a-z][a-z-]*) = ", re.MULTILINE)
SHIPPED_BINARY = "/opt/onair/.venv/bin/onair"


# ---- onair.toml ----------------------------------------------------------------------------------


def uncommented(tmp_path: Path) -> Path:
    """The example with every ``# key = value`` line turned on."""
    path = tmp_path / "all-settings.toml"
    path.write_text(COMMENTED_SETTING.sub(r"\1 = ", EXAMPLE.read_text()))
    return path


def test_the_example_config_shows_every_setting_once(tmp_path: Path) -> None:
    active = load_config_file(EXAMPLE)
    every = load_config_file(uncommented(tmp_path))  # a key shown twice would be a TOML error here
    assert sorted(set(every) - set(active)) == sorted(COMMENTED_SETTING.findall(EXAMPLE.read_text()))
    assert sorted(every) == sorted(option.name for option in OPTIONS), "a setting has no line in onair.toml"


def test_each_commented_setting_shows_its_default_or_an_example(tmp_path: Path) -> None:
    args = build_parser().parse_args(["serve", "--config", str(uncommented(tmp_path))])
    shown = settings_from_args(args, env={})  # every value parses
    defaults = Settings()
    for key in COMMENTED_SETTING.findall(EXAMPLE.read_text()):
        attr = BY_KEY[key].attr
        default = getattr(defaults, attr)
        if default is None or default == []:
            continue  # nothing by default: the line is an example
        assert getattr(shown, attr) == default, f"'# {key}' in onair.toml is not the default {default!r}"


def test_the_example_config_is_set_for_nginx_and_turn() -> None:
    settings = settings_from_args(build_parser().parse_args(["serve", "--config", str(EXAMPLE)]), env={})
    assert settings.host == "127.0.0.1" and settings.port == 8080  # what nginx.conf proxies to
    assert settings.trusted_proxies == ["127.0.0.1/32"]
    assert settings.turn_urls and settings.turn_secret and settings.admin_token
    assert settings.data_dir == Path("/var/lib/onair")
    assert "server 127.0.0.1:8080;" in (DEPLOY / "nginx.conf").read_text()


class ExampleConfigServer(LocalServer):
    """``onair serve --config docs/deploy/onair.toml`` with only host, port and paths given as flags."""

    @property
    def command(self) -> list[str]:
        music = self.data_dir / "music"
        music.mkdir(parents=True, exist_ok=True)
        return [*onair_command(), "serve", "--config", str(EXAMPLE), "--host", "127.0.0.1",
                "--port", str(self.port), "--data-dir", str(self.data_dir), "--music-dir", str(music),
                "--media-address", "127.0.0.1", "--log-level", "warning"]


def get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_a_server_starts_from_the_example_config(tmp_path: Path) -> None:
    example = load_config_file(EXAMPLE)
    with ExampleConfigServer(tmp_path / "data") as server:
        status, body = get(f"{server.url}/api/config")
        assert status == 200
        turn = json.loads(body)["ice_servers"][-1]
        assert turn["urls"] == example["turn-url"]
        assert turn["credential"] == credential_for(example["turn-secret"], turn["username"])
        assert expiry_of(turn["username"]) is not None
        assert get(f"{server.url}/metrics", example["admin-token"])[0] == 200
        assert get(f"{server.url}/metrics", "not-the-token")[0] in (401, 403)


# ---- onair.service -------------------------------------------------------------------------------


def unit_entries(text: str) -> dict[str, dict[str, list[str]]]:
    """A unit file's sections, each key with every value it was given (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def test_the_unit_runs_onair_serve_with_the_config_as_its_own_user() -> None:
    unit = unit_entries(UNIT.read_text())
    service = unit["Service"]
    one = {key: values[-1] for key, values in service.items()}
    assert one["User"] == one["Group"] == "onair"
    exec_start = shlex.split(one["ExecStart"])
    assert exec_start[0] == SHIPPED_BINARY
    args = build_parser().parse_args(exec_start[1:])
    assert args.command == "serve" and args.config == Path("/etc/onair/onair.toml")
    assert one["Restart"] == "on-failure"
    hardening = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes",
                 "PrivateTmp": "yes", "PrivateDevices": "yes", "CapabilityBoundingSet": "",
                 "RestrictSUIDSGID": "yes", "StateDirectory": "onair"}
    assert {key: one.get(key) for key in hardening} == hardening
    # The only place it may write is the data dir the example config names.
    data_dir = str(load_config_file(EXAMPLE)["data-dir"])
    assert service["ReadWritePaths"] == [data_dir] and data_dir == "/var/lib/" + one["StateDirectory"]
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]
    assert "network-online.target" in unit["Unit"]["After"][0]


def systemd_analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:  # `make daemons` installs it: missing is a failure, not a skip
        pytest.fail("no systemd-analyze (apt-get install systemd)")
    return found


def installable_copy(tmp_path: Path, text: str) -> Path:
    """The unit with its binary path pointed at this checkout's ``onair`` (verify checks it exists)."""
    onair = Path(sys.executable).with_name("onair")
    assert onair.exists(), "the onair script is not installed in this venv"
    assert text.count(SHIPPED_BINARY) == 1
    path = tmp_path / "onair.service"
    path.write_text(text.replace(SHIPPED_BINARY, str(onair)))
    return path


def verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([systemd_analyze(), "verify", str(unit)], capture_output=True, text=True,
                          timeout=60)


def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    checked = verify(installable_copy(tmp_path, UNIT.read_text()))
    assert checked.returncode == 0 and checked.stdout + checked.stderr == "", checked.stdout + checked.stderr


def test_systemd_analyze_verify_does_catch_a_mistake(tmp_path: Path) -> None:
    """The check above is not blind: a misspelt option is reported."""
    broken = UNIT.read_text().replace("NoNewPrivileges=yes", "NoNewPrivilege=yes")
    checked = verify(installable_copy(tmp_path, broken))
    assert "Unknown key 'NoNewPrivilege'" in checked.stdout + checked.stderr


def test_the_units_exposure_is_low(tmp_path: Path) -> None:
    checked = subprocess.run(
        [systemd_analyze(), "security", "--offline=true", str(installable_copy(tmp_path, UNIT.read_text()))],
        capture_output=True, text=True, timeout=60,
    )
    found = re.search(r"Overall exposure level for onair\.service: ([\d.]+)", checked.stdout)
    assert found, checked.stdout + checked.stderr
    assert float(found.group(1)) <= 2.0, checked.stdout  # systemd calls up to 3.9 "OK"; ours measured 1.3
