/* Charts of datastreams (uPlot). Progressive enhancement: without this script each chart card
   still links to a table of its readings and a CSV download. */
(function () {
  "use strict";
  var DAY = 86400000;
  var RANGES = { "24h": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "1y": 365 * DAY };
  var TZ = "Asia/Shanghai";
  var MIN_WIDTH = 200; // fits a 320 px wide window in elder mode
  var REFRESH_MS = 60000; // a range that ends now is fetched again each minute (live chart)
  var fmt = new Intl.DateTimeFormat(document.documentElement.lang || "zh-Hans", {
    timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"
  });

  function text(card, key) { return card.getAttribute("data-t-" + key) || ""; }

  function status(card, message) {
    card.querySelector(".chart-status").textContent = message;
  }

  function summary(card, body) {
    var n = body.points.length;
    if (!n) { return text(card, "empty"); }
    var resolution = body.step_ms > 0 && body.resolution === "raw"
      ? text(card, "binned") : text(card, String(body.resolution));
    return text(card, "summary")
      .replace("{count}", String(n))
      .replace("{start}", fmt.format(new Date(body.points[0][0])))
      .replace("{end}", fmt.format(new Date(body.points[n - 1][0])))
      .replace("{resolution}", resolution);
  }

  function draw(card, body, start, end, quiet) {
    var holder = card.querySelector(".chart-plot");
    var xs = [], mean = [], lo = [], hi = [];
    body.points.forEach(function (p) { xs.push(p[0] / 1000); mean.push(p[1]); lo.push(p[2]); hi.push(p[3]); });
    var band = body.step_ms > 0;
    var unit = card.getAttribute("data-unit") || "";
    var series = [
      { label: text(card, "time") },
      { label: band ? text(card, "mean") : text(card, "value"), stroke: "#0a6545", width: 2,
        points: { show: !band && xs.length < 200 } }
    ];
    var data = [xs, mean];
    var opts = {
      width: Math.max(MIN_WIDTH, holder.clientWidth),
      height: Math.max(220, Math.min(360, Math.round(holder.clientWidth * 0.45))),
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), TZ); },
      // The time axis always spans the range asked for, however few readings fall in it
      // (uPlot would otherwise widen a single reading's axis to years).
      scales: { x: { time: true, range: function () { return [start / 1000, end / 1000]; } } },
      series: series,
      axes: [
        { stroke: "#1b1b19", grid: { stroke: "#d5d3c8" } },
        { stroke: "#1b1b19", grid: { stroke: "#d5d3c8" }, label: unit, size: 64 }
      ],
      cursor: { drag: { x: true, y: false, setScale: false } },
      legend: { live: true },
      hooks: {
        setSelect: [function (u) {
          if (u.select.width < 5) { return; }
          var from = u.posToVal(u.select.left, "x") * 1000;
          var to = u.posToVal(u.select.left + u.select.width, "x") * 1000;
          u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
          card._range = null; // a zoomed view stays where the person put it
          load(card, Math.floor(from), Math.ceil(to));
        }]
      }
    };
    if (band) {
      series.push({ label: text(card, "min"), stroke: "#7aa892", width: 1 });
      series.push({ label: text(card, "max"), stroke: "#7aa892", width: 1 });
      data.push(lo, hi);
      opts.bands = [{ series: [3, 2], fill: "rgba(10, 101, 69, 0.15)" }];
    }
    if (card._plot) { card._plot.destroy(); }
    holder.textContent = "";
    card._plot = new uPlot(opts, data, holder);
    if (!quiet) { status(card, summary(card, body)); }
  }

  function load(card, start, end, quiet) {
    // quiet: a background refresh, which must not make screen readers speak every minute.
    var url = card.getAttribute("data-series-url") + "?start=" + start + "&end=" + end + "&points=1000";
    if (!quiet) { status(card, text(card, "loading")); }
    card.setAttribute("aria-busy", "true");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (body) { draw(card, body, start, end, quiet); })
      .catch(function () { status(card, text(card, "failed")); })
      .then(function () { card.removeAttribute("aria-busy"); });
  }

  function endOf(card) {
    var last = parseInt(card.getAttribute("data-end"), 10);
    var now = Date.now();
    return isNaN(last) ? now : Math.max(last + 1, Math.min(now, last + DAY));
  }

  function show(card, range) {
    card.querySelectorAll(".chart-ranges [data-range]").forEach(function (b) {
      if (b.getAttribute("data-range") === range) { b.setAttribute("aria-current", "true"); }
      else { b.removeAttribute("aria-current"); }
    });
    card._range = range;
    var end = endOf(card);
    load(card, end - RANGES[range], end);
  }

  function refresh(card) {
    if (card._range && !document.hidden && card.getAttribute("aria-busy") !== "true") {
      card.setAttribute("data-end", String(Date.now()));
      var end = Date.now();
      load(card, end - RANGES[card._range], end, true);
    }
  }

  function init(card) {
    card.querySelectorAll(".chart-ranges [data-range]").forEach(function (b) {
      b.setAttribute("role", "button");
      b.addEventListener("click", function (e) {
        e.preventDefault();
        show(card, b.getAttribute("data-range"));
      });
    });
    show(card, card.getAttribute("data-range") || "24h");
    window.setInterval(function () { refresh(card); }, REFRESH_MS);
    var width = card.clientWidth;
    window.addEventListener("resize", function () {
      if (card._plot && Math.abs(card.clientWidth - width) > 40) {
        width = card.clientWidth;
        var holder = card.querySelector(".chart-plot");
        card._plot.setSize({ width: Math.max(MIN_WIDTH, holder.clientWidth), height: card._plot.height });
      }
    });
  }

  function start() {
    if (typeof uPlot === "undefined" || !window.fetch) { return; }
    document.querySelectorAll("[data-chart]").forEach(init);
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); }
  else { start(); }
})();
