"""Make src/travesia/report/assets/borders.geojson, the country borders of the offline report map.

Run once, by hand; the result is committed and shipped in the package (no network at report time).

Source: Natural Earth 1:50m Admin 0 countries (public domain, https://www.naturalearthdata.com/),
as redistributed in TopoJSON by the npm package ``world-atlas`` (v2, countries-50m.json):

    cd /tmp && npm pack world-atlas@2 && tar xzf world-atlas-2.*.tgz
    python scripts/make_borders.py /tmp/package/countries-50m.json

The script decodes the TopoJSON arcs itself (quantised, delta-encoded), keeps the countries that
touch the region (Central America, Mexico, southern United States), clips every ring to a box a
little larger than the map, simplifies with Douglas-Peucker (tolerance 0.01 degree, about 1 km)
and rounds coordinates to 0.01 degree. The file is about 37 KB.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# lon_min, lat_min, lon_max, lat_max: the map region, with a margin so clip edges stay off-screen
BOX = (-124.0, 8.0, -79.0, 38.0)
TOLERANCE = 0.01
OUT = Path(__file__).resolve().parents[1] / "src/travesia/report/assets/borders.geojson"


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring(indices: list[int], arcs) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in indices:
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(a if not pts else a[1:])
    return pts


def clip(pts, box):
    """Sutherland-Hodgman clip of a closed ring to an axis-aligned box."""
    x0, y0, x1, y1 = box
    edges = [
        (lambda p: p[0] >= x0, lambda p, q: (x0, p[1] + (q[1] - p[1]) * (x0 - p[0]) / (q[0] - p[0]))),
        (lambda p: p[0] <= x1, lambda p, q: (x1, p[1] + (q[1] - p[1]) * (x1 - p[0]) / (q[0] - p[0]))),
        (lambda p: p[1] >= y0, lambda p, q: (p[0] + (q[0] - p[0]) * (y0 - p[1]) / (q[1] - p[1]), y0)),
        (lambda p: p[1] <= y1, lambda p, q: (p[0] + (q[0] - p[0]) * (y1 - p[1]) / (q[1] - p[1]), y1)),
    ]
    out = list(pts)
    for inside, cross in edges:
        if not out:
            break
        src, out = out, []
        prev = src[-1]
        for cur in src:
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
            prev = cur
    return out


def simplify(pts, tol):
    """Douglas-Peucker on an open polyline."""
    if len(pts) < 3:
        return pts
    keep = [False] * len(pts)
    keep[0] = keep[-1] = True
    stack = [(0, len(pts) - 1)]
    while stack:
        a, b = stack.pop()
        (ax, ay), (bx, by) = pts[a], pts[b]
        dx, dy = bx - ax, by - ay
        norm = (dx * dx + dy * dy) ** 0.5 or 1e-12
        best, idx = 0.0, -1
        for i in range(a + 1, b):
            px, py = pts[i]
            if dx == 0 and dy == 0:  # closed ring: distance to the shared end point
                d = ((px - ax) ** 2 + (py - ay) ** 2) ** 0.5
            else:
                d = abs(dy * (px - ax) - dx * (py - ay)) / norm
            if d > best:
                best, idx = d, i
        if best > tol and idx > 0:
            keep[idx] = True
            stack += [(a, idx), (idx, b)]
    return [p for p, k in zip(pts, keep) if k]


def main(src: str) -> None:
    topo = json.loads(Path(src).read_text())
    arcs = decode_arcs(topo)
    feats = []
    for g in topo["objects"]["countries"]["geometries"]:
        polys = [g["arcs"]] if g["type"] == "Polygon" else g["arcs"] if g["type"] == "MultiPolygon" else []
        out_polys = []
        for poly in polys:
            rings = []
            for r in poly:
                pts = clip(ring(r, arcs), BOX)
                if len(pts) < 4:
                    continue
                pts = simplify(pts + [pts[0]], TOLERANCE)
                pts = [(round(x, 2), round(y, 2)) for x, y in pts]
                if len(pts) >= 4:
                    rings.append([list(p) for p in pts])
            if rings:
                out_polys.append(rings)
        if out_polys:
            feats.append({"type": "Feature", "properties": {"name": g.get("properties", {}).get("name", "")},
                          "geometry": {"type": "MultiPolygon", "coordinates": out_polys}})
    gj = {"type": "FeatureCollection",
          "properties": {"source": "Made with Natural Earth. Free vector and raster map data @ naturalearthdata.com "
                                   "(1:50m Admin 0 countries, public domain, via world-atlas 2.0.2)",
                         "box": BOX},
          "features": feats}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(gj, separators=(",", ":"), ensure_ascii=False))
    print(f"{OUT}: {len(feats)} countries, {OUT.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/package/countries-50m.json")
