"""The reports opened from disk in headless Chromium: a real (short) run, and a forecast.

Debian's chromium driven by Playwright (never a downloaded browser); skipped with a reason when it
is not installed (``make test`` installs it through scripts/ensure-chromium.sh). Every request
the page makes is routed: anything that is not a file:// URL fails the test. A second pass keeps
the page's own Content-Security-Policy on, and must draw everything with no error (no eval, no
outside load needed).
"""

from __future__ import annotations

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed "
                                                         "(make test installs it: scripts/ensure-chromium.sh)")


@pytest.fixture(scope="module")
def report_path(tmp_path_factory):
    from travesia.api import run_scenario
    from travesia.report.build import build_report

    out = tmp_path_factory.mktemp("browser") / "run"
    run_scenario("caravan-2018", out_dir=out, days=20, force=True)
    return build_report(out)


@pytest.fixture(scope="module")
def forecast_path(tmp_path_factory):
    from test_report import make_forecast
    from travesia.report.build import build_report

    return build_report(make_forecast(tmp_path_factory.mktemp("browser-fc") / "fc"))


@pytest.fixture(scope="module")
def backtest_path(tmp_path_factory):
    import pandas as pd

    from travesia.report.build import build_report

    bt = tmp_path_factory.mktemp("browser-bt") / "bt"
    bt.mkdir()
    pit = {"pit_below_p05": 0.1, "pit_p05_p25": 0.2, "pit_p25_p50": 0.2, "pit_p50_p75": 0.2, "pit_p75_p95": 0.2,
           "pit_above_p95": 0.1}
    pd.DataFrame([{"level": "origin", "origin": "2018-10-16", "quantity": "", "n": 6, "wis": 0.5, **pit},
                  {"level": "overall", "origin": "", "quantity": "", "n": 6, "wis": 0.5, **pit}]
                 ).to_csv(bt / "backtest_summary.csv", index=False)
    return build_report(bt)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _open(browser, path, bypass_csp: bool):
    # with bypass_csp the page's own policy is off (it would block outside loads silently but for a
    # console error), so that any attempt to reach outside the file shows up in the router below
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=bypass_csp)
    page = ctx.new_page()
    seen = {"outside": [], "requested": [], "errors": []}

    def route(r):
        url = r.request.url
        seen["requested"].append(url)
        if url.startswith("file://"):
            r.continue_()
        else:
            seen["outside"].append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type in ("error", "warning") else None)
    page.goto(path.as_uri())
    page.wait_for_selector("body[data-ready]", timeout=30_000)
    assert page.get_attribute("body", "data-ready") == "1", seen["errors"]
    return ctx, page, seen


def _sizes(page) -> list[str]:
    return page.eval_on_selector_all("#map g.places_marks > path", "ps => ps.map(p => p.getAttribute('d'))")


def _check_clean(seen):
    assert seen["requested"] and all(u.startswith("file://") for u in seen["requested"])
    assert seen["outside"] == [], f"the page requested outside the file: {seen['outside']}"
    assert seen["errors"] == [], seen["errors"]


def test_run_report_in_chromium(report_path, browser):
    ctx, page, seen = _open(browser, report_path, bypass_csp=True)

    # the map (Vega-Lite): borders with area on screen, route legs, circles, labels
    assert page.locator("#map g.borders_marks > path").count() >= 5
    box = page.locator("#map g.borders_marks").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    assert page.locator("#map g.legs_marks > line").count() > 10
    assert page.locator("#map g.places_marks > path").count() >= 1

    # the slider changes the day, the circles and every chart's cursor
    slider = page.locator("#day")
    slider.focus()
    page.keyboard.press("Home")
    page.wait_for_function("document.body.getAttribute('data-day') === '0'")
    page.wait_for_timeout(300)
    r_first, label_first = _sizes(page), page.text_content("#day-label")
    cur_first = page.get_attribute("#chart-states g.cursor_marks line", "transform")
    page.keyboard.press("End")
    page.wait_for_function("document.body.getAttribute('data-day') === '19'")
    page.wait_for_timeout(300)
    r_last, label_last = _sizes(page), page.text_content("#day-label")
    cur_last = page.get_attribute("#chart-states g.cursor_marks line", "transform")
    assert label_first != label_last and "day 1 of 20" in label_first and "day 20 of 20" in label_last
    assert r_first != r_last and cur_first != cur_last

    # play advances the day
    page.keyboard.press("Home")
    page.click("#play")
    for _ in range(60):
        if int(slider.input_value()) >= 2:
            break
        page.wait_for_timeout(100)
    page.click("#play")
    assert int(slider.input_value()) >= 2

    # the charts: Vega-Lite lines with data, observations drawn as ranges
    assert page.locator("#chart-list .chart").count() >= 3
    lines = page.eval_on_selector_all("#chart-list g.lines_marks path", "ps => ps.map(p => (p.getAttribute('d') || '').length)")
    assert len(lines) >= 3 and all(n > 20 for n in lines)
    assert page.locator("#chart-list g.obs_marks line, #chart-list g.obsends_marks path").count() >= 1
    cbox = page.locator("#chart-states .vega-embed").bounding_box()
    assert cbox and cbox["height"] > 100

    # tables
    assert page.locator("#validation-table tbody tr").count() >= 1
    assert page.locator("#needs-table tbody tr").count() >= 1
    _check_clean(seen)
    ctx.close()


