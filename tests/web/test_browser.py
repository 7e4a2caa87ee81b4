"""The web UI in a real browser: Chromium driven by Playwright, doing what a user does.

Every test runs against one ``samerun ui`` server (``ui_server``) in a fresh browser context of
one shared Chromium, and saves a screenshot of where it ended under its tmp dir (also when it
fails). No test may see a dialog (an ``alert`` would mean a recorded ``<script>`` ran), a script
error, or a Content-Security-Policy violation. With ``SAMERUN_SCREENSHOTS=docs/screenshots``
the runs and compare tests also write the README's screenshots there.

Chromium is Debian's (``/usr/bin/chromium``); without it these tests skip, unless
``SAMERUN_REQUIRE_BROWSER=1`` (CI) turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.web.conftest import XSS, UiServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Request

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Milliseconds a test waits for a page to show what it expects.
WAIT_MS = 15_000
#: Read as the module is imported: tests run without the SAMERUN_ variables (tests/conftest.py).
REQUIRE_BROWSER = os.environ.get("SAMERUN_REQUIRE_BROWSER") == "1"
SCREENSHOTS = os.environ.get("SAMERUN_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module (each test gets a fresh context: a new profile)."""
    if not CHROMIUM.exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"{CHROMIUM} is absent and SAMERUN_REQUIRE_BROWSER=1: install chromium")
        pytest.skip(f"{CHROMIUM} is absent (Debian's chromium package)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield launched
        launched.close()


@dataclass
class Seen:
    """What a page did that no page of samerun may do, and the requests it made."""

    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def request(self, request: Request) -> None:
        self.requests.append(request.url)


@dataclass
class Tab:
    page: Page
    seen: Seen
    url: str  # the server's, no trailing slash


@pytest.fixture
def tab(
    browser: Browser, ui_server: UiServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Tab]:
    """A page in a fresh context; a screenshot of it at the end, wherever the test stopped."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    seen = Seen()
    page.on("dialog", seen.dialog)
    page.on("console", seen.console)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("request", seen.request)
    try:
        yield Tab(page, seen, ui_server.url)
    finally:
        page.screenshot(path=tmp_path / f"{request.node.name}.png", full_page=True)
        context.close()
    assert seen.dialogs == []
    assert seen.errors == []


def publish(page: Page, name: str) -> None:
    """Save the README's screenshot ``name`` (the page, as tall as its content) where
    ``SAMERUN_SCREENSHOTS`` says, if it does."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.locator("body").screenshot(path=Path(SCREENSHOTS) / name)


def names(page: Page) -> list[str]:
    return page.locator("table.runs tbody .run-name").all_inner_texts()


def column_texts(page: Page, header: str) -> list[str]:
    """The cells of the runs table's column headed ``header``, top to bottom."""
    texts: list[str] = page.evaluate(
        """header => {
            const heads = [...document.querySelectorAll("table.runs thead th")];
            const at = heads.findIndex(th => th.querySelector("a.sort")?.textContent === header);
            return [...document.querySelectorAll("table.runs tbody tr")]
                .map(tr => tr.children[at].textContent.trim());
        }""",
        header,
    )
    return texts


def run_row(page: Page, name: str) -> str:
    """The runs table row of the run named ``name`` (as a selector)."""
    return f"table.runs tbody tr:has(.run-name:text-is('{name}'))"


def test_filtering_the_runs_table_shows_the_matching_rows_and_the_url_keeps_them(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.url + "/")
    assert len(names(page)) == 7
    page.fill("input[name=filter]", "params.lr > 0.1")
    page.press("input[name=filter]", "Enter")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    assert names(page) == ["run-1"]
    assert "filter=params.lr" in page.url
    page.reload()  # a copied URL shows the same view
    assert names(page) == ["run-1"]
    assert page.input_value("input[name=filter]") == "params.lr > 0.1"


def test_a_filter_that_does_not_parse_says_where(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.url + "/")
    page.fill("input[name=filter]", "params.lr >> 1")
    page.press("input[name=filter]", "Enter")
    message = page.locator(".problem .message")
    message.wait_for()
    assert "at column 12" in message.inner_text()
    assert page.locator("pre.caret").inner_text().endswith("\n" + " " * 11 + "^")
    tab.seen.errors.clear()  # the 400 answer is logged by the browser: it is the point here


def test_choosing_a_column_shows_it_and_sorting_by_it_orders_the_rows(tab: Tab) -> None:
    page = tab.page
    page.goto(tab.url + "/?col=")
    assert page.locator("table.runs thead th").count() == 9  # the fixed columns only
    page.click(".chooser summary")
    page.fill("#column-search", "own")
    visible = page.locator("#columns label:visible").all_inner_texts()
    assert [text.strip() for text in visible] == ["owner"]
    page.check("#columns input[value='tags.owner']")
    header = page.locator("table.runs thead th", has_text="owner")
    header.wait_for()
    assert "col=tags.owner" in page.url
    assert page.locator(run_row(page, XSS) + " td").last.inner_text() == XSS

    page.fill("#column-search", "")
    page.check("#columns input[value='params.depth']")
    page.locator("table.runs thead th", has_text="depth").wait_for()
    page.click(".chooser summary")  # closed again
    page.click("table.runs thead a:text-is('depth')")
    page.wait_for_url(re.compile(r"sort=params\.depth"))
    page.locator("a.sort.asc").wait_for()
    ascending = [int(d) for d in column_texts(page, "depth") if d]
    assert len(ascending) == 5  # the runs that have a depth
    assert ascending == sorted(ascending)
    page.click("table.runs thead a:text-is('depth')")
    page.wait_for_url(re.compile(r"sort=params\.depth\+desc"))
    page.locator("a.sort.desc").wait_for()
    assert [int(d) for d in column_texts(page, "depth") if d] == ascending[::-1]


def test_three_selected_runs_open_compare_and_differences_only_hides_equal_params(
    tab: Tab,
) -> None:
    page = tab.page
    page.goto(tab.url + "/?col=params.depth&col=params.lr&col=metrics.accuracy&col=metrics.loss")
    for name in ("run-0", "run-3", "replay of run-0"):  # the same lr, not the same depth
        page.check(run_row(page, name) + " input[name=run]")
    button = page.locator("#compare-button")
    assert button.inner_text() == "Compare selected (3)"
    publish(page, "runs.png")
    button.click()
    page.wait_for_url(re.compile(r"/compare\?run=\w+&run=\w+&run=\w+$"))
    params = page.locator("#layer-params")
    assert params.locator("tbody tr:visible th").all_inner_texts() == ["depth", "lr"]
    params.locator(".diff-only input").check()
    assert params.locator("tbody tr:visible th").all_inner_texts() == ["depth"]
    assert page.locator("#layer-metrics tbody th").all_inner_texts() == ["accuracy", "f1", "loss"]

    charts = page.locator("figure.chart")
    charts.first.scroll_into_view_if_needed()
    page.locator("figure.chart.drawn").first.wait_for()
    assert page.locator("figure.chart.drawn .u-legend .u-series").count() == 4  # step + 3 runs
    page.locator(".parallel canvas").wait_for()
    page.evaluate("window.scrollTo(0, 0)")
    publish(page, "compare.png")


def painted_pixels(page: Page, selector: str) -> int:
    """How many pixels of the canvas at ``selector`` are not transparent."""
    count: int = page.eval_on_selector(
        selector,
        """canvas => {
            const { width, height } = canvas;
            const data = canvas.getContext("2d").getImageData(0, 0, width, height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted++;
            return painted;
        }""",
    )
    return count


def test_a_chart_draws_and_zooming_fetches_the_range_at_full_resolution(
    tab: Tab, ui_server: UiServer
) -> None:
    page = tab.page
    page.goto(f"{tab.url}/runs/{ui_server.store.long_run}")
    # Charts load as they come into view (charts.js): scroll to it, as a reader would.
    page.locator("figure.chart[data-key=loss]").scroll_into_view_if_needed()
    chart = page.locator("figure.chart.drawn[data-key=loss]")
    chart.wait_for()
    canvas = "figure.chart[data-key=loss] canvas"
    assert painted_pixels(page, canvas) > 1000
    histories = [url for url in tab.seen.requests if "/metrics/loss/history" in url]
    assert len(histories) == 1
    assert "min_step" not in histories[0]

    chart.scroll_into_view_if_needed()
    over = chart.locator(".u-over").bounding_box()
    assert over is not None
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.5, y, steps=5)
    page.mouse.up()
    expect(chart).to_have_attribute("data-range", re.compile(r"\d+\.\.\d+"))
    zoomed = [url for url in tab.seen.requests if "min_step=" in url and "max_step=" in url]
    assert len(zoomed) == 1
    low, high = map(int, chart.get_attribute("data-range").split(".."))  # type: ignore[union-attr]
    assert 20_000 < low < high < 60_000
    assert chart.locator(".zoom-out").is_visible()
    assert painted_pixels(page, canvas) > 1000

    chart.locator(".log-scale").check()
    chart.locator(".smoothing").fill("0.9")
    assert painted_pixels(page, canvas) > 1000
    chart.locator(".zoom-out").click()
    expect(chart).to_have_attribute("data-range", "")


