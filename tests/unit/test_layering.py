"""The layout is the architecture: the core is pure, and imports only run from a higher layer to a lower one.

Layers, from the ground up (the reading guide of ``scorecard/__init__.py`` says what each holds):

0. ``scorecard.core``;
1. the ``scorecard`` package itself, which re-exports the core's public API (and holds ``__version__``);
2. ``scorecard.contract`` and ``scorecard.config``;
3. ``scorecard.redis`` and ``scorecard.simulator``;
4. ``scorecard.outputs``;
5. ``streams`` (the worker serves its metrics on ``scorecard.outputs.webserver``);
6. ``scorecard.cli``, then ``scorecard.__main__`` (``python -m scorecard``).

A module may import from its own package and from lower layers, never from a higher layer nor from a sibling
package of its own layer (``redis`` and ``simulator`` stay independent). The import graph is read from the source
with ``ast`` (imports inside functions included), so a new module or import is checked without being listed here.
Purity is checked by importing in a fresh interpreter and looking at what got loaded, dependencies included.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from scorecard.contract import INVALID_UNIT
from scorecard.core.definition import RESERVED_ID_PREFIX, DefinitionError, parse_scorecard
from tests.paths import REPO

LAYERS: dict[str, int] = {
    "scorecard.core": 0,
    "scorecard": 1,
    "scorecard.contract": 2,
    "scorecard.config": 2,
    "scorecard.redis": 3,
    "scorecard.simulator": 3,
    "scorecard.outputs": 4,
    "streams": 5,
    "scorecard.cli": 6,
    "scorecard.__main__": 7,
}
# What no pure module may load, directly or through a dependency. PyYAML is allowed: it is the definition's parser.
IO_LIBRARIES = (
    "redis",
    "faust",
    "mode",
    "aiokafka",
    "click",
    "rich",
    "prometheus_client",
    "jinja2",
    "grafana_foundation_sdk",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    paths = [*REPO.joinpath("scorecard").rglob("*.py"), *REPO.joinpath("streams").rglob("*.py")]
    return {module_name(path): path for path in paths}


def imports_of(path: Path) -> set[str]:
    """Every project module ``path`` imports, at the top or inside a function (``from p import m`` counts ``p.m``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    modules = project_modules()
    return {name for name in found if name in modules}


def package_of(module: str) -> str:
    """The entry of ``LAYERS`` a module belongs to: the longest prefix that names one."""
    candidates = [p for p in LAYERS if module == p or module.startswith(p + ".")]
    assert candidates, f"{module} belongs to no layer: add its package to LAYERS in {Path(__file__).name}"
    return max(candidates, key=len)


def test_every_module_belongs_to_a_layer() -> None:
    modules = project_modules()
    assert len(modules) > 50
    for module in modules:
        package_of(module)


def test_imports_only_go_down_the_layers() -> None:
    wrong = []
    for module, path in sorted(project_modules().items()):
        home = package_of(module)
        for target in sorted(imports_of(path)):
            there = package_of(target)
            if there == home:
                continue
            if LAYERS[there] >= LAYERS[home]:
                wrong.append(f"{module} (layer {LAYERS[home]}) imports {target} (layer {LAYERS[there]})")
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_package_root_imports_only_the_core() -> None:
    targets = imports_of(REPO / "scorecard" / "__init__.py")
    assert targets and all(package_of(t) == "scorecard.core" for t in targets), targets


def loaded_after_import(*modules: str) -> set[str]:
    """The top-level names in ``sys.modules`` after importing ``modules`` in a fresh interpreter."""
    code = (
        "import importlib, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    return set(done.stdout.split())


def test_the_core_and_the_contract_load_no_io_library() -> None:
    pure = sorted(
        m for m in project_modules() if package_of(m) in ("scorecard", "scorecard.core", "scorecard.contract")
    )
    assert "scorecard.core.engine" in pure and "scorecard.contract" in pure
    loaded = loaded_after_import(*pure)
    assert "yaml" in loaded and "scorecard" in loaded  # the imports really ran
    assert not loaded & set(IO_LIBRARIES), sorted(loaded & set(IO_LIBRARIES))


@pytest.mark.parametrize(
    ("module", "not_loaded"),
    [
        ("scorecard.outputs.report_html", ("redis", "faust", "aiokafka", "prometheus_client")),
        ("streams.processor", ("redis", "faust", "aiokafka", "prometheus_client")),
        ("scorecard.simulator.simulation", IO_LIBRARIES),
    ],
)
def test_pure_modules_outside_the_core_load_no_io_library(module: str, not_loaded: tuple[str, ...]) -> None:
    loaded = loaded_after_import(module)
    assert module.split(".")[0] in loaded
    assert not loaded & set(not_loaded), sorted(loaded & set(not_loaded))


def test_the_invalid_unit_key_is_one_no_definition_id_can_take() -> None:
    assert INVALID_UNIT.startswith(RESERVED_ID_PREFIX)
    with pytest.raises(DefinitionError) as error:
        parse_scorecard(
            "name: x\norg: {id: __x}\nkpis: [{id: k, aggregation: count, source: {event: e},"
            " window: {kind: tumbling, size: 1d}}]\n"
        )
    assert INVALID_UNIT in str(error.value)  # the message names the key the pipeline uses
