"""Every ``scorecard`` command shown in the README and docs/ parses with today's command line: options, the
definition's form, durations and paths of the repository (docs/cli.md). Parsing only: nothing is run or written, so
commands that need Kafka or Redis are checked too. Optional parts written ``[--flag VALUE]`` are left out, and files
an earlier step of a walkthrough creates in /tmp stand for the example files of the same kind."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from scorecard.cli import main
from tests.paths import ACME, ACME_EVENTS, REPO

DOCUMENTS = [REPO / "README.md", REPO / "examples" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
_SHELL = {"sh", "bash", "shell", ""}
_COMMAND = re.compile(r"^(?:[A-Z_]+=\S+\s+)*(?:\.venv/bin/)?scorecard\s+(.*)$")
_STAND_INS = {".jsonl": ACME_EVENTS, ".yaml": ACME}


def shell_blocks(text: str) -> list[str]:
    """The fenced blocks marked sh, bash, shell or nothing (not text, yaml, ...)."""
    blocks, current, language = [], [], None
    for line in text.splitlines():
        if line.startswith("```"):
            if language is None:
                language, current = line[3:].strip(), []
                continue
            if language in _SHELL:
                blocks.append("\n".join(current))
            language = None
        elif language is not None:
            current.append(line)
    return blocks


def examples() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for block in shell_blocks(document.read_text(encoding="utf-8")):
            for line in block.replace("\\\n", " ").splitlines():
                match = _COMMAND.match(line.strip())
                if match:
                    found.append((f"{document.relative_to(REPO)}: {line.strip()[:60]}", match.group(1)))
    return found


def arguments(text: str) -> list[str]:
    text = re.sub(r"\s+#.*$", "", text)  # a comment
    text = re.sub(r"\s*\[[^\]]*\]", "", text)  # optional parts
    text = re.sub(r"\s*&$", "", text)
    words = shlex.split(text)
    return [
        str(_STAND_INS[Path(w).suffix]) if w.startswith("/tmp/") and Path(w).suffix in _STAND_INS else w for w in words
    ]


EXAMPLES = examples()


def test_the_documents_show_the_commands() -> None:
    shown = {arguments(text)[0] for _where, text in EXAMPLES}
    assert shown >= {"validate", "replay", "worker", "publish", "status", "report", "rules", "dashboards", "simulate"}


@pytest.mark.parametrize("text", [text for _where, text in EXAMPLES], ids=[where for where, _text in EXAMPLES])
def test_every_documented_command_parses(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    args = arguments(text)
    group = main.make_context("scorecard", list(args))
    command = main.get_command(group, args[0])
    assert command is not None, f"no command {args[0]!r}"
    try:
        command.make_context(args[0], args[1:], parent=group)
    except click.ClickException as error:
        pytest.fail(f"scorecard {' '.join(args)}: {error.format_message()}")
