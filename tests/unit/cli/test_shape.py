"""One shape for every command (docs/cli.md): the definition as -s FILE or SCORECARD_DEFINITION, -h, suggestions for
a mistyped command, -o as where output goes (never a default folder), durations in Prometheus's syntax, --check on
every generator."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.cli.definition_option import DEFINITION_ENV
from scorecard.cli.params import Duration
from tests.paths import ACME, ACME_EVENTS, DEFINITIONS

# Commands reading a definition: not publish (it sends any events file as it is), schema (it describes the format
# itself) or init (its FILE is the definition it creates).
WITH_DEFINITION = {"validate", "replay", "status", "report", "worker", "simulate", "exporter", "board", "rules"}
WITH_DEFINITION |= {"alertmanager", "dashboards", "events", "explain"}
# Commands writing files another program reads (Prometheus, Alertmanager, Grafana, editors): each has --check.
GENERATORS = {"rules", "alertmanager", "dashboards", "schema"}


def invoke(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), env=env)


def first_lines(path: Path, count: int, target: Path) -> Path:
    """The first ``count`` lines of ``path`` (the example's first invalid line comes later) in ``target``."""
    target.write_bytes(b"".join(path.read_bytes().splitlines(keepends=True)[:count]))
    return target


# --------------------------------------------------------------------------------------------------- the definition
def test_every_command_takes_the_definition_as_s_and_from_the_variable() -> None:
    taking = {
        name for name, command in main.commands.items() if any(p.name == "scorecard_path" for p in command.params)
    }
    assert taking >= WITH_DEFINITION
    for name in taking:
        [option] = [p for p in main.commands[name].params if p.name == "scorecard_path"]
        assert isinstance(option, click.Option), name
        assert option.opts == ["-s", "--scorecard"] and option.envvar == DEFINITION_ENV, name


@pytest.mark.parametrize(
    "args",
    [["validate", str(ACME)], ["validate", "-s", str(ACME)], ["validate", "--scorecard", str(ACME)], ["validate"]],
)
def test_validate_reads_the_definition_from_s_the_argument_or_the_variable(args: list[str]) -> None:
    result = invoke(*args, env={DEFINITION_ENV: str(ACME)})
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ACME scorecard")


def test_the_argument_wins_over_the_variable() -> None:
    result = invoke("validate", str(DEFINITIONS / "many_problems.yaml"), env={DEFINITION_ENV: str(ACME)})
    assert result.exit_code == 1 and "many_problems.yaml is not valid" in result.stderr


def test_no_definition_or_two_different_ones_are_usage_errors() -> None:
    missing = invoke("rules", "-o", "unused", env={DEFINITION_ENV: ""})
    assert missing.exit_code == 2
    assert "no scorecard definition: give -s FILE (or set SCORECARD_DEFINITION)" in missing.stderr
    twice = invoke("validate", "-s", str(ACME), str(DEFINITIONS / "minimal.yaml"))
    assert twice.exit_code == 2 and "two definitions given" in twice.stderr
    same = invoke("validate", "-s", str(ACME), str(ACME))
    assert same.exit_code == 0, same.output


def test_replay_takes_the_definition_first_or_from_s(tmp_path: Path) -> None:
    events = str(first_lines(ACME_EVENTS, 30, tmp_path / "events.jsonl"))
    older = invoke("replay", str(ACME), events, "--format", "json")
    shaped = invoke("replay", "-s", str(ACME), events, "--format", "json")
    from_variable = invoke("replay", events, "--format", "json", env={DEFINITION_ENV: str(ACME)})
    assert older.exit_code == shaped.exit_code == from_variable.exit_code == 0, older.output
    assert older.stdout == shaped.stdout == from_variable.stdout
    assert '"accepted": 29' in older.stdout
    for args in (["-s", str(ACME)], [str(ACME), events, events]):
        wrong = invoke("replay", *args)
        assert wrong.exit_code == 2 and "expected [FILE] EVENTS" in wrong.stderr


# ---------------------------------------------------------------------------------------------- -h, suggestions
@pytest.mark.parametrize("name", ["", *sorted(main.commands)])
def test_h_is_help_everywhere(name: str) -> None:
    result = invoke(*([name] if name else []), "-h")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: main {name}".rstrip())


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [
        ("valdate", "did you mean validate?"),
        ("dashbaords", "did you mean dashboards?"),
        ("rule", "did you mean rules?"),
    ],
)
def test_a_mistyped_command_gets_a_suggestion(typed: str, suggested: str) -> None:
    result = invoke(typed, str(ACME))
    assert result.exit_code == 2
    assert f"no command '{typed}'; {suggested}" in result.stderr


def test_an_unknown_command_far_from_any_points_to_the_list() -> None:
    result = invoke("\x1b[31mxyzzy")
    assert result.exit_code == 2
    assert "no command '\\x1b[31mxyzzy'; `main -h` lists them" in result.stderr
    assert "\x1b" not in result.stderr


# ------------------------------------------------------------------------------------------------------------- -o
@pytest.mark.parametrize("name", sorted(main.commands))
def test_o_is_the_output_path_wherever_it_exists_and_never_a_default_folder(name: str) -> None:
    options = [p for p in main.commands[name].params if isinstance(p, click.Option) and "-o" in p.opts]
    for option in options:
        assert option.opts[:2] == ["-o", "--output"]
        folder = isinstance(option.type, click.Path) and not option.type.file_okay
        assert option.required or not folder, f"{name}: -o is a folder defaulting to {option.default}"


