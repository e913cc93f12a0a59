"""What every benchmark script shares: a description of the machine and the rewriting of its docs section.

Each script owns one section of docs/benchmarks.md between two HTML comment markers and rewrites only that block,
so the scripts can run in any order and the hand-written parts of the page stay.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "benchmarks.md"


def machine() -> dict[str, str]:
    """CPU model, cores, Python, OS, date and load average: what a figure needs to be compared with another."""
    model = "unknown"
    try:
        found = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    return {
        "cpu": model,
        "nproc": str(os.cpu_count()),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "date": datetime.date.today().isoformat(),
        "load": " / ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def write_block(block: str, start: str, end: str, docs: Path = DOCS) -> None:
    """Replace the text from ``start`` to ``end`` (both included) in ``docs`` with ``block``, or append it."""
    if not (block.startswith(start) and block.rstrip().endswith(end)):
        raise ValueError(f"the block must run from {start} to {end}")
    current = docs.read_text() if docs.exists() else "# Benchmarks\n\n"
    if start in current and end in current:
        before, rest = current.split(start, 1)
        updated = before + block.rstrip("\n") + rest.split(end, 1)[1]
    else:
        updated = current.rstrip("\n") + "\n\n" + block.rstrip("\n") + "\n"
    docs.write_text(updated)


def report(block: str, start: str, end: str, *, write: bool, docs: Path = DOCS) -> None:
    """Print a script's section and, unless ``write`` is false (``--no-write``), put it into ``docs``."""
    print(block)
    if write:
        write_block(block, start, end, docs)
        print(f"updated {docs.relative_to(ROOT)}", file=sys.stderr)
