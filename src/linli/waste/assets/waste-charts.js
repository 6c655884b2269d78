/* Waste pages: the sorting trend chart (uPlot) and the driver's sheet print button.
   Progressive enhancement: the same figures are always in tables on the page. */
(function () {
  "use strict";
  var TZ = "Asia/Shanghai";

  function trend(card) {
    var data;
    try { data = JSON.parse(card.getAttribute("data-waste-trend")); } catch (e) { return; }
    if (!data || !data.days || !data.days.length || typeof uPlot === "undefined") { return; }
    var holder = card.querySelector(".chart-plot");
    var width = Math.max(200, holder.clientWidth);
    var opts = {
      width: width,
      height: Math.max(220, Math.min(320, Math.round(width * 0.45))),
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), TZ); },
      scales: { x: { time: true }, y: { range: [0, 100] } },
      series: [
        { label: card.getAttribute("data-t-day") },
        { label: card.getAttribute("data-t-participation"), stroke: "#0a6545", width: 2, points: { show: true } },
        { label: card.getAttribute("data-t-correctness"), stroke: "#8a3b12", width: 2, dash: [8, 5], points: { show: true } }
      ],
      axes: [
        { stroke: "#1b1b19", grid: { stroke: "#d5d3c8" } },
        { stroke: "#1b1b19", grid: { stroke: "#d5d3c8" }, label: "%", size: 56 }
      ]
    };
    holder.textContent = "";
    new uPlot(opts, [data.days, data.participation, data.correctness], holder);
  }

  function init() {
    document.querySelectorAll("[data-waste-trend]").forEach(trend);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); }
  else { init(); }
})();
