"""Balance warnings on a valid definition: what is allowed but makes the scorecard lopsided or misleading."""

from __future__ import annotations

from scorecard.core.definition.model import Scorecard, TumblingSpec
from scorecard.core.definition.problems import Loc, Problem, render_path
from scorecard.core.timeutil import format_duration

__all__ = ["lint_balance"]


def lint_balance(scorecard: Scorecard) -> list[Problem]:
    """Warnings about a scorecard that is valid but lopsided; they do not stop the service.

    - a perspective with no KPI: its weight silently counts for nothing;
    - one perspective holding more than half of the *effective* weight, where a perspective's effective weight is
      its ``weight`` if at least one KPI counts in it and 0 otherwise (KPI weights only split a perspective's share
      among its KPIs, so they do not enter this rule); a scorecard with a single live perspective is therefore
      always warned about — a balanced scorecard needs balance;
    - an objective with no KPI: a goal nobody measures;
    - a KPI with no objective: it counts in no perspective, so in no overall score;
    - a tumbling window (or a rolling window's step) of whole weeks: buckets align to the Unix epoch, a Thursday, so
      "weekly" would run Thursday to Wednesday in UTC; a calendar week starts on Monday in the scorecard's timezone.
    """
    warnings: list[Problem] = []

    def warn(loc: Loc, message: str) -> None:
        # Exact paths only: a defaulted perspective has no line, and its parent's line would mislead.
        warnings.append(Problem(render_path(loc), message, scorecard._lines.get(loc)))

    counts = {p.id: len(scorecard.kpis_of(p.id)) for p in scorecard.perspectives}
    for index, perspective in enumerate(scorecard.perspectives):
        if not counts[perspective.id]:
            warn(("perspectives", index), f"perspective {perspective.id!r} has no KPI; its weight counts for nothing")
    effective = {p.id: p.weight if counts[p.id] else 0.0 for p in scorecard.perspectives}
    total = sum(effective.values())
    for index, perspective in enumerate(scorecard.perspectives):
        share = effective[perspective.id] / total if total else 0.0
        if share > 0.5:
            warn(
                ("perspectives", index),
                f"perspective {perspective.id!r} holds {share:.0%} of the weight of the perspectives that have KPIs;"
                " more than half makes the scorecard a one-perspective score",
            )
    measured = {k.objective for k in scorecard.kpis}
    for index, objective in enumerate(scorecard.objectives):
        if objective.id not in measured:
            warn(("objectives", index), f"objective {objective.id!r} has no KPI measuring it")
    for index, kpi in enumerate(scorecard.kpis):
        if kpi.objective is None:
            warn(("kpis", index), f"KPI {kpi.id!r} is linked to no objective, so it counts in no perspective")
    week = 7 * 86400
    for index, kpi in enumerate(scorecard.kpis):
        window = kpi.window
        cut = window.size if isinstance(window, TumblingSpec) else getattr(window, "step", None)
        if cut is not None and cut % week == 0:
            warn(
                ("kpis", index, "window"),
                f"KPI {kpi.id!r} cuts its buckets every {format_duration(cut)} from the Unix epoch, so they start on "
                "Thursdays at 00:00 UTC; for weeks from Monday in the scorecard's timezone use "
                "{kind: calendar, period: week}",
            )
    return warnings
