"""``scorecard explain``: what moved a unit's score between two times, and why (docs/semantics.md, section 7).

Both evaluations come from one source: a replay of an event file (``--events``: the file is replayed once and
evaluated at ``--since`` and ``--at``), or the live system, Redis for ``--at`` (default now) and Prometheus' history
for ``--since`` (``scorecard.outputs.prometheus_history``: Redis keeps no history). Live, only the exported units
(``export.max_depth``) are explained, since Prometheus holds no others. The two JSON reports go through
``scorecard.core.contributions`` and ``scorecard.core.movers``; the top movers are printed as a tree
(``scorecard.outputs.explain_view``) or as JSON.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click
import orjson

from scorecard.cli.console import plural, terminal_console
from scorecard.cli.definition_option import load_or_exit, scorecard_option
from scorecard.cli.options import app_id_option
from scorecard.cli.options_prometheus import prometheus_history_options
from scorecard.cli.options_redis import redis_option
from scorecard.cli.params import parse_at, time_param
from scorecard.cli.read import _replay_file
from scorecard.cli.services import require_live, unavailable
from scorecard.config import RedisOptions
from scorecard.contract import exported_units
from scorecard.core.contributions import contributions, scores_from_report
from scorecard.core.definition import Scorecard
from scorecard.core.hierarchy import OrgTree
from scorecard.core.movers import Explanation, explain
from scorecard.outputs.explain_view import explanation_tree
from scorecard.outputs.terminal import printable
from scorecard.redis.store import RedisStore

__all__ = ["DEFAULT_TOP", "explain_command", "explain_units", "explanation_document", "prometheus_history_reports"]

DEFAULT_TOP = 5
"""KPIs, and child units per level, that ``explain`` and ``report --since`` show by default."""


@click.command("explain")
@scorecard_option
@click.option("--unit", "unit_id", required=True, help="The unit whose score to explain (its id).")
@click.option("--since", "since_text", required=True, metavar="TIME", help="The earlier time (RFC 3339 or epoch).")
@click.option(
    "--at",
    "at_text",
    metavar="TIME",
    help="The later time (RFC 3339 or epoch seconds).  [default: newest accepted event with --events, else now]",
)
@click.option(
    "--events",
    "events_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Replay this JSON Lines event file and evaluate it at both times, instead of the live system.",
)
@redis_option
@app_id_option
@prometheus_history_options
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=DEFAULT_TOP,
    show_default=True,
    help="How many KPIs, and child units per level, to show (0: every move).",
)
@click.option("--format", "output_format", type=click.Choice(["tree", "json"]), default="tree", show_default=True)
def explain_command(
    scorecard_path: Path,
    unit_id: str,
    since_text: str,
    at_text: str | None,
    events_path: Path | None,
    redis_url: str,
    redis_options: RedisOptions,
    app_id: str,
    prometheus_url: str,
    prometheus_match: str,
    top: int,
    output_format: str,
) -> None:
    """Explain what moved UNIT's score from --since to --at: perspectives, KPIs and child units, largest first."""
    scorecard = load_or_exit(scorecard_path)
    tree = OrgTree.from_scorecard(scorecard)
    if unit_id not in tree:
        raise click.BadParameter(
            f"no unit '{printable(unit_id)}' in {scorecard_path.name}; units: {', '.join(tree.units[:10])}"
            + (", ..." if len(tree) > 10 else ""),
            param_hint="--unit",
        )
    since = time_param(since_text, "--since")
    at = parse_at(at_text)
    if events_path is None:
        store = RedisStore.from_url(redis_url, app_id, options=redis_options)
        before, after = _live_reports(scorecard, since, at, store, app_id, prometheus_url, prometheus_match)
    else:
        before, after = _replayed_reports(scorecard, events_path, since, at)
    explanation = explain_reports(scorecard, tree, before, after, unit_id)
    _print(scorecard, explanation, before, after, top, output_format)


def _replayed_reports(
    scorecard: Scorecard, events_path: Path, since: float, at: float | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """One replay of the file, evaluated at both times."""
    result = _replay_file(scorecard, events_path, at)
    invalid = result.counts.get("invalid", 0)
    if invalid:
        click.echo(
            f"{plural(invalid, 'invalid event')} skipped (`scorecard replay --errors FILE` lists them)", err=True
        )
    if result.at is None:
        click.echo("no accepted event to evaluate at; give the later time with --at", err=True)
        sys.exit(1)
    return result.evaluate(since), result.evaluate(result.at)


def _live_reports(
    scorecard: Scorecard,
    since: float,
    at: float | None,
    store: RedisStore,
    app_id: str,
    prometheus_url: str,
    match: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Prometheus' history at ``since``, Redis at ``at`` (default now), both cut to the exported units."""
    from scorecard.redis.live import live_report
    from scorecard.redis.store import StoreError

    try:
        require_live(store, app_id, " (or give --events FILE to explain a replay)")
        after = live_report(scorecard, store, at if at is not None else time.time())
    except StoreError as error:
        unavailable(f"cannot read the live scorecard: {error}")
    before = prometheus_history_reports(scorecard, prometheus_url, since, match)
    exported = set(exported_units(scorecard))
    after["units"] = {u: r for u, r in after["units"].items() if u in exported}
    return before, after


def prometheus_history_reports(scorecard: Scorecard, prometheus_url: str, since: float, match: str) -> dict[str, Any]:
    """The scorecard at ``since`` from Prometheus' history; else one line and exit 3 (Prometheus unreachable) or 1."""
    from scorecard.outputs.prometheus_history import PrometheusError, report_at

    try:
        return report_at(scorecard, prometheus_url, since, match)
    except PrometheusError as error:
        if error.unreachable:
            unavailable(str(error))
        click.echo(printable(error), err=True)
        sys.exit(1)


def explain_units(
    scorecard: Scorecard, tree: OrgTree, before: dict[str, Any], after: dict[str, Any], top: int = DEFAULT_TOP
) -> dict[str, Explanation]:
    """The top movers of every unit present in both reports (``report --since``)."""
    was = contributions(scorecard, tree, scores_from_report(before))
    now = contributions(scorecard, tree, scores_from_report(after))
    units = [u for u in tree.units if u in before["units"] and u in after["units"]]
    return {u: explain(was, now, u).top(top) for u in units}


def explain_reports(
    scorecard: Scorecard, tree: OrgTree, before: dict[str, Any], after: dict[str, Any], unit_id: str
) -> Explanation:
    """The explanation of ``unit_id`` between two JSON reports (any source: a replay, Redis, Prometheus)."""
    was = contributions(scorecard, tree, scores_from_report(before))
    now = contributions(scorecard, tree, scores_from_report(after))
    return explain(was, now, unit_id)


def explanation_document(
    explanation: Explanation, before: dict[str, Any], after: dict[str, Any], top: int
) -> dict[str, Any]:
    """The JSON output: both times, the reported scores, and the (top) explanation."""
    unit = explanation.unit
    shown = explanation.top(top) if top else explanation
    return {
        "since": before["at"],
        "at": after["at"],
        "reported": {"before": before["units"][unit]["score"], "after": after["units"][unit]["score"]},
        "top": top,
        **shown.to_json(),
    }


def _print(
    scorecard: Scorecard,
    explanation: Explanation,
    before: dict[str, Any],
    after: dict[str, Any],
    top: int,
    output_format: str,
) -> None:
    if output_format == "json":
        document = explanation_document(explanation, before, after, top)
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))
        sys.stdout.flush()
        return
    shown = explanation.top(top) if top else explanation
    terminal_console().print(explanation_tree(scorecard, shown, before["at"], after["at"]))
