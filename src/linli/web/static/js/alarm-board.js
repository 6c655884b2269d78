/* Live alarm board and site plan. Progressive enhancement: without this script both pages show
   the alarms as they were when loaded, and every button still works as a plain form. The page
   listens to the server-sent events of /console/alarms/stream; on the board each change fetches
   that one row (rendered by the server, in the page's language), on the plan the live part of
   the page is fetched again. New critical and major alarms are announced in a polite region. */
(function () {
  "use strict";
  var root = document.querySelector("[data-alarm-board], [data-alarm-plan]");
  if (!root || !window.EventSource || !window.fetch) { return; }
  var isBoard = root.hasAttribute("data-alarm-board");
  var status = document.getElementById("alarm-live-status");
  var announcer = document.getElementById("alarm-announce");
  var PLAN_DELAY_MS = 300;
  var planTimer = null;

  function text(key) { return root.getAttribute("data-t-" + key) || ""; }

  function say(message) {
    if (status) { status.textContent = message; }
  }

  function announce(data) {
    if (data.change !== "raised" || (data.severity !== "critical" && data.severity !== "major")) {
      return;
    }
    if (!announcer) { return; }
    announcer.textContent = text("new")
      .replace("{severity}", text(data.severity))
      .replace("{title}", data.title || "");
  }

  function fetchText(url) {
    return fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (response.status === 204) { return ""; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      });
  }

  // --- the board ------------------------------------------------------------------------------

  function showTable() {
    var rows = document.getElementById("alarm-rows");
    var table = document.getElementById("alarm-table");
    var empty = document.getElementById("alarm-empty");
    var any = rows && rows.children.length > 0;
    if (table) { table.hidden = !any; }
    if (empty) { empty.hidden = !!any; }
  }

  function replaceRow(old, html) {
    var holder = document.createElement("tbody");
    holder.innerHTML = html.trim();
    var row = holder.querySelector("tr");
    if (!row) { return null; }
    var hadFocus = old && old.contains(document.activeElement);
    if (old) {
      old.parentNode.replaceChild(row, old);
    } else if (root.getAttribute("data-page") === "1") {
      var body = document.getElementById("alarm-rows");
      if (!body) { return null; }
      row.classList.add("is-new");
      body.insertBefore(row, body.firstChild);
    } else {
      return null; // a later page: the new alarm is on page 1
    }
    if (hadFocus) {
      var link = row.querySelector("th a");
      if (link) { link.focus(); }
    }
    return row;
  }

  function updateRow(data) {
    var id = String(data.id);
    var query = root.getAttribute("data-query") || "";
    fetchText("/console/alarms/" + encodeURIComponent(id) + "/row" + query).then(function (html) {
      var old = document.getElementById("alarm-" + id);
      if (!html) {
        if (old) { old.parentNode.removeChild(old); }
      } else if (replaceRow(old, html) && !old) {
        announce(data);
      }
      showTable();
    }).catch(function () { say(text("gap")); });
  }

  // --- the plan -------------------------------------------------------------------------------

  function refreshPlan() {
    planTimer = null;
    fetchText(window.location.pathname + window.location.search).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var fresh = doc.getElementById("plan-live");
      var current = document.getElementById("plan-live");
      if (fresh && current) { current.innerHTML = fresh.innerHTML; }
    }).catch(function () { say(text("gap")); });
  }

  function schedulePlan() {
    if (planTimer === null) { planTimer = window.setTimeout(refreshPlan, PLAN_DELAY_MS); }
  }

  // --- the stream -----------------------------------------------------------------------------

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("open", function () { say(text("on")); });
  source.addEventListener("error", function () { say(text("off")); });
  source.addEventListener("gap", function () { say(text("gap")); });
  source.addEventListener("alarm", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    if (isBoard) {
      updateRow(data);
    } else {
      announce(data);
      schedulePlan();
    }
  });
  window.addEventListener("pagehide", function () { source.close(); });
}());
