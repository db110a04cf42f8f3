// travesia report: the map, the charts and the needs of the selected day, drawn with Vega-Lite
// (vega-embed, inside this file; expressions run by vega-embed's interpreter, so no eval and no
// network). The same components make the run, ensemble and forecast reports.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var dates = D.dates || [], nDays = dates.length, places = D.places || [], M = D.map;
  var fmt = function (x) { return x == null ? "–" : Math.round(x).toLocaleString("en-US"); };
  var esc = function (t) { return String(t).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); };
  var OBS = { hit: "#2a8a2a", miss: "#b3261e", used: "#111111", later: "#e6550d", na: "#777777" };
  var EMBED = { renderer: "svg", ast: true, logLevel: vega.Error, actions: { export: true, source: false, compiled: false, editor: false } };
  var views = [], pending = [];
  window.travesia = { views: views, data: D };

  function embed(el, spec) {
    var p = vegaEmbed(el, spec, EMBED).then(function (r) { views.push(r.view); return r.view; });
    pending.push(p);
    return p;
  }

  // ------------------------------------------------------------------ the map
  function mapSpec() {
    var lons = places.map(function (p) { return p.lon; }), lats = places.map(function (p) { return p.lat; });
    var lon0 = Math.min.apply(null, lons) - 1.5, lon1 = Math.max.apply(null, lons) + 2.5;
    var lat0 = Math.min.apply(null, lats) - 1.5, lat1 = Math.max.apply(null, lats) + 1.5;
    // two corners as points: a polygon's winding would matter on the sphere
    var box = { type: "Feature", geometry: { type: "MultiPoint", coordinates: [[lon0, lat0], [lon1, lat1]] }, properties: {} };
    var legs = D.legs.map(function (l, k) {
      var a = places[l[0]], b = places[l[1]];
      return { k: k, lon: a.lon, lat: a.lat, lon2: b.lon, lat2: b.lat, name: a.name + " – " + b.name, km: l[2] };
    });
    var flows = [], maxFlow = 1;
    (M.flows || []).forEach(function (day, d) {
      day.forEach(function (f) {
        var l = legs[f[0]];
        if (!l) return;
        if (f[1] > maxFlow) maxFlow = f[1];
        flows.push({ d: d, lon: l.lon, lat: l.lat, lon2: l.lon2, lat2: l.lat2, n: f[1], name: l.name });
      });
    });
    var circles = [], maxV = 1, band = !!M.hi;
    M.mid.forEach(function (row, d) {
      row.forEach(function (v, i) {
        var hi = band ? M.hi[d][i] : v, lo = band ? M.lo[d][i] : v, p = places[i];
        if (!(v > 0 || hi > 0)) return;
        if (hi > maxV) maxV = hi;
        if (v > maxV) maxV = v;
        var cap = p.cap != null && p.cap >= 0 ? p.cap : null;
        circles.push({ d: d, i: i, name: p.name, short: p.name.replace(/ \(.*\)$/, ""), lon: p.lon, lat: p.lat,
          v: v || 0, lo: lo || 0, hi: hi || 0, cap: cap, over: cap != null && v > cap,
          band: band ? fmt(lo) + "–" + fmt(hi) : "" });
      });
    });
    var size = { type: "linear", domain: [0, maxV], range: [0, 2200], zero: true };
    var tip = [{ field: "name", title: "place" }, { field: "v", title: band ? "median present" : "present", format: ",.0f" }];
    if (band) tip.push({ field: "band", title: "90% band" });
    tip.push({ field: "cap", title: "capacity", format: ",.0f" });
    var layers = [
      { name: "borders", data: { values: D.borders, format: { type: "json", property: "features" } },
        mark: { type: "geoshape", fill: "#f4f1ea", stroke: "#9a9388", strokeWidth: 0.7, clip: true },
        encoding: { tooltip: { field: "properties.name", title: "country" } } },
      { name: "legs", data: { values: legs }, mark: { type: "rule", color: "#b0a8a0", strokeWidth: 1, clip: true },
        encoding: { longitude: { field: "lon" }, latitude: { field: "lat" }, longitude2: { field: "lon2" },
          latitude2: { field: "lat2" }, tooltip: [{ field: "name", title: "leg" }, { field: "km", title: "km" }] } }
    ];
    if (flows.length) layers.push({ name: "flows", data: { values: flows }, transform: [{ filter: "datum.d == day" }],
      mark: { type: "rule", color: "#e07b39", opacity: 0.85, strokeCap: "round", clip: true },
      encoding: { longitude: { field: "lon" }, latitude: { field: "lat" }, longitude2: { field: "lon2" },
        latitude2: { field: "lat2" },
        strokeWidth: { field: "n", type: "quantitative", scale: { domain: [0, maxFlow], range: [1, 10] }, legend: null },
        tooltip: [{ field: "name", title: "leg" }, { field: "n", title: "people set out", format: ",.0f" }] } });
    var cdata = { values: circles };
    if (band) layers.push({ name: "band95", data: cdata, transform: [{ filter: "datum.d == day" }],
      mark: { type: "circle", fill: "#9ecae1", fillOpacity: 0.35, stroke: "#4292c6", strokeDash: [3, 2], clip: true },
      encoding: { longitude: { field: "lon" }, latitude: { field: "lat" },
        size: { field: "hi", type: "quantitative", scale: size, legend: null }, tooltip: tip } });
    layers.push({ name: "places", data: cdata, transform: [{ filter: "datum.d == day" }],
      mark: { type: "circle", opacity: 0.6, stroke: "#0d3d66", strokeWidth: 0.8, clip: true },
      encoding: { longitude: { field: "lon" }, latitude: { field: "lat" },
        size: { field: "v", type: "quantitative", scale: size,
          legend: { title: band ? "median present" : "people present", format: ",.0f", orient: "bottom-left",
            symbolFillColor: "#1f77b4" } },
        color: { field: "over", type: "nominal", scale: { domain: [false, true], range: ["#1f77b4", "#d62728"] },
          legend: null },
        tooltip: tip } });
    if (band) layers.push({ name: "band05", data: cdata, transform: [{ filter: "datum.d == day && datum.lo > 0" }],
      mark: { type: "circle", filled: false, stroke: "#08306b", strokeWidth: 1, clip: true },
      encoding: { longitude: { field: "lon" }, latitude: { field: "lat" },
        size: { field: "lo", type: "quantitative", scale: size, legend: null }, tooltip: tip } });
    layers.push({ name: "labels", data: cdata, transform: [{ filter: "datum.d == day" },
      { window: [{ op: "row_number", as: "rank" }], sort: [{ field: "v", order: "descending" }] },
      { filter: "datum.rank <= 6" }, { calculate: "datum.short + ' ' + format(datum.v, ',.0f')", as: "label" }],
      mark: { type: "text", align: "left", dx: 5, dy: -5, fontSize: 11, stroke: "#fff", strokeWidth: 0 },
      encoding: { longitude: { field: "lon" }, latitude: { field: "lat" }, text: { field: "label" } } });
    if (M.plans && M.plans.length) {
      var plans = M.plans.map(function (r) {
        var p = places[r.target];
        return { d: r.d, lon: p.lon, lat: p.lat, caravan: r.caravan, target: p.name, hold: r.hold,
          route: r.route || "", people: r.people, km: r.stage_km,
          label: r.caravan + (r.hold ? " holds at " : " → ") + p.name.replace(/ \(.*\)$/, "") +
            (r.hold_days ? " (" + r.hold_days + " days)" : "") };
      });
      layers.push({ name: "plans", data: { values: plans }, transform: [{ filter: "datum.d == day" }],
        mark: { type: "point", shape: "diamond", size: 140, filled: true, stroke: "#000", strokeWidth: 1, clip: true },
        encoding: { longitude: { field: "lon" }, latitude: { field: "lat" },
          color: { field: "hold", type: "nominal", scale: { domain: [false, true], range: ["#ffd92f", "#ff7f00"] },
            legend: { title: "caravan plan", labelExpr: "datum.label == 'true' ? 'hold' : 'target'", orient: "top-right" } },
          tooltip: [{ field: "caravan" }, { field: "target" }, { field: "hold" }, { field: "route", title: "heading for" },
            { field: "km", title: "km to the target", format: ",.0f" }, { field: "people", format: ",.0f" }] } });
      layers.push({ name: "planlabels", data: { values: plans }, transform: [{ filter: "datum.d == day" }],
        mark: { type: "text", align: "right", dx: -8, dy: 10, fontSize: 11, fontWeight: "bold", color: "#7a3b00" },
        encoding: { longitude: { field: "lon" }, latitude: { field: "lat" }, text: { field: "label" } } });
    }
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 560, autosize: { type: "fit", contains: "padding" },
      params: [{ name: "day", value: M.start || 0 }],
      projection: { type: "mercator", fit: box },
      background: "#dfeaf3", view: { stroke: "#ccc" },
      layer: layers
    };
  }

  // ------------------------------------------------------------------ charts
  function obsColor(o, s) {
    if (o[5] === true) return OBS.used;
    if (o[5] === false) return OBS.later;
    return o[3] === true ? OBS.hit : o[3] === false ? OBS.miss : OBS.na;
  }
  function chartSpec(cfg) {
    var rows = [], obs = [], ymax = 0, names = [], colors = [], bands = false;
    cfg.series.forEach(function (s) {
      names.push(s.name); colors.push(s.color);
      dates.forEach(function (d, i) {
        var r = { date: d, s: s.name, v: s.values ? s.values[i] : null };
        if (s.p05) { r.p05 = s.p05[i]; r.p25 = s.p25[i]; r.p75 = s.p75[i]; r.p95 = s.p95[i]; bands = true; }
        if (r.v == null && r.p05 == null) return;
        ymax = Math.max(ymax, r.v || 0, r.p95 || 0);
        rows.push(r);
      });
      (s.obs || []).forEach(function (o) { ymax = Math.max(ymax, o[1], o[2] == null ? 0 : o[2]); });
    });
    var top = ymax * 1.08 || 1;
    cfg.series.forEach(function (s) {
      (s.obs || []).forEach(function (o) {
        var range = o[2] == null ? "≥ " + fmt(o[1]) : o[1] === o[2] ? fmt(o[1]) : fmt(o[1]) + "–" + fmt(o[2]);
        var status = o[5] === true ? "used by the forecast" : o[5] === false ? "later report" :
          o[3] === true ? "run inside" : o[3] === false ? "run outside" : "";
        var run = o[6] == null ? "" : fmt(o[6]) + (o[7] ? " (caravan " + o[7] + " alone, as in the validation table)" : "");
        obs.push({ date: dates[o[0]], s: s.name, low: o[1], high: o[2] == null ? top : o[2], open: o[2] == null,
          point: o[1] === o[2], c: obsColor(o, s), range: range, status: status, note: o[4] || "", run: run });
      });
    });
    var x = { field: "date", type: "temporal", scale: { type: "utc" }, title: null,
      axis: { format: "%-d %b", labelOverlap: true, tickCount: { interval: "day", step: Math.max(1, Math.ceil(nDays / 10)) } } };
    var color = { field: "s", type: "nominal", title: null, scale: { domain: names, range: colors },
      legend: { orient: "bottom", columns: 3, labelLimit: 320 } };
    var y = { type: "quantitative", title: cfg.ylabel || null, scale: { domainMin: 0 }, axis: { format: "~s" } };
    var layers = [];
    if (bands) {
      layers.push({ name: "band90", mark: { type: "area", opacity: 0.2 }, encoding: { x: x, color: color,
        y: Object.assign({ field: "p05" }, y), y2: { field: "p95" } } });
      layers.push({ name: "band50", mark: { type: "area", opacity: 0.35 }, encoding: { x: x, color: color,
        y: Object.assign({ field: "p25" }, y), y2: { field: "p75" } } });
    }
    var tip = [{ field: "s", title: "series" }, { field: "date", type: "temporal", scale: { type: "utc" }, format: "%Y-%m-%d", title: "date" },
      { field: "v", title: bands ? "median" : "value", format: ",.0f" }];
    if (bands) tip.push({ field: "p05", title: "p05", format: ",.0f" }, { field: "p95", title: "p95", format: ",.0f" });
    layers.push({ name: "lines", transform: [{ filter: "datum.v != null" }],
      mark: { type: "line", strokeWidth: 2 },
      encoding: { x: x, color: color, y: Object.assign({ field: "v" }, y) } });
    layers.push({ name: "hover", transform: [{ filter: "datum.v != null" }], mark: { type: "point", opacity: 0, size: 60 },
      encoding: { x: x, y: Object.assign({ field: "v" }, y), tooltip: tip } });
    if (obs.length) {
      var otip = [{ field: "s", title: "series" }, { field: "date", type: "temporal", scale: { type: "utc" }, format: "%Y-%m-%d", title: "date" },
        { field: "range", title: "reported" }, { field: "run", title: "run" }, { field: "status", title: "" },
        { field: "note", title: "note" }];
      var ox = Object.assign({}, x);
      layers.push({ name: "obs", data: { values: obs }, transform: [{ filter: "!datum.point" }],
        mark: { type: "rule", strokeWidth: 2.5 },
        encoding: { x: ox, y: Object.assign({ field: "low" }, y), y2: { field: "high" },
          color: { field: "c", type: "nominal", scale: null }, strokeDash: { condition: { test: "datum.open", value: [4, 2] }, value: [1, 0] },
          tooltip: otip } });
      layers.push({ name: "obsends", data: { values: obs }, mark: { type: "tick", thickness: 2, size: 10, orient: "horizontal" },
        encoding: { x: ox, y: Object.assign({ field: "low" }, y), color: { field: "c", type: "nominal", scale: null },
          tooltip: otip } });
      layers.push({ name: "obspoints", data: { values: obs }, transform: [{ filter: "datum.point" }],
        mark: { type: "point", filled: true, fill: "#fff", size: 40, strokeWidth: 2 },
        encoding: { x: ox, y: Object.assign({ field: "low" }, y), stroke: { field: "c", type: "nominal", scale: null },
          tooltip: otip } });
    }
    var marks = [];
    if (D.as_of) marks.push({ date: D.as_of, what: "as of " + D.as_of });
    if (marks.length) layers.push({ name: "asof", data: { values: marks },
      mark: { type: "rule", color: "#d62728", strokeDash: [5, 3] },
      encoding: { x: x, tooltip: { field: "what" } } });
    layers.push({ name: "cursor", data: { values: dates.map(function (d, i) { return { date: d, i: i }; }) },
      transform: [{ filter: "datum.i == day" }], mark: { type: "rule", color: "#999", strokeDash: [3, 3] },
      encoding: { x: x } });
    return {
      $schema: "https://vega.github.io/schema/vega-lite/v6.json",
      width: "container", height: 260, autosize: { type: "fit", contains: "padding" },
      params: [{ name: "day", value: M ? M.start || 0 : 0 }],
      data: { values: rows }, layer: layers
    };
  }

  // bars by category (for instance the PIT histogram of a backtest), one colour per series, with the
  // expected share of each category as a black tick
  function barSpec(cfg) {
    var b = cfg.bars, rows = [], exp = [];
    b.series.forEach(function (s) {
      b.categories.forEach(function (c, i) { if (s.values[i] != null) rows.push({ c: c, s: s.name, v: s.values[i] }); });
    });
    (b.expected || []).forEach(function (v, i) { if (v != null) exp.push({ c: b.categories[i], v: v }); });
    var x = { field: "c", type: "nominal", sort: b.categories, title: null, axis: { labelAngle: 0 } };
    var y = { type: "quantitative", title: cfg.ylabel || null, axis: { format: b.percent ? "~%" : "~s" } };
    var layers = [{ name: "bars", mark: { type: "bar" },
      encoding: { x: x, xOffset: { field: "s", sort: b.series.map(function (s) { return s.name; }) },
        y: Object.assign({ field: "v" }, y),
        color: { field: "s", type: "nominal", title: null, scale: { domain: b.series.map(function (s) { return s.name; }),
          range: b.series.map(function (s) { return s.color; }) }, legend: { orient: "bottom" } },
        tooltip: [{ field: "s", title: "series" }, { field: "c", title: "category" },
          { field: "v", title: "share", format: b.percent ? ".0%" : ",.2f" }] } }];
    if (exp.length) layers.push({ name: "expected", data: { values: exp },
      mark: { type: "tick", color: "#000", thickness: 2, size: 60 },
      encoding: { x: x, y: Object.assign({ field: "v" }, y), tooltip: [{ field: "v", title: "expected", format: ".0%" }] } });
    return { $schema: "https://vega.github.io/schema/vega-lite/v6.json", width: "container", height: 240,
      autosize: { type: "fit", contains: "padding" }, data: { values: rows }, layer: layers };
  }

  function drawCharts() {
    var list = document.getElementById("chart-list");
    if (!list) return;
    (D.charts || []).forEach(function (cfg) {
      var box = document.createElement("div");
      box.className = "chart";
      box.id = cfg.id;
      var h = document.createElement("h3");
      h.textContent = cfg.title;
      box.appendChild(h);
      if (cfg.note) { var p = document.createElement("div"); p.className = "small muted"; p.textContent = cfg.note; box.appendChild(p); }
      var v = document.createElement("div");
      v.className = "vega";
      box.appendChild(v);
      list.appendChild(box);
      embed(v, cfg.bars ? barSpec(cfg) : chartSpec(cfg));
    });
  }

  // ------------------------------------------------------------------ needs on the selected day
  function drawNeeds(d) {
    var tbody = document.querySelector("#needs-table tbody");
    if (!tbody || !M) return;
    var lab = document.getElementById("needs-day");
    if (lab) lab.textContent = "(" + dates[d] + ")";
    var S = D.sphere, band = !!M.hi, row = M.mid[d] || [], rows = [], tot = [0, 0, 0];
    places.forEach(function (p, i) {
      var v = row[i] || 0, lo = band ? M.lo[d][i] : v, hi = band ? M.hi[d][i] : v;
      if (v > 0 || hi > 0) rows.push([v, i, lo, hi]);
      tot[0] += lo || 0; tot[1] += v; tot[2] += hi || 0;
    });
    rows.sort(function (a, b) { return b[0] - a[0] || b[3] - a[3]; });
    function cell(v, lo, hi, k) {
      return "<td class='n'>" + fmt(v * k) + (band ? "<div class='band'>" + fmt(lo * k) + "–" + fmt(hi * k) + "</div>" : "") + "</td>";
    }
    function line(name, kind, v, lo, hi, cap, total) {
      var over = cap != null && cap >= 0 && v > cap;
      return "<tr class='" + (over ? "miss" : "") + (total ? " total" : "") + "'><td>" + name + "</td><td>" + kind + "</td>" +
        cell(v, lo, hi, 1) + cell(v, lo, hi, S.water_l) + cell(v, lo, hi, S.kcal) + cell(v, lo, hi, S.covered_m2) +
        "<td class='n'>" + (cap != null && cap >= 0 ? fmt(cap) : total ? "" : "unknown") + "</td><td>" +
        (over ? "over capacity by " + fmt(v - cap) : cap != null && cap >= 0 ? "within capacity" : "") + "</td></tr>";
    }
    var html = "";
    rows.forEach(function (r) { var p = places[r[1]]; html += line(esc(p.name), esc(p.kind), r[0], r[2], r[3], p.cap, false); });
    html += line("all places", "", tot[1], tot[0], tot[2], null, true);
    tbody.innerHTML = html;
  }

  // ------------------------------------------------------------------ the day: slider, play, every view
  function show(d) {
    d = +d;
    var lab = document.getElementById("day-label");
    if (lab) lab.textContent = "day " + (d + 1) + " of " + nDays + ": " + (dates[d] || "") +
      (D.as_of ? (dates[d] > D.as_of ? " (forecast)" : " (before the as-of date)") : "");
    if (M) {
      var tot = (M.mid[d] || []).reduce(function (a, b) { return a + (b || 0); }, 0);
      var t = document.getElementById("day-total");
      if (t) t.textContent = fmt(tot) + (M.hi ? " people present at places (median)" : " people present at places");
      drawNeeds(d);
    }
    views.forEach(function (v) { try { v.signal("day", d).runAsync(); } catch (e) { /* a view without the day */ } });
    document.body.setAttribute("data-day", String(d));
  }
  window.travesia.show = show;

  if (M && document.getElementById("map")) embed(document.getElementById("map"), mapSpec());
  drawCharts();
  var slider = document.getElementById("day"), play = document.getElementById("play"), timer = null;
  var first = M ? M.first || 0 : 0;
  if (slider) {
    slider.min = first;
    slider.max = Math.max(0, nDays - 1);
    slider.value = M ? M.start || first : 0;
    slider.addEventListener("input", function () { show(slider.value); });
  }
  if (play) play.addEventListener("click", function () {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
    if (+slider.value >= nDays - 1) slider.value = first;
    play.textContent = "❚❚ pause";
    timer = setInterval(function () {
      if (+slider.value >= nDays - 1) { clearInterval(timer); timer = null; play.textContent = "▶ play"; return; }
      slider.value = +slider.value + 1;
      show(slider.value);
    }, 400);
  });
  Promise.all(pending).then(function () {
    show(slider ? slider.value : 0);
    document.body.setAttribute("data-ready", "1");
  }, function (e) {
    document.body.setAttribute("data-ready", "error");
    console.error("travesia report: " + e);
  });
})();
