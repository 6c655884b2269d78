/* Live emergency board. Progressive enhancement: without this script the board shows the
   answers as they were when loaded, and every button still works as a plain form. The page
   listens to the server-sent events of its stream; each change updates the counts at once and
   fetches the lists again (rendered by the server, in the page's language). */
(function () {
  "use strict";
  var root = document.querySelector("[data-emergency-board]");
  if (!root || !window.EventSource || !window.fetch) { return; }
  var status = document.getElementById("em-live-status");
  var announcer = document.getElementById("em-announce");
  var visits = document.getElementById("em-visits");
  var KEYS = ["safe", "need_help", "no_answer", "total"];
  var pending = null;
  var again = false;

  function text(key) { return root.getAttribute("data-t-" + key) || ""; }

  function say(message) { if (status) { status.textContent = message; } }

  function counts(data) {
    KEYS.forEach(function (key) {
      var el = document.getElementById("em-count-" + key);
      if (el && typeof data[key] === "number") { el.textContent = String(data[key]); }
    });
    if (announcer) {
      announcer.textContent = text("changed")
        .replace("{safe}", data.safe).replace("{need_help}", data.need_help)
        .replace("{no_answer}", data.no_answer);
    }
  }

  function reloadLists() {
    if (!visits) { return; }
    if (pending) { again = true; return; }
    pending = fetch(root.getAttribute("data-visits"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      visits.innerHTML = html;
    }).catch(function () {
      say(text("off"));
    }).then(function () {
      pending = null;
      if (again) { again = false; reloadLists(); }
    });
  }

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("open", function () { say(text("on")); });
  source.addEventListener("error", function () { say(text("off")); });
  source.addEventListener("emergency", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (e) { return; }
    counts(data);
    reloadLists();
  });
  source.addEventListener("gap", function () { reloadLists(); });
})();
