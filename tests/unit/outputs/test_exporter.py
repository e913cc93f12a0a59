"""The exporter's formatting step, without Redis: replay-built results in, metric families and text out.

The numbers are checked against the replay's JSON report (a separate rendering of the same evaluation), the fast
text rendering against ``prometheus_client``'s own, and the export policy and info labels against the definition.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from scorecard.core.contributions import FLOAT_TOLERANCE, contributions, scores_from_report
from scorecard.core.definition import Scorecard, load_scorecard, validate_scorecard
from scorecard.core.evaluation import buckets_at, score_units, subtree_states
from scorecard.core.hierarchy import OrgTree
from scorecard.core.replay import ReplayResult, replay
from scorecard.core.updates import Counts
from scorecard.outputs.exporter import (
    Family,
    Layout,
    ScorecardCollector,
    exposition,
    redis_client,
    subtree_stream_times,
)
from scorecard.redis.store import RedisStore
from tests.paths import REPO

STATUS = {"green": 2.0, "amber": 1.0, "red": 0.0}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture(scope="module")
def acme() -> Scorecard:
    return load_scorecard(REPO / "examples" / "acme.yaml")


@pytest.fixture(scope="module")
def replayed(acme: Scorecard) -> ReplayResult:
    return replay(acme, (REPO / "examples" / "acme-events.jsonl").read_bytes().splitlines())


def _collector(scorecard: Scorecard) -> ScorecardCollector:
    """A collector whose Redis is a closed port: only scrape() tries it, and gets a refusal at once."""
    return ScorecardCollector(scorecard, RedisStore(redis_client("redis://127.0.0.1:1/0"), "unit"))


def _families(scorecard: Scorecard, result: ReplayResult) -> list[Family]:
    """What a scrape at the replay's time would emit, from the replay's own states instead of Redis."""
    assert result.at is not None
    tree = OrgTree.from_scorecard(scorecard)
    subtree = subtree_states(scorecard, tree, result.own_states(), buckets_at(scorecard, result.at))
    results = score_units(scorecard, tree, subtree, result.at)
    counts = Counts({u: {"stream_time": s.stream_time} for u, s in result.states.items()}, {})
    return _collector(scorecard).families(results, counts)


def _parse(text: str) -> Samples:
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def _by_unit_kpi(samples: Samples, name: str) -> dict[tuple[str, str], float]:
    return {(dict(labels)["unit"], dict(labels)["kpi"]): v for (n, labels), v in samples.items() if n == name}


def test_kpi_samples_equal_the_replay_report(acme: Scorecard, replayed: ReplayResult) -> None:
    report: dict[str, Any] = replayed.evaluate()
    samples = _parse(exposition(_families(acme, replayed)).decode())
    families = {
        name: _by_unit_kpi(samples, f"scorecard_kpi_{name}")
        for name in ("value", "goal", "red_flag", "score", "status")
    }
    checked = {"value": 0, "status": 0, "none": 0}
    for unit, unit_report in report["units"].items():
        for kpi_id, kpi in unit_report["kpis"].items():
            key = (unit, kpi_id)
            for name in ("value", "goal", "red_flag", "score"):
                if kpi[name] is None:
                    assert key not in families[name], (name, key)
                    checked["none"] += 1
                else:
                    assert families[name][key] == kpi[name], (name, key)
                    checked["value"] += 1
            if kpi["status"] == "no_data":
                assert key not in families["status"]
            else:
                assert families["status"][key] == STATUS[kpi["status"]]
                checked["status"] += 1
    assert min(checked.values()) > 10  # the example has values, missing values and statuses


def test_time_aware_samples_equal_the_replay_report(acme: Scorecard, replayed: ReplayResult) -> None:
    report: dict[str, Any] = replayed.evaluate()
    samples = _parse(exposition(_families(acme, replayed)).decode())
    fields = {"period_goal": "period_goal", "period_red_flag": "period_red_flag", "elapsed": "elapsed_ratio"}
    fields["forecast"] = "forecast"
    families = {field: _by_unit_kpi(samples, f"scorecard_kpi_{name}") for field, name in fields.items()}
    paced = 0
    for unit, unit_report in report["units"].items():
        for kpi_id, kpi in unit_report["kpis"].items():
            for field in fields:
                if kpi[field] is None:
                    assert (unit, kpi_id) not in families[field], (field, unit, kpi_id)
                else:
                    assert families[field][unit, kpi_id] == kpi[field], (field, unit, kpi_id)
            if kpi["elapsed"] is not None and kpi["goal"] is not None:
                paced += 1  # the paced goal is what scorecard_kpi_goal carries (the other test checks it equal)
                assert kpi["goal"] == kpi["period_goal"] * kpi["elapsed"]
    assert paced > 10  # revenue, urgent tickets, training hours... at every unit with targets
    assert families["elapsed"][("sales-emea", "revenue")] < 1
    assert ("sales-emea", "online-basket") not in families["elapsed"]  # an average on a rolling window


def test_period_ends_equal_the_replay_windows_of_calendar_and_tumbling_kpis(
    acme: Scorecard, replayed: ReplayResult
) -> None:
    """The forecast alert's time left comes from this series: the end of the window the report shows, as Unix time."""
    report: dict[str, Any] = replayed.evaluate()
    samples = _parse(exposition(_families(acme, replayed)).decode())
    ends = _by_unit_kpi(samples, "scorecard_kpi_period_end_timestamp_seconds")
    kinds = {k.id: k.window.kind for k in acme.kpis}
    checked = {"calendar": 0, "tumbling": 0, "rolling": 0}
    for unit, unit_report in report["units"].items():
        for kpi_id, kpi in unit_report["kpis"].items():
            kind = kinds[kpi_id]
            checked[kind] += 1
            if kind == "rolling":
                assert (unit, kpi_id) not in ends
            else:
                end = datetime.fromisoformat(kpi["window"]["end"].replace("Z", "+00:00")).timestamp()
                assert ends[unit, kpi_id] == end, (unit, kpi_id)
    assert min(checked.values()) > 0  # ACME has all three kinds


