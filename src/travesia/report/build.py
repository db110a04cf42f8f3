"""``travesia report DIR``: the right report for any travesia result folder, as one offline HTML file.

- a run folder (``travesia run``; an imported FLEE scenario's run too): :mod:`.run`;
- a forecast folder (``forecast.csv``) or an ensemble folder (``ensemble.csv``): :mod:`.forecast`;
- a backtest folder (``backtest.csv`` / ``backtest.json``): :mod:`.backtest`.

Every report is the same page (:mod:`.page`) made of the same components (:mod:`.components`):
every script, style and datum is inline, so the file works opened from disk with no network.

The map's country borders are ``assets/borders.geojson``, made once from Natural Earth's 1:50m
Admin 0 countries (public domain) by ``scripts/make_borders.py`` (decoded from the ``world-atlas``
TopoJSON, clipped to Central America, Mexico and the southern United States, simplified). The
report carries the credit "Made with Natural Earth". Only the countries near the places are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from travesia.errors import UserError
from travesia.output import write_folder
from travesia.report import components as C
from travesia.report.components import SPHERE  # noqa: F401  (the standards, for importers)
from travesia.report.page import asset, esc, page, write_report_file

KINDS = ("run", "forecast", "ensemble", "backtest")


def folder_kind(folder: Path) -> str:
    """Which travesia result a folder holds: run, forecast, ensemble or backtest."""
    from travesia.report.backtest import is_backtest

    if (folder / "forecast.csv").exists():
        return "forecast"
    if (folder / "ensemble.csv").exists():
        return "ensemble"
    if is_backtest(folder):
        return "backtest"
    if (folder / "totals.csv").exists() or (folder / "places.csv").exists():
        return "run"
    if (folder / "posterior.csv").exists() or (folder / "calibration.json").exists():
        raise UserError("a calibration folder has no report of its own; use it with "
                        "travesia ensemble --posterior DIR or travesia forecast --calibration DIR", where=str(folder))
    if (folder / "sensitivity.csv").exists():
        raise UserError("a sensitivity folder has no report of its own: see its sensitivity.csv and "
                        "sensitivity.png", where=str(folder))
    if (folder / "scenario.yaml").exists():
        raise UserError("this is a scenario folder, not a result: run it first "
                        f"(travesia run {folder} --out RESULTS), then report on RESULTS", where=str(folder))
    raise UserError("not a travesia result folder (run, ensemble, forecast or backtest): no totals.csv, "
                    "forecast.csv, ensemble.csv or backtest.csv", where=str(folder))


def _borders(places: list[dict]) -> dict:
    """The countries of borders.geojson whose outline comes near the places (none for a far region)."""
    geo = json.loads(asset("borders.geojson"))
    if not places:
        return {"type": "FeatureCollection", "features": []}
    lon0 = min(p["lon"] for p in places) - 3
    lon1 = max(p["lon"] for p in places) + 3
    lat0 = min(p["lat"] for p in places) - 3
    lat1 = max(p["lat"] for p in places) + 3

    def near(f) -> bool:
        g = f.get("geometry") or {}
        polys = g.get("coordinates", [])
        polys = [polys] if g.get("type") == "Polygon" else polys
        for poly in polys:
            for ring in poly:
                for x, y in ring:
                    if lon0 <= x <= lon1 and lat0 <= y <= lat1:
                        return True
        return False

    return {"type": "FeatureCollection", "features": [f for f in geo.get("features", []) if near(f)]}


def report_parts(folder: Path, backtest: Path | None = None) -> dict:
    """The report of a result folder as parts (title, cards, nav, body, data): what the page and the
    web app are made of."""
    kind = folder_kind(folder)
    if kind == "run":
        from travesia.report.run import run_report

        parts = run_report(folder)
        if backtest is not None:
            from travesia.report.backtest import find_backtest, section

            parts["body"] += section(find_backtest(folder, backtest), charts=False)
            parts["nav"].append(("backtest", "backtest"))
    elif kind in ("forecast", "ensemble"):
        from travesia.report.forecast import bands_report

        parts = bands_report(folder, kind, backtest)
    else:
        from travesia.report.backtest import backtest_report

        parts = backtest_report(folder)
    if parts["data"].get("map") is not None:
        parts["data"]["borders"] = _borders(parts["data"]["places"])
        if not parts["data"]["borders"]["features"]:  # no Natural Earth outline drawn: no credit owed
            parts["body"] = parts["body"].replace(f'<span class="credit">{esc(C.CREDIT)}</span>', "")
    return parts


def report_path(out) -> Path:
    """The file a report given ``--out`` is written to: ``out`` itself, or ``out/report.html`` when it
    ends in a slash (a folder, made if new)."""
    s = os.fspath(out)
    if s.endswith(("/", os.sep)):
        return Path(s) / "report.html"
    return Path(s)


def build_report(folder, out=None, png: bool = False, force: bool = False, backtest=None) -> Path:
    """Write the report of a travesia result folder (default ``FOLDER/report.html``); return its path.

    An ``out`` given must be a new path or an earlier travesia report (replaced with ``force``);
    nothing else is ever overwritten. An ``out`` ending in a slash is a folder: ``out/report.html``. With ``png``, static figures for papers are written into
    ``figures/`` beside the report (the same rule: new, or an earlier figures folder).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError("result folder not found" if not folder.exists() else
                        "is a file; give a travesia result folder (run, ensemble, forecast or backtest)",
                        where=str(folder))
    own = out is None
    out = folder / "report.html" if out is None else report_path(out)
    from travesia.report.page import check_report_path

    check_report_path(out, force, own)  # before any work
    figs = out.parent / "figures"
    if png:
        from travesia.output import check_out_dir

        check_out_dir(figs, force or own)
    parts = report_parts(folder, backtest)
    footer = esc(f"travesia {parts.get('version') or ''}, {dt.datetime.now().isoformat(timespec='seconds')}.")
    if (parts["data"].get("borders") or {}).get("features"):
        footer += f" Country borders: {esc(C.CREDIT)}"
    text = page(title=parts["title"], kind=parts["kind"], cards=parts["cards"], nav=parts["nav"], body=parts["body"],
                data=parts["data"], footer=footer)
    write_report_file(out, text, force, own)
    if png:
        from travesia.report.png import figures

        write_folder(figs, figures(parts["data"]), force or own, "figures")
    return out
