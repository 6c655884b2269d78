/* The responder's phone page, live. Progressive enhancement: without this script the page shows
   the offers as they were when loaded and every button still works as a plain form. The page
   listens to the server-sent events of its stream and, as a fallback, asks every 30 s; when the
   server's signature of the offers and statuses changes, the live part is replaced (rendered
   by the server, in the page's language) and a new offer is announced. */
(function () {
  "use strict";
  var root = document.querySelector("[data-responder-live]");
  if (!root || !window.fetch) { return; }
  var announcer = document.getElementById("responder-announce");
  var signature = root.getAttribute("data-signature") || "";
  var pending = false;
  var again = false;

  function text(key) { return root.getAttribute("data-t-" + key) || ""; }

  function say(message) { if (announcer && message) { announcer.textContent = message; } }

  function offerIds(sig) {
    return sig.split(";").filter(function (part) { return part.indexOf(":offered") > 0; })
      .map(function (part) { return part.split(":")[0]; });
  }

  function refresh() {
    if (pending) { again = true; return; }
    pending = true;
    fetch(root.getAttribute("data-panel"), {
      credentials: "same-origin", headers: { "Accept": "text/html" }, cache: "no-store"
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      var next = response.headers.get("X-Responder-Signature") || "";
      return response.text().then(function (html) {
        if (next === signature) { return; }
        var before = offerIds(signature);
        var fresh = offerIds(next).filter(function (id) { return before.indexOf(id) < 0; });
        signature = next;
        root.setAttribute("data-signature", next);
        root.innerHTML = html;
        say(fresh.length ? text("new") : text("changed"));
      });
    }).catch(function () {
      say(text("off"));
    }).then(function () {
      pending = false;
      if (again) { again = false; refresh(); }
    });
  }

  if (window.EventSource) {
    var source = new EventSource(root.getAttribute("data-stream"));
    source.addEventListener("incident", refresh);
    source.addEventListener("gap", refresh);
    source.addEventListener("open", refresh);
  }
  window.setInterval(refresh, 30000);
})();
