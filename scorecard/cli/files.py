"""Generated output: ``-o FILE`` (one document, ``-`` for stdout) and ``-o DIR`` (several files), ``--check``, and
writing them (``write_document``, ``write_or_check``).

The generators share these so that ``-o`` always means where the output goes and ``--check`` always compares with the
disk (exit 1 when stale).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scorecard.cli.console import echo, plural
from scorecard.cli.shape import EXIT_FAILED

_F = TypeVar("_F", bound=Callable[..., Any])


def output_file_option(help_text: str) -> Callable[[_F], _F]:
    """``-o/--output FILE`` (``-``, the default, is stdout), as ``output_path``: commands writing one document."""
    return click.option(
        "-o",
        "--output",
        "output_path",
        type=click.Path(dir_okay=False, writable=True, allow_dash=True, path_type=Path),
        default="-",
        show_default=True,
        metavar="FILE",
        help=f"{help_text} (- for stdout).",
    )


def output_dir_option(help_text: str) -> Callable[[_F], _F]:
    """``-o/--output DIR``, required (no folder is made relative to wherever the command runs), passed as
    ``output_dir``: commands writing several files. The folder is created when missing."""
    return click.option(
        "-o",
        "--output",
        "output_dir",
        required=True,
        type=click.Path(file_okay=False, path_type=Path),
        metavar="DIR",
        help=f"{help_text} (created when missing).",
    )


check_option = click.option(
    "--check",
    is_flag=True,
    help="Write nothing; exit 1 when the files on disk differ from what would be generated (for CI).",
)


def write_or_check(files: dict[Path, bytes], check: bool, regenerate: str) -> None:
    """Write generated ``files`` (creating folders), or with ``check`` compare them with the disk: each missing or
    different file is a line on stderr naming ``regenerate``, the command that updates it, and the exit code is 1."""
    if not check:
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return
    stale = [path for path, data in files.items() if not path.is_file() or path.read_bytes() != data]
    for path in stale:
        echo(f"{path} is {'stale' if path.exists() else 'missing'}; run `{regenerate}`", err=True)
    if stale:
        sys.exit(EXIT_FAILED)
    echo(f"{plural(len(files), 'file')} up to date")


def write_document(output_path: Path, data: bytes) -> bool:
    """Write one generated document to ``output_path`` or stdout (``-``); True when it went to a file."""
    if str(output_path) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return False
    output_path.parent.mkdir(parents=True, exist_ok=True)
    output_path.write_bytes(data)
    return True
