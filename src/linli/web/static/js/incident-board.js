/* Live incident board. Progressive enhancement: without this script the board shows the
   incidents as they were when loaded, and every link and form still works. The page listens to
   the server-sent events of /console/incidents/stream; each change fetches the live part of the
   board again (rendered by the server, in the page's language) and swaps it in. The polite live
   region says how many incidents are open and names each new one. */
(function () {
  "use strict";
  var root = document.querySelector("[data-incident-board]");
  if (!root || !window.EventSource || !window.fetch || !window.DOMParser) { return; }
  var live = document.getElementById("incident-live");
  var status = document.getElementById("incident-live-status");
  var announcer = document.getElementById("incident-announce");
  var DELAY_MS = 200;
  var timer = null;
  var pending = false;
  var again = false;

  function text(key) { return root.getAttribute("data-t-" + key) || ""; }

  function say(message) { if (status) { status.textContent = message; } }

  function known() {
    var ids = {};
    var rows = live ? live.querySelectorAll("[data-announce]") : [];
    for (var k = 0; k < rows.length; k++) { ids[rows[k].getAttribute("data-incident")] = true; }
    return ids;
  }

  function refresh() {
    timer = null;
    if (!live) { return; }
    if (pending) { again = true; return; }
    pending = true;
    var before = known();
    fetch(root.getAttribute("data-live"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString("<div>" + html + "</div>", "text/html");
      var hadFocus = live.contains(document.activeElement) && document.activeElement.id;
      var body = doc.body.firstElementChild;
      while (live.firstChild) { live.removeChild(live.firstChild); }
      while (body && body.firstChild) { live.appendChild(document.adoptNode(body.firstChild)); }
      if (hadFocus) {
        var target = document.getElementById(hadFocus);
        if (target) { target.focus(); }
      }
      var messages = [];
      var summary = document.getElementById("incident-summary");
      if (summary) { messages.push(summary.textContent.trim()); }
      var rows = live.querySelectorAll("[data-announce]");
      for (var k = 0; k < rows.length; k++) {
        if (!before[rows[k].getAttribute("data-incident")]) {
          rows[k].classList.add("is-new");
          messages.push(text("new").replace("{what}", rows[k].getAttribute("data-announce")));
        }
      }
      if (announcer) { announcer.textContent = messages.join(" "); }
    }).catch(function () {
      say(text("gap"));
    }).then(function () {
      pending = false;
      if (again) { again = false; schedule(); }
    });
  }

  function schedule() {
    if (timer === null) { timer = window.setTimeout(refresh, DELAY_MS); }
  }

  var source = new EventSource(root.getAttribute("data-stream"));
  source.addEventListener("open", function () { say(text("on")); });
  source.addEventListener("error", function () { say(text("off")); });
  source.addEventListener("gap", function () { say(text("gap")); schedule(); });
  source.addEventListener("incident", schedule);
  window.addEventListener("pagehide", function () { source.close(); });
}());
