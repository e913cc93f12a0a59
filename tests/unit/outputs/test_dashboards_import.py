"""The boards for Grafana's Import page, imported the way Grafana imports them.

``grafana_import`` is Grafana's import step (pkg/services/dashboardimport/utils/dash_template_evaluator.go): every
``__inputs`` entry needs an input of the same name and type, each ``${NAME}`` of an input anywhere in a string becomes
the input's value (other ``${...}`` stay as they are), and ``__inputs`` is dropped. ``datasource_uid`` is how the
board then finds a panel's datasource: a ``${variable}`` uid reads the variable's selection. Every panel, target and
query variable of every imported board must reach the datasource chosen on import, and nothing may be left that
names the provisioned uid or an unresolved input.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, load_scorecard
from scorecard.outputs import dashboards
from tests.paths import REPO

COMMITTED = REPO / "deploy" / "grafana" / "import"
CHOSEN = "team-prometheus-7f3a"  # the uid of a datasource in someone else's Grafana
_INPUT_REFERENCE = re.compile(r"(\$\{.+?\})")
_VARIABLE_UID = re.compile(r"^\$\{(\w+)\}$")


def grafana_import(board: dict[str, Any], inputs: list[dict[str, str]]) -> dict[str, Any]:
    """Resolve the board's ``__inputs`` with ``inputs`` (``name``, ``type``, ``value``) as Grafana's import does."""
    replacements: dict[str, str] = {}
    for declared in board.get("__inputs", []):
        given = next(
            (i for i in inputs if i["type"] == declared["type"] and i["name"] in (declared["name"], "*")), None
        )
        if given is None:
            raise LookupError(f"dashboard import failed: missing dashboard input variable {declared['name']}")
        replacements["${" + declared["name"] + "}"] = given["value"]

    def evaluate(value: Any) -> Any:
        if isinstance(value, str):
            return _INPUT_REFERENCE.sub(lambda m: replacements.get(m.group(1), m.group(1)), value)
        if isinstance(value, dict):
            return {key: evaluate(item) for key, item in value.items() if key != "__inputs"}
        if isinstance(value, list):
            return [evaluate(item) for item in value]
        return value

    result: dict[str, Any] = evaluate(board)
    return result


def datasource_uid(board: dict[str, Any], ref: dict[str, str]) -> str:
    """The uid a datasource reference reaches: itself, or the selection of the variable it names."""
    match = _VARIABLE_UID.match(ref["uid"])
    if not match:
        return ref["uid"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    variable = variables[match.group(1)]  # a KeyError is a reference to no variable
    assert variable["type"] == "datasource" and variable["query"] == ref["type"], variable
    return str(variable["current"]["value"])


def every_datasource_ref(board: dict[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(where, reference) for every panel, target and query variable."""
    refs = []
    for panel in dashboards.panels(board):
        refs.append((panel["title"], panel["datasource"]))
        refs += [(f"{panel['title']} / {t['refId']}", t["datasource"]) for t in panel["targets"]]
    refs += [(f"variable {v['name']}", v["datasource"]) for v in board["templating"]["list"] if "datasource" in v]
    return refs


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(REPO / "examples" / "acme.yaml")


def importable_boards(acme: Scorecard) -> list[dict[str, Any]]:
    generated = dashboards.build_boards(acme, for_import=True)
    committed = [json.loads((COMMITTED / f"{board['uid']}.json").read_text()) for board in generated]
    assert committed == generated, (
        "deploy/grafana/import is stale: run `scorecard dashboards -s examples/acme.yaml"
        " -o deploy/grafana/import --for-import`"
    )
    return generated


def test_every_imported_panel_reads_the_datasource_chosen_on_import(acme: Scorecard) -> None:
    for board in importable_boards(acme):
        assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
        imported = grafana_import(board, [{"name": "DS_PROMETHEUS", "type": "datasource", "value": CHOSEN}])
        text = json.dumps(imported)
        assert "__inputs" not in imported and "${DS_" not in text and dashboards.DATASOURCE_UID not in text
        refs = every_datasource_ref(imported)
        assert len(refs) > 2 * len(dashboards.panels(imported)), board["uid"]
        for where, ref in refs:
            assert ref["type"] == "prometheus", where
            assert datasource_uid(imported, ref) == CHOSEN, f"{board['uid']} / {where}"


def test_the_imported_board_is_the_provisioned_one_on_the_chosen_datasource(acme: Scorecard) -> None:
    """Apart from the datasource it starts on (and the import's own keys), an imported board is the provisioned one."""
    for provisioned, board in zip(dashboards.build_boards(acme), importable_boards(acme), strict=True):
        imported = grafana_import(board, [{"name": "*", "type": "datasource", "value": CHOSEN}])
        del imported["__requires"]
        for variable in provisioned["templating"]["list"]:
            if variable["name"] == "datasource":
                variable["current"] = {"selected": True, "text": CHOSEN, "value": CHOSEN}
        assert imported == provisioned


def test_the_provisioned_boards_start_on_the_provisioned_uid(acme: Scorecard) -> None:
    for board in dashboards.build_boards(acme):
        for where, ref in every_datasource_ref(board):
            assert datasource_uid(board, ref) == dashboards.DATASOURCE_UID, where


def test_an_import_without_the_datasource_input_fails_as_in_grafana(acme: Scorecard) -> None:
    board = dashboards.build_boards(acme, for_import=True)[0]
    with pytest.raises(LookupError, match="missing dashboard input variable DS_PROMETHEUS"):
        grafana_import(board, [{"name": "DS_PROMETHEUS", "type": "constant", "value": CHOSEN}])


def test_the_import_declares_what_it_needs(acme: Scorecard) -> None:
    board = dashboards.build_boards(acme, for_import=True)[0]
    (declared,) = board["__inputs"]
    assert declared | {"description": ""} == {
        "name": "DS_PROMETHEUS",
        "label": "Prometheus",
        "description": "",
        "type": "datasource",
        "pluginId": "prometheus",
        "pluginName": "Prometheus",
    }
    requires = {(r["type"], r["id"]) for r in board["__requires"]}
    assert requires == {("grafana", "grafana"), ("datasource", "prometheus")}


def test_cli_writes_and_checks_the_boards_for_import(tmp_path: Path) -> None:
    acme = str(REPO / "examples/acme.yaml")
    written = CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path), "--for-import"])
    assert written.exit_code == 0, written.output
    assert "__inputs" in (tmp_path / "scorecard-kpi.json").read_text()
    current = CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path), "--check", "--for-import"])
    assert current.exit_code == 0 and "up to date" in current.stdout
    provisioned = CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path), "--check"])
    assert provisioned.exit_code == 1  # the folder holds boards for import, not for provisioning
    assert "is missing or stale; run `scorecard dashboards" in provisioned.stderr
