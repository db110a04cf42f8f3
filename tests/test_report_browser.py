"""The report of a real (short) run, opened from disk in headless Chromium.

Debian's chromium driven by Playwright (never a downloaded browser); skipped with a reason when it
is not installed (``make test`` installs it through scripts/ensure-chromium.sh). Every request
the page makes is routed: anything that is not a file:// URL fails the test.
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
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _radii(page) -> list[str]:
    return page.eval_on_selector_all("#map circle.place-circle", "cs => cs.map(c => c.getAttribute('r'))")


def test_report_in_chromium(report_path, browser):
    # bypass the page's own Content-Security-Policy (which would block outside loads silently but for a
    # console error) so that any attempt to reach outside the file shows up in the router below
    ctx = browser.new_context(viewport={"width": 1200, "height": 900}, bypass_csp=True)
    page = ctx.new_page()
    outside, requested, errors = [], [], []

    def route(r):
        url = r.request.url
        requested.append(url)
        if url.startswith("file://"):
            r.continue_()
        else:
            outside.append(url)
            r.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(report_path.as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=10_000)

    # the map: borders (drawn, with area on screen), route legs and circles
    assert page.locator("#borders path.country").count() >= 5
    box = page.locator("#borders").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 200
    assert page.locator("#legs line.leg").count() > 10
    r0 = _radii(page)
    assert sum(float(r) > 0 for r in r0) >= 1

    # the slider changes the day and the circles
    slider = page.locator("#day")
    slider.focus()
    page.keyboard.press("Home")
    r_first, label_first = _radii(page), page.text_content("#day-label")
    page.keyboard.press("End")
    r_last, label_last = _radii(page), page.text_content("#day-label")
    assert label_first != label_last and "day 1 of 20" in label_first and "day 20 of 20" in label_last
    assert r_first != r_last

    # play advances the day
    page.keyboard.press("Home")
    page.click("#play")
    for _ in range(50):
        if int(slider.input_value()) >= 2:
            break
        page.wait_for_timeout(100)
    page.click("#play")
    assert int(slider.input_value()) >= 2

    # the charts: lines with data, observations drawn as ranges
    assert page.locator("#chart-list .chart").count() >= 3
    paths = page.eval_on_selector_all("#chart-list path.series", "ps => ps.map(p => p.getAttribute('d').length)")
    assert len(paths) >= 3 and all(n > 20 for n in paths)
    assert page.locator("#chart-list g.obs").count() >= 1
    cbox = page.locator("#chart-states svg").bounding_box()
    assert cbox and cbox["height"] > 100

    # tables
    assert page.locator("#validation-table tbody tr").count() >= 1
    assert page.locator("#needs-table tbody tr").count() >= 1

    assert requested and all(u.startswith("file://") for u in requested)
    assert outside == [], f"the page requested outside the file: {outside}"
    assert errors == [], errors
    ctx.close()
