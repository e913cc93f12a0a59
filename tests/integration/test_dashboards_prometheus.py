"""Every query of the generated Grafana boards, sent to the real Prometheus: each must parse and execute.

Without the exporter and the worker the results are empty; that they return data is checked by the end-to-end test
(``check_queries(..., require_data=True)``). Here the checker itself is also shown to catch both kinds of failure.
"""

from __future__ import annotations

from typing import Any

import pytest

from scorecard import contract
from scorecard.config import Settings
from scorecard.core.definition import load_scorecard
from scorecard.outputs import dashboards
from tests.integration.promql import check_queries, run_query
from tests.paths import REPO


@pytest.fixture(scope="module")
def prometheus_url(settings: Settings) -> str:
    url = settings.prometheus_url
    try:
        answer = run_query(url, "vector(1)", timeout=5)
    except OSError as error:
        pytest.fail(f"Prometheus is not reachable at {url} ({error}); start it with `make services-up`", pytrace=False)
    assert answer["status"] == "success", answer
    return url


def _board(uid: str) -> dict[str, Any]:
    boards = dashboards.build_boards(load_scorecard(REPO / "examples" / "acme.yaml"))
    return next(b for b in boards if b["uid"] == uid)


@pytest.mark.parametrize("uid", [contract.OVERVIEW_BOARD_UID, contract.KPI_BOARD_UID, contract.PIPELINE_BOARD_UID])
def test_every_board_query_parses_and_runs(prometheus_url: str, uid: str) -> None:
    board = _board(uid)
    assert len(dashboards.panel_queries(board)) >= 10
    problems = check_queries(prometheus_url, board)
    assert not problems, "\n".join(map(str, problems))


def test_kpi_board_queries_run_for_another_unit_and_kpi(prometheus_url: str) -> None:
    problems = check_queries(prometheus_url, _board(contract.KPI_BOARD_UID), values={"unit": "sales", "kpi": "nps"})
    assert not problems, "\n".join(map(str, problems))


def test_check_queries_reports_parse_and_execution_errors_and_empty_results(prometheus_url: str) -> None:
    many = '(vector(1) or label_replace(vector(1), "x", "y", "", ""))'
    board = {
        "uid": "probe",
        "panels": [
            {"type": "stat", "title": "parse", "targets": [{"expr": "rate(x[$__rate_interval]"}]},
            {"type": "stat", "title": "join", "targets": [{"expr": f"{many} * on() {many}"}]},
            {"type": "stat", "title": "empty", "targets": [{"expr": "vector(1) > 2"}]},
            {"type": "stat", "title": "fine", "targets": [{"expr": "vector(1)"}]},
        ],
    }
    problems = {p.panel: p.error for p in check_queries(prometheus_url, board)}
    assert set(problems) == {"parse", "join"}
    assert problems["parse"].startswith("bad_data:")
    assert problems["join"].startswith("execution:") and "many-to-many" in problems["join"]
    with_data = {p.panel: p.error for p in check_queries(prometheus_url, board, require_data=True)}
    assert with_data["empty"] == "no data" and "fine" not in with_data
    allowed = check_queries(prometheus_url, board, require_data=True, allow_empty={"empty"})
    assert {p.panel for p in allowed} == {"parse", "join"}
