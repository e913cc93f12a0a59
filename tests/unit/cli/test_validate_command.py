"""`scorecard validate`: exit codes, problems on stderr as FILE:LINE: path: message, the summary on stdout."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from scorecard.cli import main


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_valid_example_prints_a_summary_and_exits_0(example_path: Path) -> None:
    code, out, err = run("validate", str(example_path))
    assert code == 0, err
    assert err == ""
    assert out.startswith(f"ACME scorecard  ({example_path}: valid)")
    assert "timezone      Europe/Paris" in out
    assert re.search(r"org +1[0-9] units, depth 2 \(root acme", out)
    assert re.search(r"Financial +weight 2 +3 KPIs", out)
    assert re.search(r"Learning & Growth +weight 1 +\d+ KPIs", out)
    assert re.search(r"aggregations +sum \d+, count \d+, avg \d+, min \d+, max \d+, nps \d+, ratio \d+", out)
    assert re.search(r"windows +tumbling \d+, calendar \d+, rolling \d+ \(calendar: month \d+", out)
    assert "lower is better" in out
    assert "balance       no warnings" in out
    assert len(out.splitlines()) <= 24  # one screen


def test_problems_go_to_stderr_one_per_line_and_exit_1(definitions_dir: Path) -> None:
    path = definitions_dir / "many_problems.yaml"
    code, out, err = run("validate", str(path))
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert lines[0] == (
        f"{path}:2: timezone: unknown timezone 'Mars/Olympus'; expected an IANA name like UTC or Europe/Paris"
    )
    assert [line.split(": ")[0] for line in lines[:-1]] == [f"{path}:{n}" for n in (2, 7, 9, 14, 15, 17)]
    assert lines[-1] == f"6 problems found; {path} is not valid"


def test_syntax_error_is_reported_with_its_line(definitions_dir: Path) -> None:
    path = definitions_dir / "syntax_error.yaml"
    code, _, err = run("validate", str(path))
    assert code == 1
    assert err.startswith(f"{path}:7: YAML syntax error: ")


def test_balance_warnings_are_shown_but_do_not_fail(definitions_dir: Path) -> None:
    path = definitions_dir / "minimal.yaml"
    code, out, _ = run("validate", str(path))
    assert code == 0
    assert "balance       4 warnings" in out
    assert f"warning: {path}: perspectives[1]: perspective 'customer' has no KPI" in out
    assert "org           1 unit, depth 0 (root solo, 1 leaf)" in out


def test_strict_fails_on_balance_warnings(definitions_dir: Path, example_path: Path) -> None:
    assert run("validate", "--strict", str(definitions_dir / "minimal.yaml"))[0] == 1
    assert run("validate", "--strict", str(example_path))[0] == 0


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("validate", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "does not exist" in err


def test_main_is_a_group_listing_validate() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "validate" in out