def test_dashboards_without_o_writes_nothing_where_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("dashboards", str(ACME))
    assert result.exit_code == 2 and "Missing option '-o' / '--output'" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_simulate_o_and_its_older_name_out_write_the_same_file(tmp_path: Path) -> None:
    outputs = []
    for flag in ("-o", "--out"):
        path = tmp_path / f"events{flag}.jsonl"
        args = ["simulate", "-s", str(ACME), flag, str(path), "--days", "1", "--start", "2026-11-01T00:00:00Z"]
        result = invoke(*args)
        assert result.exit_code == 0, result.output
        outputs.append(path.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") > 100


# ------------------------------------------------------------------------------------------------------- durations
@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        *[("90s", 90), ("1h30m", 5400), ("500ms", 0.5), ("1m30s500ms", 90.5), ("2w", 1209600), ("1y", 365 * 86400)],
        *[("2.5", 2.5), ("30", 30), (" 10m ", 600), ("0", 0)],
    ],
)
def test_durations_read_as_prometheus_reads_them(text: str, seconds: float) -> None:
    assert Duration(zero=True).convert(text, None, None) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("5x", "expected a duration like 30s, 1h30m or 500ms, or seconds; got '5x'"),
        ("30m1h", "got '30m1h'"),  # units largest first, as in Prometheus
        ("1h 30m", "got '1h 30m'"),
        ("1.5h", "got '1.5h'"),
        ("-5s", "got '-5s'"),
        ("nan", "got 'nan'"),
        ("inf", "got 'inf'"),
        ("", "got ''"),
        ("1" * 5000 + "s", "at most 12 digits"),
        ("1h\x1b[2J", "got '1h\\x1b[2J'"),
    ],
)
def test_bad_durations_are_refused_in_one_line(text: str, message: str) -> None:
    with pytest.raises(click.BadParameter) as raised:
        Duration().convert(text, None, None)
    assert message in raised.value.format_message()
    assert "\x1b" not in raised.value.format_message() and len(raised.value.format_message()) < 200


def test_duration_bounds_are_said() -> None:
    with pytest.raises(click.BadParameter, match="expected a positive duration, got '0'"):
        Duration().convert("0", None, None)
    with pytest.raises(click.BadParameter, match="expected at least 6s, got '5s'"):
        Duration(minimum=6).convert("5s", None, None)
    with pytest.raises(click.BadParameter, match="expected whole seconds, got '1500ms'"):
        Duration(whole_seconds=True).convert("1500ms", None, None)


@pytest.mark.parametrize(
    ("command", "option"),
    [
        ("board", "--duration"),
        ("board", "--refresh"),
        ("simulate", "--duration"),
        ("simulate", "--backfill"),
        ("rules", "--for"),
        ("rules", "--stale-after"),
        ("worker", "--session-timeout"),
        ("worker", "--commit-interval"),
        ("worker", "--stop-timeout"),
        ("worker", "--kafka-wait"),
        ("deploy-config", "--for"),
        ("deploy-config", "--stale-after"),
    ],
)
def test_every_duration_option_takes_the_one_format(command: str, option: str) -> None:
    [param] = [p for p in main.commands[command].params if option in p.opts]
    assert isinstance(param.type, Duration)


def test_rules_write_compound_and_subsecond_durations(tmp_path: Path) -> None:
    result = invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--for", "500ms", "--stale-after", "1h30m")
    assert result.exit_code == 0, result.output
    health = (tmp_path / "scorecard-health.yml").read_text()
    assert "for: 500ms" in health and "> 5400\n" in health
    refused = invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--for", "5x")
    assert refused.exit_code == 2 and "Invalid value for --for: expected a duration like" in refused.stderr


# -------------------------------------------------------------------------------------------------------- --check
@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_every_generator_has_check(name: str) -> None:
    assert any(p.name == "check" for p in main.commands[name].params)


def test_rules_check_fails_on_missing_and_stale_files_and_passes_when_current(tmp_path: Path) -> None:
    missing = invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--check")
    assert missing.exit_code == 1
    assert f"{tmp_path}/scorecard-kpis.yml is missing; run `scorecard rules -s {ACME} -o {tmp_path}`" in missing.stderr
    assert list(tmp_path.iterdir()) == []  # --check writes nothing
    assert invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--for", "10m").exit_code == 0
    stale = invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--check")
    assert stale.exit_code == 1 and "scorecard-health.yml is stale" in stale.stderr
    current = invoke("rules", "-s", str(ACME), "-o", str(tmp_path), "--check", "--for", "600s")
    assert current.exit_code == 0, current.output
    assert current.stdout == "3 files up to date\n"  # kpis, health, units


def test_alertmanager_check_compares_the_file_and_needs_one(tmp_path: Path) -> None:
    config = tmp_path / "alertmanager.yml"
    hooks = ["--webhook-url", "https://relay.example/{team}"]
    assert invoke("alertmanager", "-s", str(ACME), "-o", str(config), "--check", *hooks).exit_code == 1
    assert invoke("alertmanager", "-s", str(ACME), "-o", str(config), *hooks).exit_code == 0
    assert invoke("alertmanager", "-s", str(ACME), "-o", str(config), "--check", *hooks).exit_code == 0
    stale = invoke("alertmanager", "-s", str(ACME), "-o", str(config), "--check")
    assert stale.exit_code == 1 and f"{config} is stale; run `scorecard alertmanager -s {ACME} -o {config}`" in (
        stale.stderr
    )
    to_stdout = invoke("alertmanager", "-s", str(ACME), "--check")
    assert to_stdout.exit_code == 2 and "--check compares with a file: give it with -o FILE" in to_stdout.stderr
