"""Grafana boards generated from the definition: structure, coverage of the definition, queries, committed files.

Grafana does not run here, so these tests check what Grafana relies on: one datasource uid that the provisioning
file defines, unique panel ids, a grid without overlaps, rows that are expanded (panels nested in a row are hidden),
variables that exist and are used, metric names from the contract only, and every KPI of the definition present.
The committed boards in deploy/grafana/dashboards must equal the generator's output for examples/acme.yaml.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from scorecard.cli import main
from scorecard.core.definition import Scorecard, load_scorecard, parse_scorecard
from scorecard.outputs import dashboards
from tests.paths import REPO

COMMITTED = REPO / "deploy" / "grafana" / "dashboards"

CONTRACT_METRICS = {
    "scorecard_kpi_value",
    "scorecard_kpi_goal",
    "scorecard_kpi_red_flag",
    "scorecard_kpi_period_goal",
    "scorecard_kpi_period_red_flag",
    "scorecard_kpi_elapsed_ratio",
    "scorecard_kpi_forecast",
    "scorecard_kpi_score",
    "scorecard_kpi_status",
    "scorecard_kpi_contribution",
    "scorecard_perspective_score",
    "scorecard_unit_score",
    "scorecard_unit_info",
    "scorecard_kpi_info",
    "scorecard_last_event_timestamp_seconds",
    "scorecard_exporter_scrape_duration_seconds",
    "scorecard_exporter_scrape_errors_total",
    "scorecard_exporter_redis_up",
    "scorecard_pipeline_events_total",
    "scorecard_pipeline_dead_letters_total",
    "scorecard_pipeline_redis_errors_total",
    "scorecard_pipeline_consumer_lag",
}
CONTRACT_HISTOGRAMS = {
    "scorecard_pipeline_event_lag_seconds",
    "scorecard_pipeline_cascade_batch_size",
    "scorecard_pipeline_cascade_duration_seconds",
}


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(REPO / "examples" / "acme.yaml")


@pytest.fixture(scope="module")
def boards(acme: Scorecard) -> dict[str, dict[str, Any]]:
    return {board["uid"]: board for board in dashboards.build_boards(acme)}


@pytest.fixture(params=["scorecard-overview", "scorecard-kpi", "scorecard-pipeline"])
def board(request: pytest.FixtureRequest, boards: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return boards[request.param]


def _targets(board: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(panel, target) for panel in dashboards.panels(board) for target in panel.get("targets", [])]


def _variables(board: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {v["name"]: v for v in board.get("templating", {}).get("list", [])}


def _references(text: str) -> set[str]:
    return {next(g for g in m.groups() if g) for m in re.finditer(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]", text)}


# --------------------------------------------------------------------------------------------------- structure


def test_the_three_contract_uids_and_titles(boards: dict[str, dict[str, Any]]) -> None:
    assert list(boards) == ["scorecard-overview", "scorecard-kpi", "scorecard-pipeline"]
    assert boards["scorecard-overview"]["title"] == "ACME scorecard: overview"
    assert all("scorecard" in b["tags"] for b in boards.values())


def test_every_panel_and_target_reads_the_datasource_variable_defaulting_to_the_provisioned_one(
    board: dict[str, Any],
) -> None:
    provisioned = yaml.safe_load((REPO / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    uid = provisioned["datasources"][0]["uid"]
    assert uid == dashboards.DATASOURCE_UID == "scorecard-prometheus"
    variables = _variables(board)
    chooser = variables.pop("datasource")
    assert (chooser["type"], chooser["query"], chooser["current"]["value"]) == ("datasource", "prometheus", uid)
    assert "__inputs" not in board  # the provisioned boards: nothing to resolve at import
    via_variable = {"type": "prometheus", "uid": "${datasource}"}
    assert dashboards.panels(board)
    for panel in dashboards.panels(board):
        assert panel["datasource"] == via_variable, panel["title"]
        assert panel["targets"], f"{panel['title']}: a panel without a query"
        for target in panel["targets"]:
            assert target["datasource"] == via_variable, panel["title"]
    for variable in variables.values():
        assert variable["datasource"] == via_variable


def test_panel_ids_are_unique_and_targets_have_distinct_ref_ids(board: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, int) and i > 0 for i in ids)
    for panel in dashboards.panels(board):
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(refs), panel["title"]


def test_panels_fit_the_grid_without_overlapping(board: dict[str, Any]) -> None:
    boxes = []
    for panel in board["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["y"] >= 0 and pos["w"] > 0 and pos["h"] > 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, f"{panel['title']} runs past the 24-column grid: {pos}"
        boxes.append((panel["title"], pos))
    for (a, p), (b, q) in itertools.combinations(boxes, 2):
        apart = (
            p["x"] + p["w"] <= q["x"]
            or q["x"] + q["w"] <= p["x"]
            or p["y"] + p["h"] <= q["y"]
            or q["y"] + q["h"] <= p["y"]
        )
        assert apart, f"{a} {p} overlaps {b} {q}"


def test_rows_are_expanded_and_hold_no_nested_panels(board: dict[str, Any]) -> None:
    # Grafana shows the panels of an expanded row *after* it; panels nested inside a row belong to a collapsed one.
    for row in (p for p in board["panels"] if p["type"] == "row"):
        assert row["collapsed"] is False and row["panels"] == [], row["title"]
        assert row["gridPos"]["w"] == 24 and row["gridPos"]["h"] == 1


def test_variables_exist_and_every_variable_is_used(board: dict[str, Any]) -> None:
    defined = _variables(board)
    used: set[str] = set()
    for panel in dashboards.panels(board):
        texts = [
            panel["title"],
            panel["datasource"]["uid"],
            *(t["expr"] for t in panel["targets"]),
            *(t["datasource"]["uid"] for t in panel["targets"]),
            *(link["url"] for link in panel.get("links", [])),
        ]
        for text in texts:
            used |= _references(text)
    builtins = {*dashboards.BUILTIN_VALUES, "__url_time_range"}
    assert used - builtins <= set(defined), f"undefined variables: {used - builtins - set(defined)}"
    assert set(defined) <= used, f"variables no panel uses: {set(defined) - used}"


def test_board_variables_follow_the_contract(boards: dict[str, dict[str, Any]], acme: Scorecard) -> None:
    overview, kpi = _variables(boards["scorecard-overview"]), _variables(boards["scorecard-kpi"])
    assert list(overview) == ["datasource", "unit"] and list(kpi) == ["datasource", "unit", "kpi"]
    assert overview["unit"]["query"] == "label_values(scorecard_unit_info, unit)"
    assert kpi["kpi"]["query"] == "label_values(scorecard_kpi_info, kpi)"
    assert overview["unit"]["current"]["value"] == acme.org.id
    assert kpi["kpi"]["current"]["value"] == acme.kpis[0].id
    assert list(_variables(boards["scorecard-pipeline"])) == ["datasource"]


def test_queries_use_contract_metric_names_only(board: dict[str, Any]) -> None:
    for panel, target in _targets(board):
        for name in re.findall(r"\bscorecard_\w+", target["expr"]):
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            assert name in CONTRACT_METRICS or base in CONTRACT_HISTOGRAMS, f"{panel['title']}: unknown metric {name}"


# ------------------------------------------------------------------------------------------ definition coverage


def _kpi_panels(overview: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for panel in dashboards.panels(overview):
        kpis = {m for t in panel["targets"] for m in re.findall(r'kpi="([^"]+)"', t["expr"])}
        if kpis:
            assert len(kpis) == 1, f"{panel['title']} mixes KPIs {kpis}"
            found[kpis.pop()] = panel
    return found


def merged(selector: str) -> str:
    """A selector merged over exporter replicas, as every scorecard panel queries it."""
    return f"max without (job, instance) ({selector})"


def test_every_kpi_of_the_definition_has_a_status_and_value_stat(
    boards: dict[str, dict[str, Any]], acme: Scorecard
) -> None:
    found = _kpi_panels(boards["scorecard-overview"])
    assert list(found) == [k.id for p in acme.perspectives for k in acme.kpis_of(p.id)]
    for kpi in acme.kpis:
        panel = found[kpi.id]
        assert panel["type"] == "stat" and panel["title"] == kpi.label
        exprs = {t["refId"]: t["expr"] for t in panel["targets"]}
        assert exprs == {
            "A": merged(f'scorecard_kpi_status{{unit="$unit",kpi="{kpi.id}"}}'),
            "B": merged(f'scorecard_kpi_value{{unit="$unit",kpi="{kpi.id}"}}'),
        }
        assert f"var-kpi={kpi.id}" in panel["links"][0]["url"]


def test_status_mapping_colours_the_status_query_only(boards: dict[str, dict[str, Any]]) -> None:
    for panel in _kpi_panels(boards["scorecard-overview"]).values():
        assert "mappings" not in panel["fieldConfig"]["defaults"], "a KPI value of 0, 1 or 2 would read as a status"
        (status_override,) = [o for o in panel["fieldConfig"]["overrides"] if o["matcher"]["options"] == "A"]
        assert status_override["matcher"]["id"] == "byFrameRefID"
        (mapping,) = [p["value"] for p in status_override["properties"] if p["id"] == "mappings"]
        options = mapping[0]["options"]
        assert {code: (o["text"], o["color"]) for code, o in options.items()} == {
            "2": ("green", "green"),
            "1": ("amber", "orange"),
            "0": ("red", "red"),
        }
        assert panel["options"]["colorMode"] == "background"


def test_display_units_follow_the_definition(boards: dict[str, dict[str, Any]], acme: Scorecard) -> None:
    found = _kpi_panels(boards["scorecard-overview"])
    units = {kpi.id: found[kpi.id]["fieldConfig"]["defaults"]["unit"] for kpi in acme.kpis}
    assert units["revenue"] == "currencyEUR"
    assert units["refund-rate"] == "percent"
    assert units["csat"] == "suffix: /5"
    assert units["nps"] == "none"


def test_kpi_rows_follow_the_perspectives_in_order(boards: dict[str, dict[str, Any]], acme: Scorecard) -> None:
    overview = boards["scorecard-overview"]
    rows = [p for p in overview["panels"] if p["type"] == "row"]
    assert [r["title"] for r in rows] == [
        "Financial (weight 2)",
        "Customer",
        "Internal Process",
        "Learning & Growth",
        "What moved over the time range",
        "History",
    ]
    found = _kpi_panels(overview)
    for row, following in itertools.pairwise(rows):
        inside = [
            p["id"] for p in found.values() if row["gridPos"]["y"] < p["gridPos"]["y"] < following["gridPos"]["y"]
        ]
        perspective = next((p for p in acme.perspectives if row["title"].startswith(p.label)), None)
        if perspective is not None:
            assert inside == [found[k.id]["id"] for k in acme.kpis_of(perspective.id)], row["title"]


def test_what_moved_shows_the_largest_changes_over_the_range_and_links_on(boards: dict[str, dict[str, Any]]) -> None:
    """The KPIs whose contribution to $unit's score changed most over the dashboard's range (a KPI without a score at
    one end counting 0 there) linking to the KPI board, and the children whose score changed most."""
    by_title = {p["title"]: p for p in dashboards.panels(boards["scorecard-overview"])}
    kpis = by_title["What moved: KPI contributions (points of the unit's score)"]
    children = by_title["What moved: child units' scores"]
    now = 'max without (job, instance) (scorecard_kpi_contribution{unit="$unit"})'
    before = 'max without (job, instance) (scorecard_kpi_contribution{unit="$unit"} offset $__range)'
    change = f"(({now} or 0 * {before}) - ({before} or 0 * {now}))"
    (target,) = kpis["targets"]
    info = "max without (job, instance) (scorecard_kpi_info)"
    assert target["expr"] == f"({change} * on(kpi) group_left(name) {info}) and on(kpi) topk(5, abs({change}))"
    assert target["instant"] is True and target["legendFormat"] == "{{name}}"
    (link,) = kpis["fieldConfig"]["defaults"]["links"]
    assert link["url"] == "/d/scorecard-kpi?var-unit=${unit}&var-kpi=${__field.labels.kpi}&${__url_time_range}"
    (target,) = children["targets"]
    assert 'max without (job, instance) (scorecard_unit_info{parent="$unit"})' in target["expr"]
    assert "topk(5, abs(" in target["expr"] and "(scorecard_unit_score offset $__range)" in target["expr"]
    (link,) = children["fieldConfig"]["defaults"]["links"]
    assert link["url"].startswith("/d/scorecard-overview?var-unit=${__field.labels.unit}")


def test_perspective_scores_and_history_cover_every_perspective(
    boards: dict[str, dict[str, Any]], acme: Scorecard
) -> None:
    by_title = {p["title"]: p for p in dashboards.panels(boards["scorecard-overview"])}
    expected = {merged(f'scorecard_perspective_score{{unit="$unit",perspective="{p.id}"}}') for p in acme.perspectives}
    assert {t["expr"] for t in by_title["Perspective scores"]["targets"]} == expected
    history = {t["expr"] for t in by_title["Score history"]["targets"]}
    assert history == expected | {merged('scorecard_unit_score{unit="$unit"}')}
    assert by_title["Overall score"]["type"] == "gauge"
    assert by_title["Overall score"]["targets"][0]["expr"] == merged('scorecard_unit_score{unit="$unit"}')


def test_a_kpi_without_an_objective_still_appears() -> None:
    scorecard = parse_scorecard(
        """