def test_unit_and_perspective_scores_equal_the_replay_report(acme: Scorecard, replayed: ReplayResult) -> None:
    report: dict[str, Any] = replayed.evaluate()
    samples = _parse(exposition(_families(acme, replayed)).decode())
    for unit, unit_report in report["units"].items():
        key = ("scorecard_unit_score", frozenset({("unit", unit)}))
        assert samples.get(key) == unit_report["score"]
        for perspective, score in unit_report["perspectives"].items():
            key = ("scorecard_perspective_score", frozenset({("unit", unit), ("perspective", perspective)}))
            assert samples.get(key) == score


def test_contributions_sum_to_the_unit_score_and_equal_the_exact_ones(acme: Scorecard, replayed: ReplayResult) -> None:
    """scorecard_kpi_contribution: per unit, the samples sum to scorecard_unit_score, each within FLOAT_TOLERANCE of
    the exact contribution (docs/semantics.md, section 7); KPIs without a score or perspective have no sample."""
    report: dict[str, Any] = replayed.evaluate()
    exact = contributions(acme, replayed.tree, scores_from_report(report))
    samples = _parse(exposition(_families(acme, replayed)).decode())
    shares = _by_unit_kpi(samples, "scorecard_kpi_contribution")
    for unit, unit_report in report["units"].items():
        mine = {k: v for (u, k), v in shares.items() if u == unit}
        assert set(mine) == set(exact.kpis[unit])
        for kpi_id, value in mine.items():
            assert abs(value - float(exact.kpis[unit][kpi_id])) <= FLOAT_TOLERANCE
        if unit_report["score"] is None:
            assert not mine
        else:
            assert abs(math.fsum(mine.values()) - unit_report["score"]) <= FLOAT_TOLERANCE
    assert len(shares) > 50


def test_kpi_labels_carry_perspective_and_objective(acme: Scorecard, replayed: ReplayResult) -> None:
    samples = _parse(exposition(_families(acme, replayed)).decode())
    labels = next(dict(ls) for (n, ls) in samples if n == "scorecard_kpi_value" and ("kpi", "revenue") in ls)
    assert (labels["perspective"], labels["objective"]) == ("financial", "grow-revenue")


def test_last_event_time_is_the_newest_of_the_subtree_and_ignores_invalid() -> None:
    data = {
        "name": "t",
        "org": {"id": "root", "children": [{"id": "a", "children": [{"id": "a1"}, {"id": "a2"}]}, {"id": "b"}]},
        "objectives": [{"id": "o", "perspective": "financial"}],
        "kpis": [{"id": "k", "objective": "o", "aggregation": "count", "source": {"event": "e"},
                  "window": {"kind": "tumbling", "size": "1d"}}],
    }  # fmt: skip
    tree = OrgTree.from_scorecard(validate_scorecard(data))
    counts = Counts(
        {
            "a1": {"stream_time": 100.0},
            "a2": {"stream_time": 250.5},
            "b": {"stream_time": None},
            "root": {"stream_time": 50.0},
            "__invalid__": {"stream_time": 9999.0},
            "gone-unit": {"stream_time": 8888.0},
        },
        {0: {"counts": {"invalid": 3}}},
    )
    assert subtree_stream_times(tree, counts) == {"a1": 100.0, "a2": 250.5, "a": 250.5, "b": None, "root": 250.5}


