"""The report family on hand-made result folders: self-contained pages, the same components for a
run, an ensemble, a forecast and a backtest, data escaped for its context, nothing overwritten."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from test_validate import DATES, make_run  # noqa: E402  (tests/ is on sys.path under pytest)
from travesia.errors import UserError
from travesia.report.build import SPHERE, build_report, folder_kind
from travesia.report.page import LIBRARIES, fill, json_for_script


@pytest.fixture()
def report(tmp_path):
    run = make_run(tmp_path / "run")
    out = build_report(run)
    return run, out, out.read_text(encoding="utf-8")


def _data(page: str) -> dict:
    found = re.findall(r'<script id="report-data" type="application/json">(.*?)</script>', page, re.S)
    assert len(found) == 1
    return json.loads(found[0])


def _without_libraries(page: str) -> str:
    """The page less the shipped chart libraries (their code names URLs it never loads)."""
    from travesia.report.page import asset

    for name in LIBRARIES:
        lib = asset(name)
        assert f"<script>{lib}</script>" in page, name  # inline, whole, unchanged
        page = page.replace(lib, "")
    return page


def cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "travesia.cli", *map(str, args)], capture_output=True, text=True)


def test_report_is_self_contained(report):
    run, out, page = report
    assert out == run / "report.html"
    assert not re.search(r"<script[^>]+src=", page) and not re.search(r"<link[^>]+href=", page)
    rest = _without_libraries(page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", rest)
    assert not re.search(r"""(src|srcset|data)=["']?(https?:)?//""", rest)
    # the only external URLs are the observations' sources, as plain links a reader may follow, and
    # the Vega-Lite schema's name (an identifier, never fetched)
    for m in re.finditer(r"https?://[^\s\"'<>]+", rest):
        before = rest[max(0, m.start() - 6):m.start()]
        assert before.endswith('href="') or m.group(0).startswith("https://vega.github.io/schema/"), m.group(0)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "unsafe-eval" not in csp
    # the libraries' licences ship with them
    from importlib import resources

    a = resources.files("travesia.report").joinpath("assets")
    for n in ("vega", "vega-lite", "vega-embed"):
        assert "Redistribution" in a.joinpath(f"{n}.LICENSE.txt").read_text()


def test_report_contents(report):
    run, _, page = report
    assert "Made with Natural Earth" in page
    for a in ("15 litres", "2,100 kcal", "3.5 m²", "Sphere Handbook", "2018"):
        assert a in page
    assert "seed: 7" in page and "--seed 7" in page  # parameters and the command to reproduce
    assert 'id="validation-table"' in page and "Tijuana (Shelter)" in page
    d = _data(page)
    assert d["kind"] == "run" and d["dates"] == DATES
    assert len(d["borders"]["features"]) >= 3
    names = [p["name"] for p in d["places"]]
    assert d["map"]["mid"][2][names.index("Tijuanita")] == 1000
    # flows are mapped onto legs (either direction)
    assert d["map"]["flows"][2] and sum(n for _, n in d["map"]["flows"][2]) == 1060
    charts = {c["id"]: c for c in d["charts"]}
    assert {"chart-states", "chart-present", "chart-cumulative"} <= set(charts)
    tij = [s for s in charts["chart-present"]["series"] if s["name"] == "Tijuana"][0]
    assert tij["values"] == [0, 20, 160]  # prefix rule: Tijuana + Tijuana (Shelter)
    assert [o[:4] for o in tij["obs"]] == [[2, 150, 170, True], [2, 200, None, False]]
    assert [o[6:] for o in tij["obs"]] == [[160, ""], [160, ""]]  # compared with everyone: the line
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


def test_report_not_a_result(tmp_path):
    with pytest.raises(UserError, match="not a travesia result folder"):
        build_report(tmp_path)
    (tmp_path / "scenario.yaml").write_text("name: x\n")
    with pytest.raises(UserError, match="scenario folder, not a result"):
        build_report(tmp_path)
    with pytest.raises(UserError, match="not found"):
        build_report(tmp_path / "nothing")


# --------------------------------------------------------------------------- escaping (issue 13 #8)


