/* The notification bell: the unread count in the header, kept live over server-sent events.
   Without this script (or without EventSource) the bell is a plain link to the messages page. */
(function () {
  "use strict";
  var link = document.querySelector("a[data-bell]");
  if (!link || typeof window.EventSource !== "function") { return; }
  var template = link.getAttribute("data-t-unread") || "{count}";
  var badge = null;

  function show(count) {
    link.setAttribute("data-unread", String(count));
    if (count > 0) {
      if (!badge) {
        badge = document.createElement("span");
        badge.className = "badge bell-count";
        link.appendChild(document.createTextNode(" "));
        link.appendChild(badge);
      }
      badge.textContent = template.replace("{count}", String(count));
    } else if (badge) {
      link.removeChild(badge.previousSibling);
      link.removeChild(badge);
      badge = null;
    }
  }

  var source = new EventSource(link.getAttribute("data-bell"));
  source.addEventListener("count", function (event) {
    var data;
    try { data = JSON.parse(event.data); } catch (ignored) { return; }
    if (data && typeof data.unread === "number") { show(data.unread); }
  });
  // Leaving the page ends the stream at once instead of at the next heartbeat.
  window.addEventListener("pagehide", function () { source.close(); });
})();
