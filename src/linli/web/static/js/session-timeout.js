/* The session-timeout warning (WCAG 2.2.1 Timing Adjustable, ASVS 7.3): before the idle or the
   absolute timeout ends a session, a dialog says how long is left and offers to stay logged in
   with one button (the idle timeout only; the absolute one cannot be pushed back).

   The server is the judge: /me/session/status says how many seconds are left without counting as
   activity, so a tab left open does not keep a session alive, and work in another tab moves the
   deadline for every tab (each asks again before it warns). Without this script the session
   simply ends and the next page asks the person to log in again. */
(function () {
  "use strict";
  var box = document.getElementById("session-timeout");
  if (!box || typeof box.showModal !== "function" || typeof window.fetch !== "function") { return; }
  var warn = parseInt(box.getAttribute("data-warn"), 10) || 120;
  var text = box.querySelector("#st-text");
  var left = box.querySelector(".st-left");
  var stay = box.querySelector("[data-stay]");
  var check = null;
  var tick = null;
  var deadline = 0;

  function later(seconds) {
    window.clearTimeout(check);
    check = window.setTimeout(ask, Math.max(1, seconds) * 1000);
  }

  function clock(seconds) {
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    return box.getAttribute("data-t-time").replace("{m}", String(m)).replace("{s}", String(s));
  }

  function countdown() {
    var seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    left.textContent = clock(seconds);
    if (seconds === 0) { ask(); }
  }

  function gone() {
    window.location.assign(box.getAttribute("data-login"));
  }

  function open(seconds, absolute) {
    deadline = Date.now() + seconds * 1000;
    var words = box.getAttribute(absolute ? "data-t-absolute" : "data-t-idle");
    text.textContent = words.replace("{time}", clock(seconds));
    stay.hidden = absolute;
    countdown();
    if (!box.open) {
      box.showModal();
      (absolute ? box.querySelector("form button") : stay).focus();
    }
    window.clearInterval(tick);
    tick = window.setInterval(countdown, 1000);
  }

  function close() {
    window.clearInterval(tick);
    if (box.open) { box.close(); }
  }

  function plan(state) {
    var idle = state.idle_seconds;
    var absolute = state.absolute_seconds;
    var soonest = Math.min(idle, absolute);
    if (soonest <= 0) { gone(); return; }
    if (soonest > warn) {
      close();
      later(soonest - warn);
      return;
    }
    open(soonest, absolute <= idle);
    // Ask again while the dialog shows: work in another tab may have moved the deadline.
    later(Math.min(15, soonest));
  }

  function answer(response) {
    if (response.status === 401) { gone(); return null; }
    if (!response.ok) { later(60); return null; }
    return response.json();
  }

  function ask() {
    window.fetch(box.getAttribute("data-status"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(answer).then(function (state) {
      if (state) { plan(state); }
    }).catch(function () { later(60); });
  }

  stay.addEventListener("click", function () {
    window.fetch(box.getAttribute("data-extend"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": box.getAttribute("data-csrf") }
    }).then(answer).then(function (state) {
      if (state) { plan(state); }
    }).catch(function () { later(60); });
  });
  // Escape answers the question too: the person is there, so it counts as "stay logged in".
  box.addEventListener("cancel", function (event) {
    event.preventDefault();
    if (stay.hidden) { close(); } else { stay.click(); }
  });

  ask();
})();
