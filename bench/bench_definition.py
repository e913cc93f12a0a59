"""Time and peak memory of loading definitions: the example, one near the size cap, and hostile ones the loader refuses.

Usage::

    .venv/bin/python bench/bench_definition.py               # measure, print, update docs/benchmarks.md
    .venv/bin/python bench/bench_definition.py --no-write    # print only

Each case is a file written to a temporary directory and loaded with ``scorecard.core.definition.load_scorecard`` in
fresh Python processes: three timed (the median is kept) and one with ``tracemalloc`` for the peak of the Python
heap during the load, the loader's memory and nothing else's (importing the modules is not counted).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # bench.common, when run as a script
from bench.common import machine, report
from scorecard.core.definition import MAX_FILE_BYTES, MAX_NODES, DefinitionError, load_scorecard, loading

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- bench_definition:start -->", "<!-- bench_definition:end -->"
RUNS = 3


def acme(directory: Path) -> Path:
    return ROOT / "examples" / "acme.yaml"


def near_cap(directory: Path) -> Path:
    """ACME's KPIs on an org of named and owned teams under each ACME leaf, as large as fits under the size cap."""
    data: dict[str, Any] = yaml.safe_load((ROOT / "examples" / "acme.yaml").read_text())
    leaves = [leaf for division in data["org"]["children"] for leaf in division.get("children", [division])]
    for leaf in leaves:
        leaf["children"] = [
            {"id": f"{leaf['id']}-team-{i:04d}", "name": f"{leaf['name']} team {i}", "owner": f"owner-{i % 97}"}
            for i in range(2800)
        ]
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    while len(text.encode()) > MAX_FILE_BYTES:  # trim teams until it fits
        for leaf in leaves:
            del leaf["children"][-20:]
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return _write(directory / "near-cap.yaml", text)


def wrong_references(directory: Path) -> Path:
    """5,000 units and 5,000 targets naming units that do not exist (one letter off), each with its suggestion."""
    units = [{"id": f"unit-{i:05d}", "name": f"Unit {i}"} for i in range(5000)]
    kpis = [
        {
            "id": f"k{k}",
            "aggregation": "count",
            "source": {"event": "e"},
            "window": {"kind": "tumbling", "size": "1h"},
            "targets": {f"unit-{k * 50 + j:05d}x": {"goal": 10, "red_flag": 2} for j in range(50)},
        }
        for k in range(100)
    ]
    data = {"name": "Wrong references", "org": {"id": "root", "children": units}, "kpis": kpis}
    return _write(directory / "wrong-references.yaml", yaml.safe_dump(data, sort_keys=False))


def alias_bomb(directory: Path) -> Path:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)]
    return _write(directory / "alias-bomb.yaml", "\n".join(lines) + "\n")


def flat_values(directory: Path) -> Path:
    """As many values as fit in the size cap: ``[0,0,0,...]``, four times the value budget."""
    head, tail = "name: Flat\ndescription: [", "0]\n"
    count = (MAX_FILE_BYTES - len(head) - len(tail)) // 2
    return _write(directory / "flat-values.yaml", head + "0," * count + tail)


def deep_org(directory: Path) -> Path:
    org = "{id: u, children: [" * 250 + "{id: leaf}" + "]}" * 250
    return _write(directory / "deep-org.yaml", f"name: Deep\norg: {org}\n")


def too_large(directory: Path) -> Path:
    path = directory / "too-large.yaml"
    with path.open("wb") as handle:
        handle.truncate(10**10)  # sparse: 10 GB that take no disk
    return path


CASES: dict[str, tuple[str, Callable[[Path], Path]]] = {
    "acme": ("examples/acme.yaml", acme),
    "near-cap": ("ACME KPIs, a generated org just under the size cap", near_cap),
    "near-cap-pure": ("the same with the pure-Python YAML reader (the fallback without libyaml)", near_cap),
    "wrong-references": ("5,000 units, 5,000 wrong target references", wrong_references),
    "alias-bomb": ('"billion laughs": 9 levels of 9 aliases', alias_bomb),
    "flat-values": ("one list of values filling the size cap", flat_values),
    "deep-org": ("an org nested 250 levels", deep_org),
    "too-large": ("a 10 GB (sparse) file", too_large),
}


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def measure_here(path: Path, traced: bool, pure: bool) -> dict[str, Any]:
    """Load once in this process, the child's side of ``measure``: timed, or with tracemalloc (slower) for memory."""
    if pure:
        loading._LOADER = loading._PureLoader
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        scorecard = load_scorecard(path)
        outcome = f"valid: {len(scorecard._units):,} units, {len(scorecard.kpis)} KPIs"
    except DefinitionError as error:
        first = error.problems[0].message
        count = len(error.problems)
        outcome = f"{count:,} problem{'s' if count > 1 else ''}: {first[:90]}{'...' if len(first) > 90 else ''}"
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    return {"seconds": seconds, "peak_mb": peak / 2**20, "outcome": outcome}


def measure(path: Path, pure: bool) -> dict[str, Any]:
    def child(*flags: str) -> dict[str, Any]:
        command = [sys.executable, __file__, "--measure", str(path), *flags, *(["--pure"] if pure else [])]
        return dict(json.loads(subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout))

    runs = [child() for _ in range(RUNS)]
    return {
        "seconds": statistics.median(r["seconds"] for r in runs),
        "peak_mb": child("--traced")["peak_mb"],
        "outcome": runs[0]["outcome"],
    }


def section(rows: list[dict[str, Any]], host: dict[str, str]) -> str:
    lines = [
        START,
        "## Loading definitions (`bench/bench_definition.py`)",
        "",
        "`load_scorecard` on each file in a fresh process: the median time of three runs, and the peak of the Python"
        " heap during a fourth (tracemalloc, which would slow the timed runs). The hostile files are refused by the"
        " loader's limits (docstring of `scorecard/core/definition/loading.py`:"
        f" {MAX_FILE_BYTES // 2**20} MiB, {MAX_NODES:,} values with aliases expanded, 100 levels of nesting, org"
        " depth 32).",
        "",
        "Run: `.venv/bin/python bench/bench_definition.py [--no-write]` (about a minute).",
        "",
        "| file | size | time | peak heap | outcome |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['label']} | {_size(row['bytes'])} | {row['seconds']:.2f} s | {row['peak_mb']:.0f} MB"
            f" | {row['outcome'].replace('|', '/')} |"
        )
    lines += [
        "",
        f"Machine: {host['cpu']}, nproc {host['nproc']}, {host['python']}, {host['platform']}; run on {host['date']}"
        f" (load average 1/5/15 min at the end: {host['load']}; other sessions share the machine).",
        END,
    ]
    return "\n".join(lines)


def _size(count: int) -> str:
    if count >= 10**9:
        return f"{count / 10**9:.0f} GB"
    if count >= 2**20:
        return f"{count / 2**20:.2f} MiB"
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} B"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--pure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure_here(args.measure, args.traced, args.pure)))
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for name, (label, build) in CASES.items():
            path = build(Path(directory))
            row = {**measure(path, pure=name.endswith("-pure")), "label": label, "bytes": path.stat().st_size}
            print(f"{name}: {row['seconds']:.2f} s, {row['peak_mb']:.0f} MB, {row['outcome']}", file=sys.stderr)
            rows.append(row)
    text = section(rows, machine())
    report(text, START, END, write=not args.no_write)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
