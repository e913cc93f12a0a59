"""Problems found in a definition, and how they are worded: ``file:line: path: message``.

``Problem`` is one finding (field path, YAML line, message), ``DefinitionError`` carries every problem of a file.
The helpers here word paths (``kpis[2].window.size``), values (as the YAML author wrote them) and "did you mean"
suggestions, the latter within a fixed budget of comparisons per file so that thousands of wrong references cost
linear time (the later ones go without a suggestion).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

__all__ = ["DefinitionError", "Loc", "Problem"]

Loc = tuple[str | int, ...]
# "did you mean" compares a wrong reference with every candidate; past this many comparisons in one file (a file
# with thousands of wrong references to thousands of units) the remaining messages go without a suggestion.
_SUGGESTION_BUDGET: Final = 100_000

_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class Problem:
    """One finding in a definition: where (field path and YAML line) and what is expected."""

    path: str
    message: str
    line: int | None = None

    def format(self, source: str = "") -> str:
        """Render as ``source:line: path: message``, leaving out the parts that are unknown."""
        where = ":".join(part for part in (source, str(self.line) if self.line else "") if part)
        return ": ".join(part for part in (where, self.path, self.message) if part)

    def __str__(self) -> str:
        return self.format()


class DefinitionError(ValueError):
    """A definition that cannot be used; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem], source: str = "") -> None:
        self.problems = problems
        self.source = source
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        lines = [f"{count} in {source or 'the scorecard definition'}:"]
        lines += [problem.format(source) for problem in problems]
        super().__init__("\n".join(lines))


def render_path(loc: Loc) -> str:
    """``("kpis", 2, "window", "size")`` -> ``kpis[2].window.size``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def line_of(lines: Mapping[Loc, int], loc: Loc) -> int | None:
    for end in range(len(loc), -1, -1):
        line = lines.get(loc[:end])
        if line is not None:
            return line
    return None


def show(value: Any) -> str:
    """A value as the YAML author wrote it, short."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def did_you_mean(value: str, choices: Any) -> str:
    options = [str(c) for c in choices]
    lowered = {c.lower(): c for c in options}
    match = lowered.get(value.lower()) or next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.75)), None)
    return f"; did you mean {match!r}?" if match else ""


class Suggester:
    """``did_you_mean`` for the references of one file, at a bounded cost whatever the file.

    Each distinct (value, candidates) pair is answered once; the case-insensitive match uses one index per candidate
    set; and the fuzzy match, which compares the value with every candidate, stops being tried once the file has
    spent ``_SUGGESTION_BUDGET`` comparisons. A few wrong references (every file a person writes) get the same
    messages as ``did_you_mean``; thousands of wrong references to thousands of units cost linear time instead of
    their product, the later ones going without a suggestion.
    """

    def __init__(self, budget: int = _SUGGESTION_BUDGET) -> None:
        self.budget = budget
        self._answers: dict[tuple[str, int], str] = {}
        self._options: dict[int, tuple[list[str], dict[str, str]]] = {}

    def __call__(self, value: str, choices: set[str]) -> str:
        key = (value, id(choices))
        if key not in self._answers:
            self._answers[key] = self._answer(value, choices)
        return self._answers[key]

    def _answer(self, value: str, choices: set[str]) -> str:
        if id(choices) not in self._options:
            options = [str(c) for c in choices]
            self._options[id(choices)] = (options, {c.lower(): c for c in options})
        options, lowered = self._options[id(choices)]
        match = lowered.get(value.lower())
        if match is None and len(options) <= self.budget:
            self.budget -= len(options)
            match = next(iter(difflib.get_close_matches(value, options, n=1, cutoff=0.75)), None)
        return f"; did you mean {match!r}?" if match else ""
