"""``--web-config`` of ``scorecard exporter`` and ``scorecard worker``: a bad file is one line on stderr and exit 1,
before any port, Redis or Kafka is touched (the addresses given here lead nowhere)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from scorecard.cli import main
from tests.paths import ACME

NOWHERE = ["--redis-url", "redis://127.0.0.1:1/0"]
COMMANDS = {
    "exporter": ["exporter", "--scorecard", str(ACME), "--port", "0", *NOWHERE],
    "worker": ["worker", "--scorecard", str(ACME), "--kafka-bootstrap", "127.0.0.1:1", "--metrics-port", "0", *NOWHERE],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_web_config_is_one_line_and_exit_1(tmp_path: Path, command: str) -> None:
    config = tmp_path / "web.yml"
    config.write_text('basic_auth_users:\n  "alice\\x1b[31m": not-a-hash\n')  # a real ESC, shown escaped
    result = CliRunner().invoke(main, [*COMMANDS[command], "--web-config", str(config)])
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"{config}:2: basic_auth_users.alice\\x1b[31m: not a bcrypt hash; expected a bcrypt hash such as $2y$10$ "
        "followed by 53 characters (make one with `htpasswd -nBC 10 USER` or `python -c 'import bcrypt, getpass; "
        "print(bcrypt.hashpw(getpass.getpass().encode(), bcrypt.gensalt()).decode())'`)\n"
    )
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(("command", "envvar"), [("exporter", "SCORECARD_EXPORTER_WEB_CONFIG"),
                                                  ("worker", "SCORECARD_METRICS_WEB_CONFIG")])  # fmt: skip
def test_the_variable_names_the_file_too(tmp_path: Path, command: str, envvar: str) -> None:
    missing = tmp_path / "missing.yml"
    result = CliRunner().invoke(main, COMMANDS[command], env={envvar: str(missing)})
    assert result.exit_code == 1
    assert result.stderr == f"{missing}: cannot read the web config: No such file or directory\n"
