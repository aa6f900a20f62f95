// The queue refreshes itself: every few seconds it asks the desk for the current rows and
// swaps them in, unless someone is typing in one of its forms (nothing typed is lost).
(function () {
  "use strict";
  var box = document.getElementById("queue");
  if (!box) { return; }
  var seconds = parseInt(box.getAttribute("data-refresh"), 10) || 5;
  function busy() {
    var active = document.activeElement;
    if (active && box.contains(active) && active.tagName !== "BODY") { return true; }
    var fields = box.querySelectorAll("textarea, input:not([type=hidden])");
    for (var i = 0; i < fields.length; i++) { if (fields[i].value) { return true; } }
    return false;
  }
  function refresh() {
    if (busy()) { return; }
    fetch("/queue/rows", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected) { window.location.reload(); return null; }  // signed out
        return response.ok ? response.text() : null;
      })
      .then(function (html) {
        if (html !== null && !busy() && html !== box.getAttribute("data-last")) {
          box.innerHTML = html;
          box.setAttribute("data-last", html);
        }
      })
      .catch(function () { /* the next round tries again */ });
  }
  setInterval(refresh, seconds * 1000);
}());
