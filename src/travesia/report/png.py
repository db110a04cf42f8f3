"""Static figures (PNG) for papers, from the report's data: the charts and a map of the busiest day.

Dates on the x axis are labelled by day and month ("15 Jan"), with the year(s) the axis spans in
its label, and the axis stops at the first and last date: a January–February run is never
labelled with a month outside it.
"""

from __future__ import annotations

import io
import math


def date_axis(ax, dates) -> None:
    """Day-month ticks inside [first, last] date, and the year(s) as the axis label."""
    import matplotlib.dates as mdates

    ax.set_xlim(dates[0], dates[-1] if len(dates) > 1 else dates[0])
    loc = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%-d %b"))
    y0, y1 = dates[0].year, dates[-1].year
    ax.set_xlabel(str(y0) if y0 == y1 else f"{y0}–{y1}")


def _draw_obs(ax, dates, obs, color):
    for o in obs:
        di, low, high, hit = o[0], o[1], o[2], o[3]
        used = o[5] if len(o) > 5 else None
        c = ("#111111" if used is True else "#e6550d" if used is False else
             "#2a8a2a" if hit is True else "#b3261e" if hit is False else color)
        x = dates[di]
        if high is None:
            ax.annotate("", xy=(x, ax.get_ylim()[1]), xytext=(x, low),
                        arrowprops=dict(arrowstyle="->", color=c, lw=1.2, ls="--"))
            ax.plot([x], [low], marker="_", color=c, ms=8)
        elif low == high:
            ax.plot([x], [low], marker="o", mfc="white", mec=c, ms=5)
        else:
            ax.plot([x, x], [low, high], color=c, lw=2)
            ax.plot([x, x], [low, high], marker="_", color=c, ms=8, ls="none")


def figures(data: dict) -> dict[str, bytes]:
    """One PNG per chart and ``map.png`` (the busiest day shown on the map), as name -> bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    def png(fig) -> bytes:
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        plt.close(fig)
        return buf.getvalue()

    dates = np.array(data["dates"], dtype="datetime64[D]").astype("O")
    out: dict[str, bytes] = {}
    for ch in data.get("charts", []):
        fig, ax = plt.subplots(figsize=(8, 4), dpi=150)
        ymax = 0.0
        for s in ch["series"]:
            f = (lambda a: np.array([np.nan if x is None else x for x in a], dtype=float))
            if s.get("p05") is not None:
                lo, hi, q1, q3 = f(s["p05"]), f(s["p95"]), f(s["p25"]), f(s["p75"])
                lab = "" if s["name"] == "median" else s["name"] + ": "
                ax.fill_between(dates, lo, hi, color=s["color"], alpha=0.18, lw=0, label=f"{lab}90% band")
                ax.fill_between(dates, q1, q3, color=s["color"], alpha=0.35, lw=0, label=f"{lab}50% band")
                ymax = max(ymax, float(np.nanmax(hi)) if np.isfinite(hi).any() else 0.0)
            if s.get("values") is not None:
                v = f(s["values"])
                ax.plot(dates, v, color=s["color"], lw=1.6, label=s["name"])
                ymax = max(ymax, float(np.nanmax(v)) if np.isfinite(v).any() else 0.0)
            ymax = max([ymax] + [o[1] for o in s["obs"]] + [o[2] for o in s["obs"] if o[2] is not None])
        ax.set_ylim(0, max(1.0, ymax * 1.08))
        for s in ch["series"]:
            _draw_obs(ax, dates, s["obs"], s["color"])
        if data.get("as_of"):
            ax.axvline(np.datetime64(data["as_of"]).astype("O"), color="#d62728", lw=1, ls="--")
        ax.set_title(ch["title"], loc="left", fontsize=11)
        ax.set_ylabel(ch.get("ylabel", ""))
        date_axis(ax, dates)
        ax.grid(alpha=0.25)
        if ch["series"]:
            ax.legend(fontsize=7, ncol=1, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        out[f"{ch['id'].removeprefix('chart-')}.png"] = png(fig)
    m = data.get("map")
    if m and m.get("mid"):
        present = np.array([[0 if x is None else x for x in row] for row in m["mid"]], dtype=float)
        day = int(m.get("start", present.sum(axis=1).argmax()))
        fig, ax = plt.subplots(figsize=(8, 6), dpi=150)
        for f in (data.get("borders") or {}).get("features", []):
            g = f["geometry"]
            polys = [g["coordinates"]] if g["type"] == "Polygon" else g["coordinates"]
            for poly in polys:
                for ring in poly:
                    xs, ys = zip(*ring)
                    ax.fill(xs, ys, facecolor="#f4f1ea", edgecolor="#9a9388", lw=0.5)
        pl = data["places"]
        for a, b, _km in data["legs"]:
            ax.plot([pl[a]["lon"], pl[b]["lon"]], [pl[a]["lat"], pl[b]["lat"]], color="#b0a8a0", lw=0.6)
        mx = max(1.0, present.max())
        lon = np.array([p["lon"] for p in pl])
        lat = np.array([p["lat"] for p in pl])
        if m.get("hi"):
            hi = np.array([[0 if x is None else x for x in row] for row in m["hi"]], dtype=float)
            mx = max(mx, hi.max())
            ax.scatter(lon, lat, s=600 * hi[day] / mx, facecolor="#9ecae1", alpha=0.35, edgecolor="#4292c6",
                       lw=0.5, ls="--")
        ax.scatter(lon, lat, s=600 * present[day] / mx, color="#1f77b4", alpha=0.55, edgecolor="#0d3d66", lw=0.5)
        ax.scatter(lon, lat, s=2, color="#555")
        ax.set_xlim(lon.min() - 1.5, lon.max() + 2.5)
        ax.set_ylim(lat.min() - 1.5, lat.max() + 1.5)
        ax.set_aspect(1 / math.cos(math.radians(float(lat.mean()))))
        ax.set_facecolor("#dfeaf3")
        what = "median people present (ring: p95)" if m.get("hi") else "people present at places"
        ax.set_title(f"{what}, {data['dates'][day]}", loc="left", fontsize=11)
        ax.text(0.01, 0.01, "Made with Natural Earth", transform=ax.transAxes, fontsize=7, color="#555")
        fig.tight_layout()
        out["map.png"] = png(fig)
    return out
