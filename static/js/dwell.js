// Reports how long the product stayed visible on screen, when the view ends.
// Counts only time with the tab visible; sends with sendBeacon so it survives navigation.
(function () {
  "use strict";
  const root = document.getElementById("product");
  if (!root || !root.dataset.dwellUrl) return;
  const csrf = (document.cookie.match(/(?:^|; )csrftoken=([^;]+)/) || [])[1] || "";
  let visibleMs = 0;
  let since = document.visibilityState === "visible" ? performance.now() : null;

  function elapsedSeconds() {
    const running = since === null ? 0 : performance.now() - since;
    return (visibleMs + running) / 1000;
  }

  function report() {
    const body = new FormData();
    body.append("seconds", elapsedSeconds().toFixed(3));
    body.append("csrfmiddlewaretoken", csrf);
    navigator.sendBeacon(root.dataset.dwellUrl, body);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      if (since !== null) { visibleMs += performance.now() - since; since = null; }
      report();
    } else {
      since = performance.now();
    }
  });
  window.addEventListener("pagehide", report);
  window.moodshopDwell = { elapsedSeconds: elapsedSeconds, report: report };
})();