def test_reports_draw_under_their_own_csp(report_path, forecast_path, backtest_path, browser):
    """With the page's Content-Security-Policy in force, everything is drawn and nothing is refused."""
    for path in (report_path, forecast_path):
        ctx, page, seen = _open(browser, path, bypass_csp=False)
        assert page.locator("#map g.places_marks > path").count() >= 1
        assert page.locator("#chart-list g.lines_marks path").count() >= 1
        _check_clean(seen)
        ctx.close()
    # the backtest page: the PIT histogram (bars per origin and overall, ticks where calibrated)
    ctx, page, seen = _open(browser, backtest_path, bypass_csp=False)
    assert page.locator("#chart-pit g.bars_marks path").count() == 12
    assert page.locator("#chart-pit g.expected_marks path").count() == 6
    _check_clean(seen)
    ctx.close()


def test_forecast_report_in_chromium(forecast_path, browser):
    ctx, page, seen = _open(browser, forecast_path, bypass_csp=True)
    # the map shows the band (p95 rings) and the median; the slider starts past the as-of date
    assert page.locator("#map g.band95_marks > path").count() >= 1
    assert page.locator("#map g.places_marks > path").count() >= 1
    assert page.get_attribute("#day", "min") == "2"
    # fan charts: 90% and 50% bands, the as-of line, reports used and later
    assert page.locator("#chart-list g.band90_marks path").count() >= 1
    assert page.locator("#chart-list g.band50_marks path").count() >= 1
    assert page.locator("#chart-list g.asof_marks line").count() >= 1
    strokes = set(page.eval_on_selector_all("#chart-list g.obs_marks line", "ls => ls.map(l => l.getAttribute('stroke'))"))
    assert {"#111111", "#e6550d"} <= strokes
    # the needs of the selected day carry bands; the printable tables exist
    assert page.locator("#needs-table tbody tr .band").count() >= 1
    assert page.locator("table.needs-band").count() >= 1
    assert page.locator("#outlook-table tbody tr").count() == 1
    _check_clean(seen)
    ctx.close()


def test_plans_on_the_map(tmp_path, browser):
    """A run with plans.csv: each caravan's target (or hold) of the selected day is drawn and labelled."""
    from test_validate import make_run
    from travesia.report.build import build_report

    run = make_run(tmp_path / "run")
    (run / "plans.csv").write_text("date,caravan,body,target,hold,route,stage_km,people\n"
                                   "2018-10-13,first,Origin,Tijuana,0,Tijuana,3000,400\n"
                                   "2018-10-14,first,Tijuanita,Tijuanita,2,Tijuana,0,1000\n")
    ctx, page, seen = _open(browser, build_report(run), bypass_csp=False)
    page.evaluate("travesia.show(2)")
    page.wait_for_timeout(300)
    assert page.locator("#map g.plans_marks path").count() == 1
    assert "first holds at Tijuanita (2 days)" in page.text_content("#map g.planlabels_marks")
    page.evaluate("travesia.show(1)")
    page.wait_for_timeout(300)
    assert "first → Tijuana" in page.text_content("#map g.planlabels_marks")
    _check_clean(seen)
    ctx.close()
