"""Static figures (PNG) for papers, from the report's data: the charts and a map of the busiest day."""

from __future__ import annotations

import math
from pathlib import Path


def _draw_obs(ax, dates, obs, color):
    for di, low, high, hit, _note in obs:
        c = "#2a8a2a" if hit is True else "#b3261e" if hit is False else color
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


def write_figures(data: dict, folder: Path) -> list[Path]:
    """Write one PNG per chart and ``map.png``; return their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt
    import numpy as np

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dates = np.array(data["dates"], dtype="datetime64[D]").astype("O")
    written = []
    for ch in data["charts"]:
        fig, ax = plt.subplots(figsize=(8, 4), dpi=150)
        ymax = 0.0
        for s in ch["series"]:
            v = [0 if x is None else x for x in s["values"]]
            ax.plot(dates, v, color=s["color"], lw=1.6, label=s["name"])
            ymax = max([ymax] + v + [o[1] for o in s["obs"]] + [o[2] for o in s["obs"] if o[2] is not None])
        ax.set_ylim(0, max(1.0, ymax * 1.08))
        for s in ch["series"]:
            _draw_obs(ax, dates, s["obs"], s["color"])
        ax.set_title(ch["title"], loc="left", fontsize=11)
        ax.set_ylabel(ch.get("ylabel", ""))
        loc = mdates.AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
        ax.grid(alpha=0.25)
        if ch["series"]:
            ax.legend(fontsize=7, ncol=2, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        p = folder / f"{ch['id'].removeprefix('chart-')}.png"
        fig.savefig(p)
        plt.close(fig)
        written.append(p)
    # map of the day with the most people present at places
    present = np.array([[0 if x is None else x for x in row] for row in data["present"]], dtype=float)
    if present.size:
        day = int(present.sum(axis=1).argmax())
        fig, ax = plt.subplots(figsize=(8, 6), dpi=150)
        for f in data["borders"]["features"]:
            for poly in f["geometry"]["coordinates"]:
                for ring in poly:
                    xs, ys = zip(*ring)
                    ax.fill(xs, ys, facecolor="#f4f1ea", edgecolor="#9a9388", lw=0.5)
        pl = data["places"]
        for a, b, _km in data["legs"]:
            ax.plot([pl[a]["lon"], pl[b]["lon"]], [pl[a]["lat"], pl[b]["lat"]], color="#b0a8a0", lw=0.6)
        mx = max(1.0, present.max())
        lon = np.array([p["lon"] for p in pl])
        lat = np.array([p["lat"] for p in pl])
        ax.scatter(lon, lat, s=600 * present[day] / mx, color="#1f77b4", alpha=0.55, edgecolor="#0d3d66", lw=0.5)
        ax.scatter(lon, lat, s=2, color="#555")
        ax.set_xlim(lon.min() - 1.5, lon.max() + 2.5)
        ax.set_ylim(lat.min() - 1.5, lat.max() + 1.5)
        ax.set_aspect(1 / math.cos(math.radians(float(lat.mean()))))
        ax.set_facecolor("#dfeaf3")
        ax.set_title(f"People present at places, {data['dates'][day]} (busiest day)", loc="left", fontsize=11)
        ax.text(0.01, 0.01, "Made with Natural Earth", transform=ax.transAxes, fontsize=7, color="#555")
        fig.tight_layout()
        p = folder / "map.png"
        fig.savefig(p)
        plt.close(fig)
        written.append(p)
    return written