def test_max_depth_limits_the_exported_units(acme: Scorecard) -> None:
    tree = OrgTree.from_scorecard(acme)
    assert Layout(acme, tree).units == tree.units  # acme exports depth <= 2: all three levels
    for depth, expected in ((0, ["acme"]), (1, ["acme", "sales", "support", "operations", "people"])):
        scorecard = acme.model_copy(update={"export": acme.export.model_copy(update={"max_depth": depth})})
        layout = Layout(scorecard, tree)
        assert list(layout.units) == expected
        assert {labels[0] for labels in layout.kpi_families[0].labels} == set(expected)
        assert [labels[0] for labels in layout.unit_info.labels] == expected


def test_info_series(acme: Scorecard) -> None:
    layout = Layout(acme, OrgTree.from_scorecard(acme))
    units = {labels[0]: labels for labels in layout.unit_info.labels}
    assert units["acme"] == ("acme", "ACME Corp", "", "0", "executive-office")
    assert units["sales-emea"] == ("sales-emea", "Sales EMEA", "sales", "2", "sales-emea-team")
    kpis = {labels[0]: labels for labels in layout.kpi_info.labels}
    assert kpis["refund-rate"] == (
        "refund-rate", "Refunds as a share of revenue", "financial", "protect-margin", "%", "lower_is_better", "finance"
    )  # fmt: skip
    assert len(kpis) == len(acme.kpis)
    assert {value for _, value in layout.kpi_info.samples} == {1.0}


def test_fast_rendering_parses_like_prometheus_client(acme: Scorecard) -> None:
    """Awkward label values and numbers: our text and generate_latest's must give the same samples."""
    data: dict[str, Any] = yaml.safe_load((REPO / "examples" / "acme.yaml").read_text())
    data["org"]["name"] = 'ACME "Corp" \\ Holdings\nEurope'
    scorecard = validate_scorecard(data)
    collector = _collector(scorecard)
    layout = collector.layout
    families = [
        layout.unit_info,
        layout.kpi_info,
        layout.kpi_families[0].with_samples([(0, 1e16), (1, -0.1), (2, float("inf")), (3, float("-inf")), (4, 3)]),
        collector._error_family.with_samples([(0, 7.0)]),
    ]

    class Fixed:
        def collect(self):  # type: ignore[no-untyped-def]
            return (family.to_metric() for family in families)

    registry = CollectorRegistry()
    registry.register(Fixed())
    ours, theirs = _parse(exposition(families).decode()), _parse(generate_latest(registry).decode())
    assert ours == theirs
    assert ours["scorecard_exporter_scrape_errors_total", frozenset()] == 7.0
    root = next(dict(ls) for (n, ls) in ours if n == "scorecard_unit_info" and ("unit", "acme") in ls)
    assert root["name"] == 'ACME "Corp" \\ Holdings\nEurope'


def test_nan_renders_as_prometheus_nan(acme: Scorecard) -> None:
    family = _collector(acme).layout.unit_score.with_samples([(0, float("nan"))])
    assert exposition([family]).decode().splitlines()[-1] == 'scorecard_unit_score{unit="acme"} NaN'


def test_every_metric_is_documented(acme: Scorecard, replayed: ReplayResult) -> None:
    """docs/metrics.md names every family the exporter and the worker expose (as they appear in /metrics)."""
    from streams.metrics import PipelineMetrics

    doc = (REPO / "docs" / "metrics.md").read_text()
    # a scrape with Redis unreachable still gives the info and health families; the rest come from the replay
    exporter = [*_families(acme, replayed), *_collector(acme).scrape()]
    names = {f"{f.name}_total" if f.kind == "counter" else f.name for f in exporter}
    for family in PipelineMetrics().registry.collect():
        names.add(f"{family.name}_total" if family.type == "counter" else family.name)
    assert len(names) >= 20
    missing = sorted(name for name in names if f"`{name}`" not in doc)
    assert not missing, f"add these to docs/metrics.md: {missing}"


def test_collector_works_in_a_prometheus_client_registry(acme: Scorecard) -> None:
    """Registered in a registry of one's own, the collector scrapes on collect(); with Redis unreachable it says so."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(_collector(acme))
    samples = _parse(generate_latest(registry).decode())
    assert samples["scorecard_exporter_redis_up", frozenset()] == 0.0
    assert samples["scorecard_exporter_scrape_errors_total", frozenset()] == 1.0
    assert not any(name == "scorecard_kpi_value" for name, _ in samples)
