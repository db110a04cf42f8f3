"""The HTML report of a hand-made run folder: self-contained, with the sections the issue lists."""

from __future__ import annotations

import json
import re

import pytest

from test_validate import DATES, make_run  # noqa: E402  (tests/ is on sys.path under pytest)
from travesia.errors import UserError
from travesia.report.build import SPHERE, build_report


@pytest.fixture()
def report(tmp_path):
    run = make_run(tmp_path / "run")
    out = build_report(run)
    return run, out, out.read_text(encoding="utf-8")


def _data(page: str) -> dict:
    m = re.search(r'<script id="report-data" type="application/json">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_report_is_self_contained(report):
    run, out, page = report
    assert out == run / "report.html"
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert not re.search(r"""(src|srcset|data)=["']?(https?:)?//""", page)
    # the only external URLs are the observations' sources, as plain links a reader may follow
    for m in re.finditer(r"https?://[^\s\"'<>]+", page):
        before = page[max(0, m.start() - 6):m.start()]
        assert before.endswith('href="') or m.group(0) == "http://www.w3.org/2000/svg", m.group(0)
    assert "Content-Security-Policy" in page and "default-src 'none'" in page


def test_report_contents(report):
    run, _, page = report
    assert "Made with Natural Earth" in page
    for a in ("15 litres", "2,100 kcal", "3.5 m²", "Sphere Handbook", "2018"):
        assert a in page
    assert "seed: 7" in page and "--seed 7" in page  # parameters and the command to reproduce
    assert 'id="validation-table"' in page and "Tijuana (Shelter)" in page
    d = _data(page)
    assert d["dates"] == DATES
    assert len(d["borders"]["features"]) >= 5
    names = [p["name"] for p in d["places"]]
    assert d["present"][2][names.index("Tijuanita")] == 1000
    # flows are mapped onto legs (either direction)
    assert d["flows"][2] and sum(n for _, n in d["flows"][2]) == 1060
    charts = {c["id"]: c for c in d["charts"]}
    assert {"chart-states", "chart-present", "chart-cumulative"} <= set(charts)
    tij = [s for s in charts["chart-present"]["series"] if s["name"] == "Tijuana"][0]
    assert tij["values"] == [0, 20, 160]  # prefix rule: Tijuana + Tijuana (Shelter)
    assert [o[:4] for o in tij["obs"]] == [[2, 150, 170, True], [2, 200, None, False]]
    asylum = [s for s in charts["chart-cumulative"]["series"] if s["name"].endswith("(Mexico)")][0]
    assert asylum["obs"][0][:4] == [1, 0, 0, False]
    assert d["sphere"] == {"water_l": 15.0, "kcal": 2100.0, "covered_m2": 3.5} == \
        {k: SPHERE[k] for k in ("water_l", "kcal", "covered_m2")}


def test_capacity_exceedance_marked(report):
    _, _, page = report
    table = page[page.index('id="capacity-table"'):]
    table = table[:table.index("</table>")]
    row = [r for r in table.split("<tr") if "Tijuana (Shelter)" in r][0]
    assert "class='miss'" in row and "10-14" in row  # 60 present > capacity 50 on 2018-10-14
    assert "class='o' title='2018-10-14'" in row and "class='o' title='2018-10-13'" not in row


def test_report_out_and_png(tmp_path):
    run = make_run(tmp_path / "run")
    out = build_report(run, out=tmp_path / "elsewhere" / "r.html", png=True)
    assert out.exists()
    figs = sorted(p.name for p in (out.parent / "figures").glob("*.png"))
    assert {"map.png", "states.png", "present.png", "cumulative.png"} <= set(figs)


def test_report_without_observations(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "observations.csv").unlink()
    page = build_report(run).read_text()
    assert "nothing to compare" in page


def test_report_not_a_run(tmp_path):
    with pytest.raises(UserError):
        build_report(tmp_path)
