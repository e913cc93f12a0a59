"""The Redis security and HA settings: variables, secret files, flags, and the one-line errors for bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.config import RedisOptions, SettingError, Settings, parse_sentinels
from tests.paths import REPO

ACME = str(REPO / "examples" / "acme.yaml")
SECRET = 'S3cr3t "pw" with spaces'


def test_options_come_from_the_variables_and_go_back_to_them(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    monkeypatch.setenv("SCORECARD_REDIS_CA_FILE", "/certs/ca.crt")
    monkeypatch.setenv("SCORECARD_REDIS_USERNAME", "scorecard")
    monkeypatch.setenv("SCORECARD_REDIS_PASSWORD_FILE", str(secret_file))
    monkeypatch.setenv("SCORECARD_REDIS_SENTINELS", "10.0.0.1:26379, [::1]:26380")
    monkeypatch.setenv("SCORECARD_REDIS_SENTINEL_SERVICE", "scorecard")
    options = Settings.from_env().redis_options
    assert options == RedisOptions(
        ca_file="/certs/ca.crt",
        username="scorecard",
        password=SECRET,
        sentinels=(("10.0.0.1", 26379), ("::1", 26380)),
        sentinel_service="scorecard",
    )
    monkeypatch.delenv("SCORECARD_REDIS_PASSWORD_FILE")
    for name, value in options.to_env().items():
        monkeypatch.setenv(name, value)
    assert RedisOptions.from_env() == options


def test_secrets_never_show_in_repr() -> None:
    options = RedisOptions(username="u", password=SECRET, sentinel_password=SECRET, cluster=True)
    text = repr(Settings("k", "redis://h", "p", "t", "a", 1, options))
    assert SECRET not in text and "password='***'" in text and "sentinel_password='***'" in text


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"SCORECARD_REDIS_PASSWORD": "a", "SCORECARD_REDIS_PASSWORD_FILE": "/x"}, "both set; keep one"),
        ({"SCORECARD_REDIS_PASSWORD_FILE": "/no/such/file"}, "SCORECARD_REDIS_PASSWORD_FILE: cannot read /no/such"),
        ({"SCORECARD_REDIS_SENTINELS": "host-without-port"}, "expected host:port"),
        ({"SCORECARD_REDIS_SENTINELS": "h:99999"}, "expected host:port"),
        ({"SCORECARD_REDIS_CLUSTER": "maybe"}, "expected true or false"),
        ({"SCORECARD_REDIS_CLUSTER": "yes", "SCORECARD_REDIS_SENTINELS": "h:1"}, "exclusive"),
        ({"SCORECARD_REDIS_KEY_FILE": "/k"}, "needs its certificate"),
    ],
)
def test_bad_variables_are_one_line_errors(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], message: str
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=message) as caught:
        RedisOptions.from_env()
    assert "\n" not in str(caught.value)


def test_tls_files_need_rediss_and_unix_sockets_no_sentinel() -> None:
    with pytest.raises(SettingError, match="not rediss://"):
        RedisOptions(ca_file="/ca").check_url("redis://h:6379/0")
    RedisOptions(ca_file="/ca").check_url("REDISS://h:6379/0")
    for url in ("redis://h:1/2", "redis://h:1?db=3"):
        with pytest.raises(SettingError, match="only database 0"):
            RedisOptions(cluster=True).check_url(url)
    RedisOptions(cluster=True).check_url("redis://h:1")
    RedisOptions(cluster=True).check_url("redis://h:1/0")
    with pytest.raises(SettingError, match="unix://"):
        RedisOptions(cluster=True).check_url("unix:///run/redis.sock")


def test_parse_sentinels_skips_empty_items() -> None:
    assert parse_sentinels(" a:1,,b:2 ,") == (("a", 1), ("b", 2))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--redis-ca-file", ACME], "not rediss://"),
        (["--redis-sentinels", "nope"], "--redis-sentinels: expected host:port"),
        (["--redis-sentinels", "h:1", "--redis-cluster"], "exclusive"),
        (["--redis-url", "redis://h:1/5", "--redis-cluster"], "only database 0"),
        (["--redis-password", SECRET, "--redis-password-file", ACME], "--redis-password and --redis-password-file"),
    ],
)
def test_bad_flags_are_usage_errors_without_the_secret(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, ["status", "--scorecard", ACME, *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and SECRET not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