name: Draft
org: {id: solo, children: [{id: team}]}
objectives: [{id: grow, perspective: financial}]
kpis:
  - {id: orders, objective: grow, aggregation: count, source: {event: order}, window: {kind: tumbling, size: 1h}}
  - {id: drafted, name: Not placed yet, aggregation: count, source: {event: visit}, window: {kind: tumbling, size: 1h}}
"""
    )
    overview = dashboards.overview_board(scorecard)
    found = _kpi_panels(overview)
    assert set(found) == {"orders", "drafted"}
    rows = [p for p in overview["panels"] if p["type"] == "row"]
    unplaced = next(r for r in rows if r["title"] == "Not yet in a perspective")
    assert found["drafted"]["gridPos"]["y"] > unplaced["gridPos"]["y"] > found["orders"]["gridPos"]["y"]
    assert found["drafted"]["title"] == "Not placed yet"


def test_kpi_board_line_of_sight_joins_the_children_of_the_unit(boards: dict[str, dict[str, Any]]) -> None:
    by_title = {p["title"]: p for p in dashboards.panels(boards["scorecard-kpi"])}
    for title, metric in [
        ("Children status", "scorecard_kpi_status"),
        ("Children values", "scorecard_kpi_value"),
        ("Children scores", "scorecard_kpi_score"),
    ]:
        (target,) = by_title[title]["targets"]
        children = merged('scorecard_unit_info{parent="$unit"}')
        this_kpi = merged(metric + '{kpi="$kpi"}')
        assert target["expr"] == f"{this_kpi} * on(unit) group_left(name) {children}"
        assert target["legendFormat"] == "{{name}}"
    against = {t["refId"]: t["expr"] for t in by_title["Value against goal and red flag"]["targets"]}
    assert against == {
        "A": merged('scorecard_kpi_value{unit="$unit",kpi="$kpi"}'),
        "B": merged('scorecard_kpi_goal{unit="$unit",kpi="$kpi"}'),
        "C": merged('scorecard_kpi_red_flag{unit="$unit",kpi="$kpi"}'),
        "D": merged('scorecard_kpi_period_goal{unit="$unit",kpi="$kpi"}'),  # the goals to date (B, C) rise to it
        # a KPI that is not paced has no forecast: its value is where it lands, and it is judged on 100%
        "E": merged('scorecard_kpi_forecast{unit="$unit",kpi="$kpi"} or scorecard_kpi_value{unit="$unit",kpi="$kpi"}'),
    }
    (elapsed,) = by_title["Period elapsed"]["targets"]
    assert elapsed["expr"] == merged(
        'scorecard_kpi_elapsed_ratio{unit="$unit",kpi="$kpi"} or (scorecard_kpi_value{unit="$unit",kpi="$kpi"} * 0 + 1)'
    )
    assert by_title["Period elapsed"]["fieldConfig"]["defaults"]["unit"] == "percentunit"


def test_pipeline_board_covers_the_worker_and_exporter_metrics(boards: dict[str, dict[str, Any]]) -> None:
    used = {
        name for _, t in _targets(boards["scorecard-pipeline"]) for name in re.findall(r"\bscorecard_\w+", t["expr"])
    }
    used = {
        re.sub(r"_(bucket|sum|count)$", "", n) if "pipeline_cascade" in n or "lag_seconds" in n else n for n in used
    }
    worker_and_exporter = {m for m in CONTRACT_METRICS | CONTRACT_HISTOGRAMS if "pipeline" in m or "exporter" in m}
    assert worker_and_exporter | {"scorecard_last_event_timestamp_seconds"} <= used


# ---------------------------------------------------------------------------------------------------- queries


def test_panel_queries_substitute_every_variable(board: dict[str, Any]) -> None:
    queries = dashboards.panel_queries(board)
    assert len(queries) == len(_targets(board))
    for title, query in queries:
        assert "$" not in query and "[[" not in query, f"{title}: {query}"


def test_panel_queries_use_the_default_selection_or_the_given_values(boards: dict[str, dict[str, Any]]) -> None:
    kpi_board = boards["scorecard-kpi"]
    queries = dict(dashboards.panel_queries(kpi_board))
    assert queries["Score"] == merged('scorecard_kpi_score{unit="acme",kpi="revenue"}')
    given = dict(dashboards.panel_queries(kpi_board, {"unit": "sales", "kpi": "nps"}))
    assert given["Children values"] == (
        merged('scorecard_kpi_value{kpi="nps"}')
        + " * on(unit) group_left(name) "
        + merged('scorecard_unit_info{parent="sales"}')
    )
    pipeline = dict(dashboards.panel_queries(boards["scorecard-pipeline"]))
    assert pipeline["Redis errors"] == "sum(rate(scorecard_pipeline_redis_errors_total[1m]))"


def test_an_unknown_variable_is_an_error_naming_the_panel() -> None:
    board = {"uid": "b", "panels": [{"type": "stat", "title": "Broken", "targets": [{"expr": 'x{unit="$team"}'}]}]}
    with pytest.raises(ValueError, match=r"b / Broken: variable \$team has no value"):
        dashboards.panel_queries(board)
    assert dashboards.panel_queries(board, {"team": "t1"}) == [("Broken", 'x{unit="t1"}')]


def test_all_grafana_variable_syntaxes_are_substituted() -> None:
    values = {"unit": "acme", **dashboards.BUILTIN_VALUES}
    text = 'a{u="$unit",v="${unit}",w="[[unit]]",x="${unit:raw}"}[$__range] offset $__interval'
    assert dashboards.substitute(text, values) == 'a{u="acme",v="acme",w="acme",x="acme"}[1h] offset 1m'


def test_variable_queries_extract_the_series_selector(boards: dict[str, dict[str, Any]]) -> None:
    assert dashboards.variable_queries(boards["scorecard-kpi"]) == [
        ("variable unit", "scorecard_unit_info"),
        ("variable kpi", "scorecard_kpi_info"),
    ]


# -------------------------------------------------------------------------------------- files and the command


def test_committed_boards_match_the_generator(acme: Scorecard) -> None:
    stale = dashboards.stale_boards(acme, COMMITTED)
    assert not stale, (
        f"stale boards {stale}: run `scorecard dashboards examples/acme.yaml -o {COMMITTED.relative_to(REPO)}`"
    )
    files = sorted(p.name for p in COMMITTED.glob("*.json"))
    assert files == ["scorecard-kpi.json", "scorecard-overview.json", "scorecard-pipeline.json"]


def test_stale_boards_notices_a_changed_file(acme: Scorecard, tmp_path: Path) -> None:
    dashboards.write_boards(acme, tmp_path)
    assert dashboards.stale_boards(acme, tmp_path) == []
    path = tmp_path / "scorecard-kpi.json"
    path.write_text(path.read_text().replace("Children values", "Kids"))
    (tmp_path / "scorecard-pipeline.json").unlink()
    assert dashboards.stale_boards(acme, tmp_path) == [path, tmp_path / "scorecard-pipeline.json"]


def test_cli_writes_the_boards_and_prints_a_summary(tmp_path: Path) -> None:
    out = tmp_path / "boards"
    result = CliRunner().invoke(main, ["dashboards", str(REPO / "examples/acme.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.match(
        r"scorecard-overview +21 panels  ACME scorecard: overview  -> .*scorecard-overview\.json$", lines[0]
    )
    assert re.match(r"scorecard-kpi +11 panels", lines[1]) and re.match(r"scorecard-pipeline +\d+ panels", lines[2])
    assert lines[3] == f"3 boards written to {out}"
    for name in ("scorecard-overview", "scorecard-kpi", "scorecard-pipeline"):
        assert (out / f"{name}.json").read_text() == (COMMITTED / f"{name}.json").read_text()


def test_cli_check_fails_on_stale_boards_and_passes_when_current(tmp_path: Path) -> None:
    acme = str(REPO / "examples/acme.yaml")
    stale = CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path), "--check"])
    assert stale.exit_code == 1
    assert f"{tmp_path / 'scorecard-overview.json'} is missing or stale; run `scorecard dashboards" in stale.stderr
    assert not list(tmp_path.iterdir()), "--check must not write"
    CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path)])
    current = CliRunner().invoke(main, ["dashboards", acme, "-o", str(tmp_path), "--check"])
    assert current.exit_code == 0 and "up to date" in current.stdout


def test_cli_refuses_an_invalid_definition(definitions_dir: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["dashboards", str(definitions_dir / "many_problems.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not a valid scorecard; see `scorecard validate" in result.stderr
    assert not list(tmp_path.iterdir())


def test_grafana_provisions_the_boards_of_the_mounted_definition_which_are_the_committed_ones(tmp_path: Path) -> None:
    """Compose's Grafana reads the boards its deploy-config service generates for the mounted definition; for the
    default definition (the ACME example) they are the committed files, byte for byte."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    providers = yaml.safe_load((REPO / "deploy/grafana/provisioning/dashboards/scorecard.yml").read_text())
    (provider,) = providers["providers"]
    assert provider["type"] == "file"
    mounts = {v.split(":")[1]: v.split(":")[0] for v in compose["services"]["grafana"]["volumes"]}
    assert (REPO / mounts["/etc/grafana/provisioning"]).resolve() == REPO / "deploy/grafana/provisioning"
    board_path = Path(provider["options"]["path"])
    assert mounts[str(board_path.parent)] == "deploy-config" and board_path.name == "dashboards"
    result = CliRunner().invoke(main, ["deploy-config", str(REPO / "examples/acme.yaml"), "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    generated = {p.name: p.read_bytes() for p in (tmp_path / "dashboards").glob("*.json")}
    assert generated and generated == {p.name: p.read_bytes() for p in COMMITTED.glob("*.json")}
