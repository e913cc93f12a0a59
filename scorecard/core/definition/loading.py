"""Reading a definition: the YAML file within the loader's limits, its line numbers, then the checks.

A definition is read by every worker, exporter and command at start-up, so no file may make the loader exhaust time,
memory or the stack, and nothing it accepts may fail later in the engine. Each limit is a problem with its
``file:line: path`` like any other:

- the file: at most ``MAX_FILE_BYTES`` (2 MiB, some 200 times the ACME example; never read further than that);
- nesting: at most ``MAX_NESTING`` (100) levels of YAML collections, checked while composing (PyYAML's composer
  recurses) and again with aliases expanded; at most ``MAX_NODES`` (500,000) values once aliases are expanded,
  which stops "billion laughs" files and bounds every later walk;
- the org tree: at most ``checks.MAX_ORG_DEPTH`` (32) levels below its root;
- windows: a tumbling or rolling size at most 104w (``windows.MAX_WINDOW_SECONDS``, 728 days: with events in years
  1000-9997, longer windows would end after year 9999); a rolling window at most 1,000 buckets
  (``windows.MAX_BUCKETS_PER_WINDOW``, size / step: a unit's record holds two windows of buckets per KPI); all
  KPIs together at most 20,000 buckets per unit (``windows.MAX_BUCKETS_PER_UNIT``; tumbling and calendar count 1);
- ``lateness`` at most ``model.MAX_LATENESS`` and ``dedupe`` at most ``model.MAX_DEDUPE`` (1095d, 3 years: plenty for
  late deliveries and producer retries, and every expiry horizon stays a valid date for every event time); a
  duration of more than 12 digits is refused before it is converted;
- ids (of units, KPIs, objectives, perspectives) must not start with ``model.RESERVED_ID_PREFIX`` (``__``): the
  pipeline keys its own records that way (``__invalid__`` counts invalid events).

Line numbers come from the YAML node marks, recorded per path while walking the node tree (before construction, so
keys brought in by a ``<<`` merge are not duplicates of the keys that override them); a path with no node of its own
(a missing key, a merged one) gets the line of its closest existing parent. Duplicate keys in a YAML mapping are
reported (PyYAML would silently keep the last one). YAML is read with libyaml's parser when PyYAML has it
(bench/bench_definition.py measures both) and PyYAML's own composer, bounded as above.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, cast

import yaml

from scorecard.core.definition.checks import MAX_ORG_DEPTH, Checker
from scorecard.core.definition.model import Scorecard
from scorecard.core.definition.problems import DefinitionError, Loc, Problem, line_of, render_path

__all__ = ["MAX_FILE_BYTES", "MAX_NESTING", "MAX_NODES", "load_scorecard", "parse_scorecard", "validate_scorecard"]

# Limits of the loader (see the module docstring); each gives a ``file:line: path: message`` problem.
MAX_FILE_BYTES: Final = 2 * 2**20
MAX_NESTING: Final = 100
MAX_NODES: Final = 500_000


def load_scorecard(path: str | Path) -> Scorecard:
    """Read and validate a definition file; raises DefinitionError listing every problem."""
    source = str(path)
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # never more: the file may be huge, or endless (/dev/zero)
        text = raw.decode("utf-8") if len(raw) <= MAX_FILE_BYTES else None
    except (OSError, UnicodeDecodeError) as err:
        raise DefinitionError([Problem("", f"cannot read the file: {err}")], source) from err
    if text is None:
        raise DefinitionError([_too_large()], source)
    return parse_scorecard(text, source)


def parse_scorecard(text: str, source_name: str = "<string>") -> Scorecard:
    """Validate definition text; ``source_name`` prefixes the messages (usually the file name)."""
    data, lines, problems = _read_yaml(text, source_name)
    return Checker(data, source_name, lines, problems).run()


def validate_scorecard(data: Any, source_name: str = "<data>", lines: Mapping[Loc, int] | None = None) -> Scorecard:
    """Validate already-parsed data (as ``yaml.safe_load`` returns it)."""
    known = dict(lines or {})
    problem = _shape_problem(data, known)
    if problem is not None:
        raise DefinitionError([problem], source_name)
    return Checker(data, source_name, known, []).run()


def _too_large() -> Problem:
    return Problem(
        "",
        f"the file is larger than {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // 2**20} MiB), the most a definition may"
        " be (it bounds the time and memory of every load); remove unused units, targets and descriptions",
    )


def _read_yaml(text: str, source: str) -> tuple[Any, dict[Loc, int], list[Problem]]:
    """Parse once, keeping the node tree for line numbers; YAML errors and limits end the reading with their line.

    Order matters for the limits: the text size is checked first, the nesting depth while composing (the composer
    recurses), then the node tree is walked once, without recursion, for line numbers, duplicate keys, the depth
    and the number of values once aliases are expanded, and only then is it turned into Python data (which shares
    aliased parts, but every later check walks them as a tree).
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise DefinitionError([_too_large()], source)
    loader: Any = _LOADER(text)  # type: ignore[call-arg]
    try:
        node = loader.get_single_node()
        lines: dict[Loc, int] = {}
        problems: list[Problem] = []
        if node is not None:
            _index_lines(node, lines, problems)
        else:
            lines[()] = 1  # an empty document: its problem is at the top of the file
        data = loader.construct_document(node) if node is not None else None
    except _LimitExceeded as err:
        raise DefinitionError([err.problem], source) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else None
        if "maximum nesting depth" in (err.problem or ""):  # libyaml's own limit, met while reading ahead
            raise DefinitionError([_nesting_problem((), line)], source) from None
        kind = "unsupported YAML" if isinstance(err, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise DefinitionError([Problem("", f"{kind}: {_yaml_message(err)}", line)], source) from None
    except yaml.YAMLError as err:  # the reader's errors (control characters) carry a position, not a mark
        position = getattr(err, "position", None)
        line = text[:position].count("\n") + 1 if isinstance(position, int) else None
        message = str(err).splitlines()[0]
        raise DefinitionError([Problem("", f"YAML syntax error: {message}", line)], source) from None
    finally:
        loader.dispose()
    return data, lines, problems


class _LimitExceeded(Exception):
    """A definition beyond one of the loader's limits; reading stops at once with this problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


def _nesting_problem(loc: Loc, line: int | None) -> Problem:
    return Problem(
        render_path(loc),
        f"nested more than {MAX_NESTING} levels deep (aliases included); a definition needs far fewer (an org tree of"
        f" {MAX_ORG_DEPTH} levels below its root takes {2 * MAX_ORG_DEPTH + 3}): flatten the structure",
        line,
    )


class _BoundedComposer(yaml.composer.Composer):
    """PyYAML's composer (which recurses per level) refusing to go deeper than ``MAX_NESTING`` or to build more than
    ``MAX_NODES`` nodes, so that neither the stack nor the memory grows with what a file asks for."""

    _depth = 0
    _composed = 0
    peek_event: Callable[[], yaml.Event]  # from the parser it is mixed with

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._depth += 1
        self._composed += 1
        try:
            if self._depth > MAX_NESTING:
                raise _LimitExceeded(_nesting_problem((), self._line()))
            if self._composed > MAX_NODES:
                raise _LimitExceeded(_nodes_problem((), self._line()))
            return cast(yaml.Node, super().compose_node(parent, index))
        finally:
            self._depth -= 1

    def _line(self) -> int | None:
        mark = self.peek_event().start_mark
        return mark.line + 1 if mark is not None else None


def _timestamp(constructor: Any, node: yaml.ScalarNode) -> object:
    """A YAML timestamp such as ``2026-10-01``, or its text when it names no real date (``2026-02-30``): the field
    that reads it then says what it expects, with the line, instead of the constructor raising."""
    try:
        return constructor.construct_yaml_timestamp(node)
    except (ValueError, OverflowError):
        return constructor.construct_scalar(node)


class _PureLoader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    _BoundedComposer,
    yaml.constructor.SafeConstructor,
    yaml.resolver.Resolver,
):
    """``yaml.SafeLoader`` with the bounded composer."""

    def __init__(self, text: str) -> None:
        yaml.reader.Reader.__init__(self, text)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        _BoundedComposer.__init__(self)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)


if yaml.__with_libyaml__:
    from yaml._yaml import CParser

    class _FastLoader(_BoundedComposer, CParser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
        """libyaml's parser (its events) with the bounded composer in Python, which keeps the limits (libyaml's own
        composer cannot be bounded); the parser is where libyaml saves the time (bench/bench_definition.py)."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)
            yaml.constructor.SafeConstructor.__init__(self)
            yaml.resolver.Resolver.__init__(self)

    _FastLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
    _LOADER: type[_BoundedComposer] = _FastLoader
