// travesia report: map, charts and needs table, in plain JavaScript and SVG (no libraries, no network).
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var NS = "http://www.w3.org/2000/svg";
  var nDays = D.dates.length;
  var fmt = function (x) { return x == null ? "–" : Math.round(x).toLocaleString("en-US"); };

  function el(tag, attrs, parent) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }

  function niceMax(v) {
    if (v <= 0) return 1;
    var e = Math.pow(10, Math.floor(Math.log10(v))), m = v / e;
    return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10) * e;
  }
  // ------------------------------------------------------------------ map
  var W = 1000, places = D.places;
  var lons = places.map(function (p) { return p.lon; }), lats = places.map(function (p) { return p.lat; });
  var lon0 = Math.min.apply(null, lons) - 1.5, lon1 = Math.max.apply(null, lons) + 2.5;
  var lat0 = Math.min.apply(null, lats) - 1.5, lat1 = Math.max.apply(null, lats) + 1.5;
  var kx = Math.cos((lat0 + lat1) / 2 * Math.PI / 180);  // equirectangular, true scale at mid latitude
  var scale = W / ((lon1 - lon0) * kx);
  var H = Math.round((lat1 - lat0) * scale);
  function px(lon) { return (lon - lon0) * kx * scale; }
  function py(lat) { return (lat1 - lat) * scale; }

  var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "map" });
  document.getElementById("map").appendChild(svg);
  var gB = el("g", { id: "borders" }, svg);
  (D.borders.features || []).forEach(function (f) {
    var g = f.geometry, polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    var d = "";
    polys.forEach(function (poly) {
      poly.forEach(function (ring) {
        ring.forEach(function (c, i) { d += (i ? "L" : "M") + px(c[0]).toFixed(1) + "," + py(c[1]).toFixed(1); });
        d += "Z";
      });
    });
    var p = el("path", { d: d, "class": "country" }, gB);
    el("title", {}, p).textContent = f.properties && f.properties.name || "";
  });
  var gL = el("g", { id: "legs" }, svg);
  var legEls = D.legs.map(function (l) {
    var a = places[l[0]], b = places[l[1]];
    var e = el("line", { x1: px(a.lon), y1: py(a.lat), x2: px(b.lon), y2: py(b.lat), "class": "leg", "stroke-width": 1 }, gL);
    el("title", {}, e).textContent = a.name + " – " + b.name + " (" + l[2] + " km)";
    return e;
  });
  var gD = el("g", { id: "dots" }, svg);
  places.forEach(function (p) { el("circle", { cx: px(p.lon), cy: py(p.lat), r: 1.6, "class": "dot" }, gD); });
  var gC = el("g", { id: "circles" }, svg);
  var maxPresent = 1, maxFlow = 1;
  D.present.forEach(function (row) { row.forEach(function (v) { if (v > maxPresent) maxPresent = v; }); });
  D.flows.forEach(function (day) { day.forEach(function (f) { if (f[1] > maxFlow) maxFlow = f[1]; }); });
  var R = W * 0.035;
  var circles = places.map(function (p, i) {
    var c = el("circle", { cx: px(p.lon), cy: py(p.lat), r: 0, "class": "place-circle", "data-place": p.name }, gC);
    c._t = el("title", {}, c);
    return c;
  });
  var gT = el("g", { id: "labels" }, svg);
  var labels = places.map(function (p) {
    var right = px(p.lon) > W * 0.8;
    var t = el("text", { x: px(p.lon) + (right ? -4 : 4), y: py(p.lat) - 4, "class": "label",
                         "text-anchor": right ? "end" : "start" }, gT);
    t.textContent = "";
    return t;
  });

  // size legend (bottom left)
  (function () {
    var g = el("g", { id: "size-legend" }, svg), y = H - 12, x = 14;
    [niceMax(maxPresent / 10), niceMax(maxPresent / 2)].forEach(function (val) {
      val = Math.min(val, maxPresent);
      var r = R * Math.sqrt(val / maxPresent);
      el("circle", { cx: x + r, cy: y - r, r: r, "class": "place-circle" }, g);
      var t = el("text", { x: x + 2 * r + 4, y: y - 2, "class": "label" }, g);
      t.textContent = fmt(val) + " people";
      x += 2 * r + 80;
    });
  })();

  function drawMap(d) {
    var row = D.present[d] || [], total = 0;
    var order = row.map(function (v, i) { return [v, i]; }).sort(function (a, b) { return b[0] - a[0]; });
    var labelled = {};
    order.slice(0, 6).forEach(function (o) { if (o[0] > 0) labelled[o[1]] = true; });
    circles.forEach(function (c, i) {
      var v = row[i] || 0, p = places[i];
      total += v;
      c.setAttribute("r", v > 0 ? (R * Math.sqrt(v / maxPresent)).toFixed(2) : 0);
      c.setAttribute("data-present", v);
      var over = p.cap != null && p.cap >= 0 && v > p.cap;
      c.setAttribute("class", "place-circle" + (over ? " over" : ""));
      c._t.textContent = p.name + ": " + fmt(v) + " people" + (p.cap != null && p.cap >= 0 ? " (capacity " + fmt(p.cap) + ")" : "");
      labels[i].textContent = labelled[i] ? p.name.replace(/ \(.*\)$/, "") + " " + fmt(v) : "";
    });
    // parents drawn under their children: big circles first
    order.forEach(function (o) { gC.appendChild(circles[o[1]]); });
    legEls.forEach(function (e) { e.setAttribute("stroke-width", 1); e.setAttribute("class", "leg"); });
    (D.flows[d] || []).forEach(function (f) {
      var e = legEls[f[0]];
      if (!e) return;
      e.setAttribute("stroke-width", (1 + 9 * Math.sqrt(f[1] / maxFlow)).toFixed(2));
      e.setAttribute("class", "leg busy");
      e.lastChild.textContent = e.lastChild.textContent.replace(/: .*$/, "") + ": " + fmt(f[1]) + " moved";
    });
    document.getElementById("day-total").textContent = fmt(total) + " people present at places";
  }

  // ------------------------------------------------------------------ charts
  var cursors = [];
  function chart(cfg) {
    var box = document.createElement("div");
    box.className = "chart";
    box.id = cfg.id;
    var h = document.createElement("h3");
    h.textContent = cfg.title;
    box.appendChild(h);
    if (cfg.note) { var p = document.createElement("div"); p.className = "small muted"; p.textContent = cfg.note; box.appendChild(p); }
    document.getElementById("chart-list").appendChild(box);
    var w = 900, hh = 300, ml = 60, mr = 12, mt = 10, mb = 30;
    var s = el("svg", { viewBox: "0 0 " + w + " " + hh, role: "img", "aria-label": cfg.title });
    box.appendChild(s);
    var ymax = 0;
    cfg.series.forEach(function (se) {
      se.values.forEach(function (v) { if (v > ymax) ymax = v; });
      se.obs.forEach(function (o) { ymax = Math.max(ymax, o[1], o[2] == null ? 0 : o[2]); });
    });
    ymax = niceMax(ymax * 1.05);
    var X = function (i) { return ml + (nDays > 1 ? i / (nDays - 1) : 0.5) * (w - ml - mr); };
    var Y = function (v) { return mt + (1 - v / ymax) * (hh - mt - mb); };
    for (var k = 0; k <= 4; k++) {
      var v = ymax * k / 4;
      el("line", { x1: ml, x2: w - mr, y1: Y(v), y2: Y(v), "class": "grid" }, s);
      el("text", { x: ml - 6, y: Y(v) + 4, "text-anchor": "end" }, s).textContent = fmt(v);
    }
    el("line", { x1: ml, x2: w - mr, y1: Y(0), y2: Y(0), "class": "axis" }, s);
    el("line", { x1: ml, x2: ml, y1: mt, y2: Y(0), "class": "axis" }, s);
    var step = Math.max(1, Math.ceil(nDays / 10));
    for (var i = 0; i < nDays; i += step) {
      el("line", { x1: X(i), x2: X(i), y1: Y(0), y2: Y(0) + 4, "class": "axis" }, s);
      el("text", { x: X(i), y: hh - 10, "text-anchor": "middle" }, s).textContent = D.dates[i].slice(5);
    }
    var legend = document.createElement("div");
    legend.className = "legend";
    cfg.series.forEach(function (se) {
      var d = se.values.map(function (v, i) { return (i ? "L" : "M") + X(i).toFixed(1) + "," + Y(v || 0).toFixed(1); }).join("");
      var path = el("path", { d: d, fill: "none", stroke: se.color, "stroke-width": 2, "class": "series" }, s);
      el("title", {}, path).textContent = se.name;
      se.obs.forEach(function (o) {
        var x = X(o[0]), col = o[3] === true ? "#2a8a2a" : o[3] === false ? "#b3261e" : se.color;
        var g = el("g", { "class": "obs" }, s);
        el("title", {}, g).textContent = se.name + ", " + D.dates[o[0]] + ": observed " +
          (o[2] == null ? "≥ " + fmt(o[1]) : o[1] === o[2] ? fmt(o[1]) : fmt(o[1]) + "–" + fmt(o[2])) +
          ", run " + fmt(se.values[o[0]]) + (o[4] ? " (" + o[4] + ")" : "");
        if (o[2] == null) {
          el("line", { x1: x, x2: x, y1: Y(o[1]), y2: mt + 6, stroke: col, "stroke-width": 2, "stroke-dasharray": "4 2" }, g);
          el("path", { d: "M" + (x - 4) + "," + (mt + 8) + "L" + x + "," + mt + "L" + (x + 4) + "," + (mt + 8), fill: "none", stroke: col, "stroke-width": 2 }, g);
          el("line", { x1: x - 5, x2: x + 5, y1: Y(o[1]), y2: Y(o[1]), stroke: col, "stroke-width": 2 }, g);
        } else if (o[1] === o[2]) {
          el("circle", { cx: x, cy: Y(o[1]), r: 4, fill: "#fff", stroke: col, "stroke-width": 2 }, g);
        } else {
          el("line", { x1: x, x2: x, y1: Y(o[1]), y2: Y(o[2]), stroke: col, "stroke-width": 2.5 }, g);
          el("line", { x1: x - 5, x2: x + 5, y1: Y(o[1]), y2: Y(o[1]), stroke: col, "stroke-width": 2 }, g);
          el("line", { x1: x - 5, x2: x + 5, y1: Y(o[2]), y2: Y(o[2]), stroke: col, "stroke-width": 2 }, g);
        }
      });
      var sp = document.createElement("span");
      sp.style.setProperty("--c", se.color);
      sp.textContent = se.name + (se.obs.length ? " (" + se.obs.length + " obs.)" : "");
      legend.appendChild(sp);
    });
    box.appendChild(legend);
    var cur = el("line", { x1: X(0), x2: X(0), y1: mt, y2: Y(0), "class": "cursor" }, s);
    cursors.push(function (d) { cur.setAttribute("x1", X(d)); cur.setAttribute("x2", X(d)); });
  }
  D.charts.forEach(chart);

  // ------------------------------------------------------------------ needs on the selected day
  var tbody = document.querySelector("#needs-table tbody");
  function drawNeeds(d) {
    document.getElementById("needs-day").textContent = "(" + D.dates[d] + ")";
    var row = D.present[d] || [], rows = [], tot = 0;
    places.forEach(function (p, i) { if (row[i] > 0) rows.push([row[i], i]); tot += row[i] || 0; });
    rows.sort(function (a, b) { return b[0] - a[0]; });
    var S = D.sphere, html = "";
    function line(name, kind, v, cap, total) {
      var over = cap != null && cap >= 0 && v > cap;
      return "<tr class='" + (over ? "miss" : "") + (total ? " total" : "") + "'><td>" + name + "</td><td>" + kind +
        "</td><td class='n'>" + fmt(v) + "</td><td class='n'>" + fmt(v * S.water_l) + "</td><td class='n'>" +
        fmt(v * S.kcal) + "</td><td class='n'>" + fmt(v * S.covered_m2) + "</td><td class='n'>" +
        (cap != null && cap >= 0 ? fmt(cap) : total ? "" : "unknown") + "</td><td>" +
        (over ? "over capacity by " + fmt(v - cap) : cap != null && cap >= 0 ? "within capacity" : "") + "</td></tr>";
    }
    var esc = function (t) { return String(t).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); };
    rows.forEach(function (r) { var p = places[r[1]]; html += line(esc(p.name), esc(p.kind), r[0], p.cap, false); });
    html += line("all places", "", tot, null, true);
    tbody.innerHTML = html;
  }

  // ------------------------------------------------------------------ day slider and play
  var slider = document.getElementById("day"), play = document.getElementById("play"), timer = null;
  slider.max = Math.max(0, nDays - 1);
  function show(d) {
    d = +d;
    document.getElementById("day-label").textContent = "day " + (d + 1) + " of " + nDays + ": " + (D.dates[d] || "");
    drawMap(d);
    cursors.forEach(function (f) { f(d); });
    drawNeeds(d);
  }
  slider.addEventListener("input", function () { show(slider.value); });
  play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
    if (+slider.value >= nDays - 1) slider.value = 0;
    play.textContent = "❚❚ pause";
    timer = setInterval(function () {
      if (+slider.value >= nDays - 1) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
      slider.value = +slider.value + 1;
      show(slider.value);
    }, 300);
  });
  // start on the day with the most people present at places
  var best = 0, bestV = -1;
  D.present.forEach(function (row, d) { var s = row.reduce(function (a, b) { return a + (b || 0); }, 0); if (s > bestV) { bestV = s; best = d; } });
  slider.value = best;
  show(best);
  document.body.setAttribute("data-ready", "1");
})();
