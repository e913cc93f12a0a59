"""The definition tools run without the worker extra (faust-streaming, aiokafka, uvloop); the streaming commands
say which extra they need in one line.

Each case runs a fresh interpreter in which importing those packages fails as if they were not installed (a
``sys.meta_path`` finder placed first), so the proof holds on this machine, where the extra is installed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scorecard.cli.services import WORKER_EXTRA, WORKER_PACKAGES
from tests.paths import ACME, ACME_EVENTS, REPO

BLOCKED = sorted(WORKER_PACKAGES | {"hiredis"})
AT = "2026-11-26T12:00:00Z"

_BLOCKER = textwrap.dedent(
    f"""
    import sys
    from importlib.abc import MetaPathFinder

    BLOCKED = {BLOCKED!r}

    class NotInstalled(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in BLOCKED:
                raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
            return None

    sys.meta_path.insert(0, NotInstalled())
    """
)

_RUN_ALL = _BLOCKER + textwrap.dedent(
    """
    import json
    from scorecard.cli import main

    codes = []
    for args in json.loads(sys.argv[1]):
        try:
            main(args, prog_name="scorecard", standalone_mode=False)
            codes.append(0)
        except SystemExit as exit:
            codes.append(exit.code)
    loaded = sorted(name for name in sys.modules if name.partition(".")[0] in BLOCKED)
    print(json.dumps({"codes": codes, "loaded": loaded}))
    """
)


def _python(code: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd, timeout=300, check=False
    )


def test_the_definition_tools_run_without_the_worker_extra(tmp_path: Path) -> None:
    commands = [
        ["validate", str(ACME)],
        ["replay", str(ACME), str(ACME_EVENTS), "--at", AT, "--format", "csv", "--kpis"],
        ["report", "--scorecard", str(ACME), "--events", str(ACME_EVENTS), "--at", AT, "-o", str(tmp_path / "r.html")],
        ["rules", str(ACME), "-o", str(tmp_path / "rules")],
        ["alertmanager", str(ACME), "-o", str(tmp_path / "alertmanager.yml")],
        ["dashboards", str(ACME), "-o", str(tmp_path / "boards")],
        ["schema", "-o", str(tmp_path / "scorecard.schema.json")],
        ["init", str(tmp_path / "new.yaml")],
        ["events", str(ACME), "--format", "json-schema"],
        [
            "explain",
            "--scorecard",
            str(ACME),
            "--unit",
            "acme",
            "--since",
            "2026-11-20T00:00:00Z",
            "--at",
            AT,
            "--events",
            str(ACME_EVENTS),
        ],
        ["validate", str(tmp_path / "new.yaml")],
    ]
    result = _python(_RUN_ALL, json.dumps(commands), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome == {"codes": [0] * len(commands), "loaded": []}, result.stderr
    assert (tmp_path / "r.html").stat().st_size > 0 and any((tmp_path / "boards").iterdir())
    assert any((tmp_path / "rules").iterdir())


@pytest.mark.parametrize(
    ("args", "missing"),
    [
        (["worker", "--scorecard", str(ACME)], "mode"),  # faust-streaming's base library, imported first
        (["publish", str(ACME_EVENTS)], "aiokafka"),
        (["simulate", "--scorecard", str(ACME), "--days", "1", "--out", "events.jsonl"], "aiokafka"),
    ],
    ids=["worker", "publish", "simulate"],
)
def test_a_streaming_command_without_the_extra_says_which_to_install(
    args: list[str], missing: str, tmp_path: Path
) -> None:
    code = _BLOCKER + "from scorecard.cli import main\nmain(sys.argv[1:], prog_name='scorecard')\n"
    result = _python(code, *args, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"scorecard {args[0]} needs the worker extra (no module named {missing!r}): pip install '{WORKER_EXTRA}'\n"
    )


def test_every_install_of_the_project_installs_the_worker_extra() -> None:
    """make install (hence CI's make test) and the Docker image run the worker, so they install the extra."""
    assert "'.[worker,test]'" in (REPO / "Makefile").read_text()
    assert "'.[worker]'" in (REPO / "Dockerfile").read_text()