else:  # pragma: no cover - PyYAML's wheels ship libyaml
    _LOADER = _PureLoader
_PureLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)


def _yaml_message(err: yaml.MarkedYAMLError) -> str:
    message = err.problem or "invalid YAML"
    if err.context and err.context_mark is not None:
        message += f" ({err.context} at line {err.context_mark.line + 1})"
    return message


def _index_lines(root: yaml.Node, lines: dict[Loc, int], problems: list[Problem]) -> None:
    """Record the line of every path and report duplicate mapping keys, walking the tree as aliases expand it.

    The walk is iterative and bounded: deeper than ``MAX_NESTING`` or more than ``MAX_NODES`` values (an alias
    counts as many values as it stands for) stops the reading, so a "billion laughs" file costs a fraction of a
    second instead of all the memory. An alias pointing back into itself is visited once and not descended into.
    """
    visited = 0
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, Loc] | int] = [(root, ())]
    while stack:
        item = stack.pop()
        if isinstance(item, int):  # leaving a collection
            on_path.discard(item)
            continue
        node, loc = item
        line = node.start_mark.line + 1
        lines.setdefault(loc, line)
        visited += 1
        if visited > MAX_NODES:
            raise _LimitExceeded(_nodes_problem(loc, line))
        if len(loc) >= MAX_NESTING:
            raise _LimitExceeded(_nesting_problem(loc, line))
        if id(node) in on_path or not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            continue
        on_path.add(id(node))
        stack.append(id(node))
        children: list[tuple[yaml.Node, Loc]] = []
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = _key_text(key_node)
                child = (*loc, key)
                key_line = key_node.start_mark.line + 1
                if key in first_line and key != "<<":
                    problems.append(
                        Problem(
                            render_path(child),
                            f"duplicate key {key!r} (first at line {first_line[key]}); YAML would keep only the last"
                            " one",
                            key_line,
                        )
                    )
                first_line.setdefault(key, key_line)
                lines.setdefault(child, key_line)
                children.append((value_node, child))
        else:
            children = [(item_node, (*loc, index)) for index, item_node in enumerate(node.value)]
        stack.extend(reversed(children))


