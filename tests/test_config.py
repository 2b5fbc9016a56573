"""Settings: a flag wins over an ONAIR_* variable, a variable over the config file, the file over defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from signaling.cli import main
from signaling.config import (
    OPTIONS,
    ConfigError,
    Settings,
    build_parser,
    load_config_file,
    settings_from_args,
)


def settings(argv: list[str], env: dict[str, str] | None = None) -> Settings:
    return settings_from_args(build_parser().parse_args(["serve", *argv]), env or {})


def test_defaults_without_flags_variables_or_file() -> None:
    assert settings([]) == Settings()


def test_flag_over_variable_over_file(tmp_path: Path) -> None:
    config = tmp_path / "onair.toml"
    config.write_text('port = 7000\nhost = "0.0.0.0"\njoin-rate = 5\nmedia-address = ["192.0.2.1"]\n')
    env = {"ONAIR_PORT": "7001", "ONAIR_JOIN_RATE": "6"}
    got = settings(["--config", str(config), "--port", "7002"], env)
    assert got.port == 7002  # flag
    assert got.join_rate == 6  # variable
    assert got.host == "0.0.0.0"  # file
    assert got.media_addresses == ["192.0.2.1"]
    assert got.room_create_rate == 10  # default


def test_file_keys_take_dashes_or_underscores_and_convert_units(tmp_path: Path) -> None:
    config = tmp_path / "onair.toml"
    config.write_text('max_upload_mb = 2\nno-demo = true\ntrusted-proxy = ["10.0.0.0/8", "127.0.0.1"]\n'
                      'host-grace = 30\nmusic-dir = ["/srv/a", "/srv/b"]\n')
    got = settings(["--config", str(config)])
    assert got.max_upload_bytes == 2 * 1024 * 1024
    assert got.demo is False
    assert got.trusted_proxies == ["10.0.0.0/8", "127.0.0.1/32"]
    assert got.host_grace_s == 30.0
    assert got.music_dirs == [Path("/srv/a"), Path("/srv/b")]


def test_lists_repeat_as_flags_and_split_on_commas_as_variables() -> None:
    assert settings(["--media-address", "192.0.2.1", "--media-address", "192.0.2.2"]).media_addresses == [
        "192.0.2.1", "192.0.2.2"]
    assert settings([], {"ONAIR_MEDIA_ADDRESS": "192.0.2.1, 192.0.2.2"}).media_addresses == [
        "192.0.2.1", "192.0.2.2"]


def test_an_unknown_key_is_an_error_that_names_it(tmp_path: Path) -> None:
    config = tmp_path / "onair.toml"
    config.write_text('port = 7000\nprot = 7001\nadmin_tokn = "x"\n')
    with pytest.raises(ConfigError, match="admin-tokn, prot"):
        load_config_file(config)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('port = "eighty"', "'port'"),
        ('trusted-proxy = ["not an address"]', "'trusted-proxy'"),
        ('turn-url = ["stun:example.org"]', "'turn-url'"),
        ('log-level = "loud"', "'log-level'"),
        ("port = [1, 2]", "'port'"),
        ("port = 80\nport = 81", "not valid TOML"),
    ],
)
def test_a_bad_value_in_the_file_names_the_setting(tmp_path: Path, text: str, where: str) -> None:
    config = tmp_path / "onair.toml"
    config.write_text(text + "\n")
    with pytest.raises(ConfigError, match=where):
        settings(["--config", str(config)])


def test_a_bad_variable_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="ONAIR_JOIN_RATE"):
        settings([], {"ONAIR_JOIN_RATE": "many"})


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the config file"):
        settings(["--config", str(tmp_path / "nope.toml")])


def test_the_command_line_refuses_a_bad_config_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "onair.toml"
    config.write_text("colour = 1\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--config", str(config)])
    assert exit_info.value.code == 2
    assert "unknown setting(s) colour" in capsys.readouterr().err


def test_every_option_fills_a_settings_field() -> None:
    fields = set(Settings.__dataclass_fields__)
    assert {option.attr for option in OPTIONS} <= fields