def test_template_filled_once():
    assert fill("a {{X}} b {{Y}}", {"X": "{{Y}}", "Y": "y"}) == "a {{Y}} b y"
    with pytest.raises(KeyError):
        fill("{{X}}", {})
    s = json_for_script({"n": "</script><!-- {{DATA}} & \u2028"})
    assert "<" not in s and ">" not in s and "&" not in s and json.loads(s) == {"n": "</script><!-- {{DATA}} & \u2028"}


@pytest.mark.parametrize("name", ["La Entrada {{PARAMS}}", "Bad </script><script>alert(1)</script>",
                                  "Odd {{DATA}} <!-- & \"quoted\" 'x'"])
def test_place_names_cannot_break_the_page(tmp_path, name):
    run = make_run(tmp_path / "run")
    for f in ("places.csv", "totals.csv", "daily.csv", "flows.csv"):
        p = run / f
        pd.read_csv(p, keep_default_na=False).replace("Tijuanita", name).to_csv(p, index=False)
    page = build_report(run).read_text(encoding="utf-8")
    d = _data(page)  # exactly one data element, and it parses
    assert name in [p["name"] for p in d["places"]]
    assert page.count("<script>") == len(LIBRARIES) + 1  # nothing injected a script
    from travesia.report.page import asset

    for ph in re.findall(r"\{\{[A-Z_]+\}\}", asset("report.html")):
        if ph not in name:
            assert ph not in page, ph  # every placeholder filled, none filled again from the data
    # the parameters section still holds the resolved YAML (not the data)
    params = page[page.index('id="parameters"'):]
    assert "seed: 7" in params


# --------------------------------------------------------------------------- never overwrite (issue 13 #2)


def test_report_out_never_overwrites_a_users_file(tmp_path):
    run = make_run(tmp_path / "run")
    mine = tmp_path / "my-scenario" / "scenario.yaml"
    mine.parent.mkdir()
    mine.write_text("name: mine\n")
    r = cli("report", run, "--out", mine)
    assert r.returncode == 2 and "not written by travesia" in r.stderr and "Traceback" not in r.stderr
    assert mine.read_text() == "name: mine\n"
    with pytest.raises(UserError, match="not written by travesia"):
        build_report(run, out=mine, force=True)
    with pytest.raises(UserError, match="is a folder"):  # a folder is refused too
        build_report(run, out=tmp_path / "my-scenario")
    assert mine.read_text() == "name: mine\n"


def test_report_replaces_only_its_own_output(tmp_path):
    run = make_run(tmp_path / "run")
    out = tmp_path / "r.html"
    build_report(run, out=out)
    with pytest.raises(UserError, match="--force"):
        build_report(run, out=out)
    build_report(run, out=out, force=True)
    # the result folder's own report.html is travesia's to replace
    build_report(run)
    build_report(run)
    (run / "report.html").write_text("my notes")
    with pytest.raises(UserError, match="not written by travesia"):
        build_report(run)
    assert (run / "report.html").read_text() == "my notes"


def test_png_never_overwrites_a_users_figure(tmp_path):
    run = make_run(tmp_path / "run")
    figs = tmp_path / "paper" / "figures"
    figs.mkdir(parents=True)
    (figs / "map.png").write_bytes(b"my map")
    r = cli("report", run, "--out", tmp_path / "paper" / "r.html", "--png")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (figs / "map.png").read_bytes() == b"my map" and not (tmp_path / "paper" / "r.html").exists()
    with pytest.raises(UserError):
        build_report(run, out=tmp_path / "paper" / "r.html", png=True, force=True)
    assert (figs / "map.png").read_bytes() == b"my map" and not (tmp_path / "paper" / "r.html").exists()
    # figures of an earlier report are replaced with --force
    out = build_report(run, out=tmp_path / "p2" / "r.html", png=True)
    with pytest.raises(UserError):
        build_report(run, out=out, png=True)
    build_report(run, out=out, png=True, force=True)
    assert (out.parent / "figures" / "map.png").stat().st_size > 1000


# --------------------------------------------------------------------------- issue 12's rough edges