def test_the_dirty_runs_script_is_shown_as_text_and_never_runs(
    tab: Tab, ui_server: UiServer
) -> None:
    page = tab.page
    page.goto(f"{tab.url}/runs/{ui_server.store.dirty_run}")
    assert page.locator("h1").inner_text().startswith(XSS)
    assert page.locator("pre.diff .d-add").last.inner_text() == f"+# {XSS}"
    assert page.locator("#params td").first.inner_text() == XSS
    page.locator("summary", has_text="out/table.csv").click()
    page.locator(".preview table th", has_text="a").wait_for()
    page.locator("summary", has_text="out/plots/dot.png").click()
    page.locator("img.artifact-image").wait_for()
    page.wait_for_function("() => document.querySelector('img.artifact-image').naturalWidth === 1")
    blocked = "Blocked script execution in 'about:srcdoc'"
    with page.expect_console_message(lambda message: blocked in message.text):
        page.locator("summary", has_text="out/page.html").click()
    tab.seen.errors.remove(next(e for e in tab.seen.errors if blocked in e))  # as it should be
    assert page.locator("iframe.artifact-html").get_attribute("sandbox") == ""
    assert page.frame_locator("iframe.artifact-html").locator("h1").inner_text() == "report"
    page.goto(tab.url + "/?col=tags.owner&col=params.note")  # the name, tag and param as cells
    assert page.locator(run_row(page, XSS)).count() == 1
    assert tab.seen.dialogs == []


def test_a_models_page_shows_each_versions_lineage_and_the_alias_timeline(tab: Tab) -> None:
    page = tab.page
    page.goto(f"{tab.url}/models")
    page.get_by_role("link", name="churn").click()
    page.wait_for_url("**/models/churn")
    rows = page.locator("table.grid").first.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("production")  # the newest version holds the alias
    expect(rows.first.get_by_role("link", name="run-1")).to_be_visible()
    timeline = page.locator("table.grid").nth(1)
    expect(timeline).to_contain_text("retrained on November data")
    expect(timeline.locator("tbody tr").first).to_contain_text("v1 → v2")
    publish(page, "models.png")