def _key_text(node: yaml.Node) -> str:
    """A mapping key as a path part; a collection used as a key (which the constructor refuses) gets a placeholder."""
    return str(node.value) if isinstance(node, yaml.ScalarNode) else "<a collection as key>"


def _nodes_problem(loc: Loc, line: int | None) -> Problem:
    return Problem(
        render_path(loc),
        f"the definition holds more than {MAX_NODES:,} values once its YAML aliases are expanded (an alias counts as"
        " everything it stands for); use fewer or smaller aliases",
        line,
    )


def _shape_problem(data: Any, lines: Mapping[Loc, int]) -> Problem | None:
    """``_index_lines``'s limits for data that did not come from our YAML reader: depth and values, iteratively."""
    visited = 0
    on_path: set[int] = set()
    stack: list[tuple[Any, Loc] | int] = [(data, ())]
    while stack:
        item = stack.pop()
        if isinstance(item, int):
            on_path.discard(item)
            continue
        value, loc = item
        visited += 1
        if visited > MAX_NODES:
            return _nodes_problem(loc, line_of(lines, loc))
        if len(loc) >= MAX_NESTING:
            return _nesting_problem(loc, line_of(lines, loc))
        if id(value) in on_path or not isinstance(value, dict | list | tuple):
            continue
        on_path.add(id(value))
        stack.append(id(value))
        pairs = value.items() if isinstance(value, dict) else enumerate(value)
        stack.extend((child, (*loc, key if isinstance(key, int | str) else str(key))) for key, child in pairs)
    return None