def test_report_and_validate_agree(tmp_path):
    """A caravan-named observation is read from that caravan's totals, by the report as by validate."""
    from travesia.analysis.observe import validate_run

    run = make_run(tmp_path / "run")
    t = pd.read_csv(run / "totals.csv")
    first = t.assign(caravan="first")
    # the caravan's Tijuana (the town's row: Tijuana and its shelter) is only its people in the shelter
    shelter = first.loc[(first["quantity"] == "present") & (first["place"] == "Tijuana (Shelter)"), "people"]
    first.loc[(first["quantity"] == "present") & (first["place"] == "Tijuana"), "people"] = shelter.to_numpy()
    pd.concat([first]).to_csv(run / "totals_by_caravan.csv", index=False,
                              columns=["date", "caravan", "quantity", "place", "people"])
    _, sc = validate_run(run)
    page = build_report(run).read_text(encoding="utf-8")
    summ = page[page.index('id="validation-summary"'):]
    overall = summ[summ.index("class=total"):summ.index("</tr>", summ.index("class=total"))]
    cells = re.findall(r"<td class='n'>([^<]*)</td>", overall)
    assert cells[0] == str(sc["overall"]["n"])
    assert cells[1] == f"{100 * sc['overall']['hit_share']:.0f}%"
    assert cells[2] == f"{sc['overall']['median_rel_error']:.2f}" or cells[2] == str(int(sc['overall']['median_rel_error']))
    # the caravan's own totals were used (Tijuana present for 'first' is 60: a miss, as validate says)
    assert sc["overall"]["hit_share"] < 0.25
    # and the chart says so: the range is red, compared with the caravan's 60 (its shelter), not the line's 160
    pres = [c for c in _data(page)["charts"] if c["id"] == "chart-present"][0]
    tij = [s for s in pres["series"] if s["name"] == "Tijuana"][0]
    assert tij["values"][2] == 160 and tij["obs"][0][3:4] + tij["obs"][0][6:] == [False, 60, "first"]


def test_reproduce_names_a_folder_or_builtin(tmp_path):
    run = make_run(tmp_path / "run")
    s = json.loads((run / "summary.json").read_text())
    (run / "summary.json").write_text(json.dumps({**s, "source": "caravan-2018"}))
    page = build_report(run).read_text()
    cmd = re.search(r'<code id="reproduce">([^<]*)</code>', page).group(1)
    assert cmd.startswith("travesia run caravan-2018 --out RESULTS --seed 7 --days 3")
    (run / "summary.json").write_text(json.dumps({**s, "source": "/data/my scenarios/jan 2019"}))
    page = build_report(run, force=True).read_text()
    cmd = re.search(r'<code id="reproduce">([^<]*)</code>', page).group(1)
    assert cmd.startswith("travesia run &#x27;/data/my scenarios/jan 2019&#x27; --out")  # quoted for the shell


def test_summary_records_the_scenario_source(tmp_path):
    from travesia.api import run_scenario
    from travesia.scenario.builtin import init_scenario

    r = run_scenario("caravan-2018", out_dir=tmp_path / "a", days=2, scale=0.02)
    assert r["summary"]["source"] == "caravan-2018"
    folder = init_scenario("caravan-2018", tmp_path / "my scen")
    r = run_scenario(folder, out_dir=tmp_path / "b", days=2, scale=0.02)
    assert r["summary"]["source"] == str(folder.resolve())


def test_arrived_and_reached(tmp_path):
    """The header's 'arrived' counts journeys that ended at a destination, 'reached' every arrival;
    the chart's line is 'reached destinations' and ends at the header's 'reached'."""
    run = make_run(tmp_path / "run")
    t = pd.read_csv(run / "totals.csv")
    m = (t["quantity"] == "arrived") & t["place"].isin(["Tijuana", "(all)", "(Mexico)", "(Baja California)"])
    t.loc[m, "people"] = t.loc[m, "date"].map({DATES[0]: 0, DATES[1]: 20, DATES[2]: 1080})
    t.to_csv(run / "totals.csv", index=False)
    s = json.loads((run / "summary.json").read_text())
    s["destinations"] = {"Tijuana": {"arrived": 100, "reached": 1080}}
    (run / "summary.json").write_text(json.dumps(s))
    page = build_report(run).read_text()
    cards = dict(re.findall(r"<div class='k'>([^<]*)</div><div class='v'>([^<]*)</div>", page))
    assert cards["arrived"] == "100" and cards["reached"] == "1,080"
    d = _data(page)
    cum = [c for c in d["charts"] if c["id"] == "chart-cumulative"][0]
    line = [s for s in cum["series"] if s["name"] == "reached destinations"][0]
    assert line["values"][-1] == 1080
    assert not any(s["name"].startswith("arrived at") for s in cum["series"])


