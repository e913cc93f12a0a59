"""The scorecard as Prometheus saw it at a past time: the report shape rebuilt from the exporter's scraped series.

Redis keeps only the current and previous windows, so ``scorecard explain`` reads the earlier end of a live
explanation from Prometheus' history: one instant query per family (``scorecard_kpi_value``, ``_goal``,
``_red_flag``, ``_score``, ``scorecard_perspective_score``, ``scorecard_unit_score``) at that time, through the HTTP
API (``/api/v1/query?time=T``). Prometheus answers with the newest sample at or before T within its lookback
(5 minutes by default), the value printed as the shortest decimal that reads back as the same float, so the
numbers are exactly those the exporter computed at that scrape. A missing sample means what it means at the
exporter: no value, no target, no score.

The result has the shape of ``evaluation.report`` for the exported units (``contract.exported_units``), which is all
``scorecard.core.contributions`` reads; the event counts are not in Prometheus' scorecard series and stay empty.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any, Final

from scorecard.config import redact_url
from scorecard.contract import (
    KPI_GOAL,
    KPI_RED_FLAG,
    KPI_SCORE,
    KPI_VALUE,
    PERSPECTIVE_SCORE,
    UNIT_SCORE,
    exported_units,
)
from scorecard.core.definition import Scorecard
from scorecard.core.timeutil import format_time
from scorecard.outputs.http_request import authenticated_request

__all__ = ["PrometheusError", "report_at"]

TIMEOUT: Final = 10.0
"""Seconds one query may take."""

_KPI_FIELDS: Final = {KPI_VALUE: "value", KPI_GOAL: "goal", KPI_RED_FLAG: "red_flag", KPI_SCORE: "score"}


class PrometheusError(Exception):
    """Prometheus could not be asked (``unreachable``), refused the query, or holds no scorecard at that time (a
    one-line reason)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


def report_at(scorecard: Scorecard, url: str, at: float, match: str = "") -> dict[str, Any]:
    """The report at ``at`` as Prometheus recorded it; ``match`` adds label matchers (``job="scorecard-exporter"``)
    to every selector, to pick one exporter when several scrape units of the same ids."""
    units = exported_units(scorecard)
    known = set(units)
    kpi_ids = [k.id for k in scorecard.kpis]
    kpis: dict[str, dict[str, dict[str, Any]]] = {
        u: {k: {"value": None, "goal": None, "red_flag": None, "score": None} for k in kpi_ids} for u in units
    }
    found = 0
    for metric, field in _KPI_FIELDS.items():
        for labels, value in _query(url, metric, match, at, ("unit", "kpi")).items():
            unit, kpi_id = labels
            if unit in known and kpi_id in kpis[unit]:
                kpis[unit][kpi_id][field] = value
                found += 1
    perspectives: dict[str, dict[str, float | None]] = {u: {p.id: None for p in scorecard.perspectives} for u in units}
    for (unit, perspective), value in _query(url, PERSPECTIVE_SCORE, match, at, ("unit", "perspective")).items():
        if unit in known and perspective in perspectives[unit]:
            perspectives[unit][perspective] = value
    scores = {labels[0]: value for labels, value in _query(url, UNIT_SCORE, match, at, ("unit",)).items()}
    if not found and not scores:
        where = f" matching {{{match}}}" if match else ""
        raise PrometheusError(
            f"Prometheus at {redact_url(url)} holds no scorecard series{where} at {format_time(at)}: was it scraping "
            "the exporter of this scorecard then (its lookback is 5 minutes)?"
        )
    return {
        "at": format_time(at),
        "events": {},
        "units": {u: {"score": scores.get(u), "perspectives": perspectives[u], "kpis": kpis[u]} for u in units},
    }


def _query(url: str, metric: str, match: str, at: float, keys: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    """One instant query of ``metric{match}`` at ``at``: label values of ``keys`` -> value, each key set once."""
    selector = f"{metric}{{{match}}}" if match else metric
    query = urllib.parse.urlencode({"query": selector, "time": repr(at)})
    answer = _get(f"{url.rstrip('/')}/api/v1/query?{query}", url)
    if answer.get("status") != "success":
        raise PrometheusError(
            f"Prometheus at {redact_url(url)} refused {selector}: {answer.get('errorType')}: {answer.get('error')}"
        )
    out: dict[tuple[str, ...], float] = {}
    for series in answer.get("data", {}).get("result", []):
        labels: Mapping[str, str] = series.get("metric", {})
        key = tuple(labels.get(k, "") for k in keys)
        if key in out:
            raise PrometheusError(
                f"Prometheus at {redact_url(url)} has several {metric} series for {dict(zip(keys, key, strict=True))}"
                " (several exporters?): pick one with --prometheus-match, e.g. 'job=\"scorecard-exporter\"'"
            )
        out[key] = float(series["value"][1])
    return out


def _get(address: str, url: str) -> dict[str, Any]:
    """GET the API and decode its JSON (error answers carry JSON too); a ``user:password@`` goes as basic auth."""
    request = authenticated_request(address)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            payload: dict[str, Any] = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            payload = json.load(error)
        except ValueError:
            raise PrometheusError(
                f"Prometheus at {redact_url(url)} answered HTTP {error.code}", unreachable=True
            ) from None
    except (OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        raise PrometheusError(f"cannot query Prometheus at {redact_url(url)}: {reason}", unreachable=True) from None
    return payload
