"""Sending the generated boards' queries to a real Prometheus: the test tooling of the dashboards and the e2e test.

``check_queries`` runs every panel and variable query of a board (``dashboards.panel_queries`` and
``variable_queries`` resolve the Grafana variables) through ``run_query`` and lists what failed.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from scorecard.outputs.dashboards import panel_queries, variable_queries


@dataclass(frozen=True)
class QueryProblem:
    board: str
    panel: str
    query: str
    error: str

    def __str__(self) -> str:
        return f"{self.board} / {self.panel}: {self.error}\n    {self.query}"


def run_query(prom_url: str, query: str, timeout: float = 10.0) -> dict[str, Any]:
    """One instant query through Prometheus' HTTP API; the decoded JSON, errors included (they carry the reason)."""
    url = f"{prom_url.rstrip('/')}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            payload: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:  # 400/422 answers still carry Prometheus' JSON error body
        payload = json.load(error)
    return payload


def check_queries(
    prom_url: str,
    board: Mapping[str, Any],
    *,
    values: Mapping[str, str] | None = None,
    require_data: bool = False,
    allow_empty: Collection[str] = (),
    timeout: float = 10.0,
) -> list[QueryProblem]:
    """Run every panel and variable query of ``board`` against Prometheus; the problems found (empty: all good).

    A query fails when Prometheus answers with an error (``bad_data`` for a parse error, ``execution`` for e.g. a
    many-to-many join); with ``require_data`` an empty result is a problem too (use it when the exporter and the
    worker are running and have data), except for the panel titles in ``allow_empty``: a labelled counter such as
    the dead letters by reason has no series at all until its first increment.
    """
    uid = str(board.get("uid", "?"))
    problems = []
    for title, query in [*variable_queries(board), *panel_queries(board, values)]:
        answer = run_query(prom_url, query, timeout)
        if answer.get("status") != "success":
            problems.append(QueryProblem(uid, title, query, f"{answer.get('errorType')}: {answer.get('error')}"))
        elif require_data and title not in allow_empty and not answer.get("data", {}).get("result"):
            problems.append(QueryProblem(uid, title, query, "no data"))
    return problems