def test_png_dates_labelled_right(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from travesia.report.png import date_axis

    dates = [dt.date(2019, 1, 15) + dt.timedelta(days=i) for i in range(45)]  # 15 Jan - 28 Feb
    fig, ax = plt.subplots()
    ax.plot(dates, np.arange(45))
    date_axis(ax, dates)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(("Jan" in x or "Feb" in x) for x in labels), labels
    assert ax.get_xlabel() == "2019"
    lo, hi = ax.get_xlim()
    import matplotlib.dates as mdates

    assert mdates.num2date(lo).date() == dates[0] and mdates.num2date(hi).date() == dates[-1]
    plt.close(fig)


# --------------------------------------------------------------------------- forecast, ensemble, backtest folders

PLACES = (Path(__file__).parent / "test_validate.py")  # the places of make_run


def make_forecast(folder: Path, as_of: str = "2018-10-13", kind: str = "forecast") -> Path:
    """A hand-made forecast (or ensemble) folder: bands that grow at Tijuanita."""
    run = make_run(folder.parent / f".{folder.name}-src")
    folder.mkdir(parents=True)
    for f in ("places.csv", "legs.csv", "observations.csv"):
        (folder / f).write_text((run / f).read_text())
    with open(folder / "observations.csv", "a") as f:
        f.write("2018-10-13,Tijuana,present,15,25,,a report before the as-of date,\n")
    dates = DATES if kind == "ensemble" else [d for d in DATES if d > as_of] + ["2018-10-15", "2018-10-16"]
    rows = []
    for k, d in enumerate(dates):
        for place, base in (("Tijuanita", 1000), ("Tijuana", 100), ("Tijuana (Shelter)", 40), ("Origin", 0)):
            v = base * (k + 1)
            rows.append((d, place, "present", 0.5 * v, 0.8 * v, v, 1.2 * v, 2 * v))
        rows.append((d, "Tijuana", "arrived", 10 * k, 20 * k, 30 * k, 40 * k, 50 * k))
        rows.append((d, "(all)", "travelling", 100, 200, 300, 400, 500))
    cols = ["date", "place", "quantity", "p05", "p25", "p50", "p75", "p95"]
    pd.DataFrame(rows, columns=cols).to_csv(folder / f"{kind}.csv", index=False)
    meta = {"scenario": "tiny", "members": 40, "seed": 3, "start": DATES[0], "version": "test"}
    if kind == "forecast":
        meta.update(as_of=as_of, observations_used=2, calibration_note="hand-made")
        pd.DataFrame([{"place": "Tijuana", "kind": "destination", "members_with_arrivals": 38, "members": 40,
                       "first_p05": "2018-10-14", "first_p50": "2018-10-14", "first_p95": "2018-10-15",
                       "half_p05": "2018-10-15", "half_p50": "2018-10-16", "half_p95": "2018-10-16",
                       **{f"peak{w}_p{p:02d}": w * p for w in (7, 14, 30) for p in (5, 50, 95)}}]
                     ).to_csv(folder / "outlook.csv", index=False)
    (folder / f"{kind}.json").write_text(json.dumps(meta))
    (folder / ".travesia-run").write_text(f"travesia test {kind}\n")
    return folder


def test_forecast_report(tmp_path):
    fc = make_forecast(tmp_path / "fc")
    assert folder_kind(fc) == "forecast"
    page = build_report(fc).read_text(encoding="utf-8")
    d = _data(page)
    assert d["kind"] == "forecast" and d["as_of"] == "2018-10-13"
    assert d["dates"][0] == "2018-10-12" and d["dates"][-1] == "2018-10-16"
    # the map: median and band per place, the slider past the as-of date
    m, names = d["map"], [p["name"] for p in d["places"]]
    assert m["first"] == d["dates"].index("2018-10-14")
    i = names.index("Tijuanita")
    assert (m["lo"][2][i], m["mid"][2][i], m["hi"][2][i]) == (500, 1000, 2000)
    # fan charts with bands, reports used (black) and later (orange)
    fans = {c["title"]: c for c in d["charts"]}
    tij = fans["Present at Tijuana"]["series"][0]
    assert tij["p05"][2] == 50 and tij["p95"][2] == 200 and tij["values"][2] == 100
    assert tij["values"][0] is None  # no forecast before the as-of date
    assert sorted((d["dates"][o[0]], o[5]) for o in tij["obs"]) == [
        ("2018-10-13", True), ("2018-10-14", False), ("2018-10-14", False)]  # used (black), later (orange)
    assert "Reached Tijuana" in fans and "On the move (everyone)" in fans
    # the outlook table and the needs with bands
    assert 'id="outlook-table"' in page and "2018-10-16" in page
    needs = page[page.index("needs-band"):]
    assert "Tijuanita" in page and "Sphere" in page
    tbl = page[page.index('data-place="Tijuanita"'):]
    tbl = tbl[:tbl.index("</table>")]
    row = re.search(r"<tr><td>2018-10-14</td>(.*?)</tr>", tbl).group(1)
    vals = [int(x.replace(",", "")) for x in re.findall(r">([\d,]+)</td>", row)]
    assert vals == [500, 1000, 2000, 7500, 15000, 30000, 1050000, 2100000, 4200000, 1750, 3500, 7000]
    assert needs


def test_ensemble_and_backtest_reports(tmp_path):
    ens = make_forecast(tmp_path / "ens", kind="ensemble")
    assert folder_kind(ens) == "ensemble"
    d = _data(build_report(ens).read_text())
    assert d["kind"] == "ensemble" and d["as_of"] is None and d["map"]["first"] == 0
    bt = tmp_path / "bt"
    bt.mkdir()
    pd.DataFrame([{"level": "overall", "origin": "", "quantity": "", "n": 12, "wis": 0.41, "crps": 0.3,
                   "cover50": 0.5, "cover90": 0.83, "relative_wis": 0.45}]).to_csv(bt / "backtest_summary.csv",
                                                                                   index=False)
    (bt / "backtest.json").write_text(json.dumps({"scenario": "tiny", "origins": ["2018-10-16"], "members": 10,
                                                  "overall": {"n": 12, "cover90": 0.83, "relative_wis": 0.45}}))
    assert folder_kind(bt) == "backtest"
    page = build_report(bt).read_text()
    assert "id='backtest-summary'" in page and "83%" in page and "0.450" in page
    # a forecast report shows a backtest folder's scores when given one; a folder that is not one is refused
    fc = make_forecast(tmp_path / "fc")
    page = build_report(fc, backtest=bt).read_text()
    assert "id='backtest'" in page and "relative WIS" in page
    with pytest.raises(UserError, match="not a backtest folder"):
        build_report(fc, backtest=ens, force=True)
    # only what exists: backtest.json alone
    (bt / "backtest_summary.csv").unlink()
    page = build_report(bt, force=True).read_text()
    assert "id='backtest-summary'" in page and "83%" in page


def test_plans_drawn_on_the_map(tmp_path):
    run = make_run(tmp_path / "run")
    (run / "plans.csv").write_text("date,caravan,body,target,hold,route,stage_km,people\n"
                                   "2018-10-13,first,Origin,Tijuana,0,Tijuana,3000,400\n"
                                   "2018-10-14,first,Tijuanita,Tijuanita,3,Tijuana,0,1000\n"
                                   "2018-10-14,first,Origin,Nowhere,0,,,\n")
    d = _data(build_report(run).read_text())
    names = [p["name"] for p in d["places"]]
    assert d["map"]["plans"] == [
        {"d": 1, "caravan": "first", "target": names.index("Tijuana"), "hold": False, "route": "Tijuana",
         "people": 400, "stage_km": 3000},
        {"d": 2, "caravan": "first", "target": names.index("Tijuanita"), "hold": True, "route": "Tijuana",
         "hold_days": 3, "people": 1000, "stage_km": 0}]


@pytest.mark.parametrize("name,text,match", [
    ("totals.csv", "", "totals.csv"),
    ("flows.csv", "date,from,to,people\n2018-10-13,Origin,Tijuana,abc\n", "flows.csv:2: column people"),
    ("daily.csv", "a,b\n1,2\n", "daily.csv: lacks the column"),
    ("places.csv", "id,name\nx,y\n", "places.csv"),
    ("legs.csv", "from,to,km,modes\norigin,tij,far,foot\n", "legs.csv:2: column km"),
])
def test_damaged_run_folder_is_a_clear_error(tmp_path, name, text, match):
    run = make_run(tmp_path / "run")
    (run / name).write_text(text)
    with pytest.raises(UserError, match=match):  # the command line's exit 2 with one message
        build_report(run)
    if name == "flows.csv":
        r = cli("report", run)
        assert r.returncode == 2 and "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_damaged_forecast_folder_is_a_clear_error(tmp_path):
    fc = make_forecast(tmp_path / "fc")
    (fc / "outlook.csv").write_text("place,x\nTijuana,1\n")  # columns of another version: shown as written
    assert "outlook.csv (as written)" in build_report(fc).read_text()
    (fc / "forecast.csv").write_text("date,place\n2018-10-14,Tijuana\n")
    with pytest.raises(UserError, match="forecast.csv.*lacks the columns quantity"):
        build_report(fc, force=True)


def test_report_of_an_imported_flee_scenario(tmp_path):
    """A FLEE scenario's run (camp populations) gets the run report: the camp charted with its counts."""
    from test_flee import write_flee
    from travesia.api import run_scenario
    from travesia.flee.convert import import_flee

    scen = import_flee(write_flee(tmp_path / "flee", days=10), tmp_path / "scen")["out"]
    run_scenario(scen, out_dir=tmp_path / "run")
    page = build_report(tmp_path / "run").read_text(encoding="utf-8")
    d = _data(page)
    assert {p["kind"] for p in d["places"]} >= {"camp", "conflict_zone"}
    camp = [s for c in d["charts"] for s in c["series"] if s["name"] == "Camp One"]
    assert camp and camp[0]["obs"] and max(camp[0]["values"]) > 0
    assert d["borders"]["features"] == []  # no country outline of the region ships with travesia
    assert "Natural Earth" not in page  # so no credit either
    cmd = re.search(r'<code id="reproduce">([^<]*)</code>', page).group(1)
    assert str(Path(scen).resolve()) in cmd


def test_run_force_after_report_and_figures(tmp_path):
    """The report and its figures inside a run folder are travesia's: run --force replaces them."""
    from travesia.api import run_scenario

    run_scenario("caravan-2018", out_dir=tmp_path / "r", days=2, scale=0.02)
    build_report(tmp_path / "r", png=True)
    build_report(tmp_path / "r", png=True)  # the folder's own report and figures are replaced freely
    run_scenario("caravan-2018", out_dir=tmp_path / "r", days=2, scale=0.02, force=True)
    assert not (tmp_path / "r" / "figures").exists() and not (tmp_path / "r" / "report.html").exists()


def test_report_of_a_real_ensemble(tmp_path):
    """travesia ensemble writes what its report needs (the network and observations travel with it)."""
    from travesia.ensemble.ensemble import run_ensemble

    ens = run_ensemble("caravan-2018", members=2, days=6, scale=0.02, seeds_only=True, workers=1,
                       out=tmp_path / "ens")["out"]
    assert {"places.csv", "legs.csv", "observations.csv"} <= {p.name for p in ens.iterdir()}
    d = _data(build_report(ens).read_text(encoding="utf-8"))
    assert d["kind"] == "ensemble" and len(d["legs"]) > 10 and d["map"]["hi"] and d["charts"]
