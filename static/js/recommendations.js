// Re-rank the recommendation panels while the page is visible: reactions stored by the emotion
// worker show within seconds. Each panel includes this file; a grid is set up only once.
(function () {
  "use strict";
  const EVERY = 5000;
  document.querySelectorAll(".recommendations [data-refresh-url]:not([data-refreshing])").forEach(function (grid) {
    grid.dataset.refreshing = "1";
    let last = null;
    setInterval(function () {
      if (document.hidden) return;
      fetch(grid.dataset.refreshUrl, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html && html.trim() && html !== last) { last = html; grid.innerHTML = html; } })
        .catch(function () {});
    }, EVERY);
  });
})();
