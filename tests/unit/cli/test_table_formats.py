"""`replay --kpis` and `--format csv`: the table by KPI and the CSV exports from the command line."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import load_scorecard
from scorecard.outputs.csv_report import KPI_COLUMNS, UNIT_COLUMNS
from tests.paths import ACME, ACME_EVENTS, REPO

AT = "2026-11-26T12:00:00Z"


def run(*args: str) -> tuple[int, str, str]:
    runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that no name wraps
    result = runner.invoke(main, ["replay", str(ACME), str(ACME_EVENTS), "--at", AT, *args])
    return result.exit_code, result.stdout, result.stderr


def test_replay_kpis_prints_a_row_per_unit_and_kpi() -> None:
    code, out, _ = run("--kpis")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"ACME scorecard at {AT}"
    assert lines[1].split() == ["Unit", "KPI", "Value", "Goal", "Red", "flag", "Score", "Status", "Pace"]  # ACME paces
    scorecard = load_scorecard(ACME)
    rows = [line for line in lines[3:-1] if line.strip()]
    assert len(rows) == 12 * len(scorecard.kpis)  # every KPI of every unit (export depth does not apply)
    assert any("Sales EMEA" in row and "Revenue this month" in row and "EUR" in row for row in rows)
    assert any("% elapsed, forecast " in row and ", period goal " in row for row in rows)  # paced KPIs
    assert any(row.rstrip().endswith("red") for row in rows)  # unpaced ones end with their status


def test_replay_csv_and_csv_kpis_parse_as_tables() -> None:
    code, out, _ = run("--format", "csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0][: len(UNIT_COLUMNS)] == list(UNIT_COLUMNS) and len(rows) == 1 + 12
    assert {row[0] for row in rows[1:]} == {AT}
    code, out, _ = run("--format", "csv", "--kpis")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out, newline="")))
    assert rows[0] == list(KPI_COLUMNS) and len(rows) == 1 + 12 * len(load_scorecard(ACME).kpis)


def test_json_ignores_kpis_since_it_holds_them_all() -> None:
    assert run("--format", "json", "--kpis")[1] == run("--format", "json")[1]


def test_the_readme_shows_the_pace_columns_as_the_replay_writes_them() -> None:
    """README "On pace": the CSV lines and the `--kpis` rows it shows are those of the replay at its default time."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    shown = readme[
        readme.index("Unit                                   KPI") : readme.index("```", readme.index("at,unit_id"))
    ]
    runner = CliRunner(env={"COLUMNS": "200"})
    csv_out = runner.invoke(main, ["replay", str(ACME), str(ACME_EVENTS), "--kpis", "--format", "csv"]).stdout
    table_out = runner.invoke(main, ["replay", str(ACME), str(ACME_EVENTS), "--kpis"]).stdout
    produced = {line.rstrip() for line in [*csv_out.splitlines(), *table_out.splitlines()]}
    lines = [line for line in shown.splitlines() if line.strip()]
    assert len(lines) == 6 and all(line in produced for line in lines), set(lines) - produced
