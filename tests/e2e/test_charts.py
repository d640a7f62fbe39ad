"""The run page's charts in a real browser: a zoomed chart keeps its view while points
and new lines arrive; double-click shows every step again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.e2e.stack import CHROMIUM, CHROMIUM_ARGS, ROOT

pytestmark = pytest.mark.browser

PAGE = """<!doctype html><html><head><link rel="stylesheet" href="uPlot.min.css"></head>
<body style="width: 1200px"><p id="empty">no metrics yet</p><div id="charts"></div>
<script src="format.js"></script><script src="uPlot.iife.min.js"></script><script src="charts.js"></script>
<script>window.charts = new MetricCharts(document.getElementById("charts"), document.getElementById("empty"));</script>
</body></html>"""
X_RANGE = "() => { const u = charts.charts[0].plot; return [u.scales.x.min, u.scales.x.max]; }"
# Every point added so far is on the canvas: a chart is dirty from an add until its next draw.
DRAWN = "() => charts.charts.every(c => !c.dirty)"


@pytest.fixture
def chart_page(tmp_path: Path) -> Path:
    vendor = ROOT / "static" / "vendor"
    if not CHROMIUM.exists() or not (vendor / "uPlot.iife.min.js").exists():
        pytest.fail("needs Debian's chromium and static/vendor (bash scripts/setup.sh --browser)")
    for source in (
        ROOT / "static" / "js" / "format.js",
        ROOT / "static" / "js" / "charts.js",
        vendor / "uPlot.iife.min.js",
        vendor / "uPlot.min.css",
    ):
        shutil.copy(source, tmp_path)
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    return tmp_path / "index.html"


def test_a_zoomed_chart_keeps_its_view_while_the_run_goes_on(chart_page: Path):
    from playwright.sync_api import sync_playwright

    def add(step: int, metric: str, value: float) -> None:
        page.evaluate(f"() => charts.add({{job: 'train', step: {step}, values: {{{metric}: {value}}}}})")
        page.wait_for_function(DRAWN)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        try:
            page.goto(chart_page.as_uri())
            page.evaluate(
                "() => { for (let s = 1; s <= 2000; s++) "
                "charts.add({job: 'train', step: s, values: {loss: 5 / Math.sqrt(s)}}); }"
            )
            page.wait_for_function(DRAWN)
            assert page.evaluate(X_RANGE) == [1, 2000]

            plot = page.locator("[data-chart=loss] .u-over").bounding_box()
            middle = plot["y"] + plot["height"] / 2
            page.mouse.move(plot["x"] + plot["width"] * 0.2, middle)
            page.mouse.down()
            page.mouse.move(plot["x"] + plot["width"] * 0.4, middle, steps=5)
            page.mouse.up()
            zoomed = page.evaluate(X_RANGE)
            assert 1 < zoomed[0] < zoomed[1] < 2000

            add(2001, "loss", 0.03)
            assert page.evaluate(X_RANGE) == zoomed  # a new point
            add(2001, "eval_loss", 0.05)
            assert page.evaluate(X_RANGE) == zoomed  # a new line rebuilds the chart

            page.mouse.dblclick(plot["x"] + plot["width"] / 2, middle)
            assert page.evaluate(X_RANGE) == [1, 2001]
            add(2500, "loss", 0.02)
            assert page.evaluate(X_RANGE) == [1, 2500]  # unzoomed, the axis follows the run again
            assert errors == []
        finally:
            browser.close()


def test_lines_are_named_for_people_and_steps_tick_whole(chart_page: Path):
    from playwright.sync_api import sync_playwright

    labels = "(id) => charts.charts.find(c => c.spec.id === id).plot.series.map(s => s.label)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        try:
            page.goto(chart_page.as_uri())
            page.evaluate(
                "() => { for (let s = 1; s <= 6; s++) charts.add({job: 'train', step: s, "
                "values: {loss: 2 / s, eval_loss: 3 / s, perplexity: 10 / s}}); }"
            )
            page.wait_for_function(DRAWN)
            # One job: its name would only read like a split ("train · eval_loss").
            assert page.evaluate(labels, "loss") == ["step", "train loss", "eval loss"]
            ticks = page.evaluate("() => charts.charts.find(c => c.spec.id === 'perplexity').plot.axes[0]._splits")
            assert ticks and all(float(t).is_integer() for t in ticks)

            page.evaluate("() => charts.add({job: 'second', step: 7, values: {loss: 0.1}})")
            page.wait_for_function(DRAWN)
            assert page.evaluate(labels, "loss") == [
                "step",
                "train: train loss",
                "train: eval loss",
                "second: train loss",
            ]
        finally:
            browser.close()
