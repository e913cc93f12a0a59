"""The HTML report in a real browser: Debian's headless Chromium, driven by Playwright.

The page `scorecard report` writes for the ACME example must load without a console message, page error or network
request (it is self-contained: the only URL loaded is the file itself), show every unit and every KPI of
examples/acme.yaml in the rendered text, fit the width of a laptop screen, and print as one page for the overview
plus at least one per unit. The test takes a screenshot; with ``SCORECARD_UPDATE_SCREENSHOT=1`` it writes it to
docs/img/scorecard-report.png (the picture the README shows), otherwise to the test's temporary folder.

Chromium comes from Debian (package ``chromium``): Playwright only drives it (``executable_path``) and never
downloads a browser. In CI (``CI=true``) a missing package is installed by the session fixture below; elsewhere the
test fails with the command to run, like the other integration tests do for a missing service.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, sync_playwright

from scorecard.cli import main
from scorecard.core.definition import load_scorecard
from scorecard.core.hierarchy import OrgTree
from tests.paths import ACME, REPO

SCREENSHOT = REPO / "docs/img/scorecard-report.png"
VIEWPORT = {"width": 1280, "height": 1700}


def _install_chromium() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None and os.environ.get("CI") == "true":
        _install_chromium()
        found = shutil.which("chromium")
    if found is None:
        pytest.fail("headless Chromium is missing; install it with: apt-get install -y chromium", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    # Module scope, not session: Playwright's sync API runs an event loop in this thread while it is open, and every
    # later test calling asyncio.run() (the worker tests, the simulator's CLI) would find a loop already running.
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory, acme_events: Path) -> Path:
    path = tmp_path_factory.mktemp("report") / "scorecard.html"
    args = ["report", "--scorecard", str(ACME), "--events", str(acme_events), "-o", str(path)]
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    return path


class _Watch:
    """Everything a page says or asks for while it loads."""

    def __init__(self, page: Page) -> None:
        self.console: list[str] = []
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", self._request)

    def _console(self, message: ConsoleMessage) -> None:
        self.console.append(f"{message.type}: {message.text}")

    def _request(self, request: Request) -> None:
        self.requests.append(request.url)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_page_renders_every_unit_and_kpi_without_errors(browser: Browser, report_file: Path, tmp_path) -> None:
    scorecard = load_scorecard(ACME)
    page = browser.new_page(viewport=VIEWPORT)
    watch = _Watch(page)
    page.goto(report_file.as_uri(), wait_until="load")

    assert watch.console == [] and watch.errors == []
    assert watch.requests == [report_file.as_uri()]  # no stylesheet, font, image or script from anywhere

    text = page.inner_text("body")
    units = OrgTree.from_scorecard(scorecard).units
    for unit in units:
        assert scorecard.unit(unit).label in text, unit
        rows = page.locator(f"section#unit-{unit} tr.kpi")
        assert rows.count() == len(scorecard.kpis), unit
        for kpi in scorecard.kpis:
            row_text = page.locator(f'section#unit-{unit} tr.kpi[data-kpi="{kpi.id}"]').inner_text()
            assert kpi.label in row_text, (unit, kpi.id)
            assert re.search(r"\b(green|amber|red|no data)\b", row_text), (unit, kpi.id)  # status in words
    assert page.locator("#overview tbody tr").count() == len(units)
    assert page.locator("svg.spark circle").count() > 0  # the replay has history: some trends are drawn
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling

    target = SCREENSHOT if os.environ.get("SCORECARD_UPDATE_SCREENSHOT") == "1" else tmp_path / "scorecard-report.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    assert _png_size(target.read_bytes()) == (VIEWPORT["width"], VIEWPORT["height"])

    page.emulate_media(media="print")
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    pages = len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf))
    assert pages >= 1 + len(units)  # the overview, then each unit from a new page
    page.close()
