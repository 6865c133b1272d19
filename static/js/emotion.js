// Consent-gated webcam capture for emotion-aware recommendations.
// The camera is only opened after the shopper accepts the consent dialog. Frames are
// downscaled here and posted one by one while a product is on screen and the tab is shown:
// the product of a product page, or on list pages the product card most in view.
(function () {
  "use strict";
  const root = document.getElementById("emotion-capture");
  if (!root || !navigator.mediaDevices) return;

  const WIDTH = 320, HEIGHT = 240, QUALITY = 0.7, ZERO = "00000000-0000-0000-0000-000000000000";
  const DECLINED_KEY = "moodshop.camera.declined";
  const $ = (id) => document.getElementById(id);
  const offer = $("emotion-offer"), live = $("emotion-on"), badge = $("emotion-badge");
  const page = document.getElementById("product"); // a product detail page, if this is one
  const cards = Array.from(document.querySelectorAll(".product-card[data-product-id]"));
  const EMOJI = { angry: "😠", disgust: "🤢", fear: "😨", happy: "😄", sad: "😢", surprise: "😮", neutral: "😐" };

  let stream = null, timer = null, statusTimer = null, fps = 2, inFlight = 0;
  // What frames are about: {productId, viewId, seq, shownMs, since}; null when nothing is in view.
  let target = null;
  const visible = new Map(); // element -> intersection ratio
  const video = document.createElement("video");
  video.muted = true; video.playsInline = true;
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH; canvas.height = HEIGHT;

  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function api(url, method, body) {
    const headers = { "X-CSRFToken": csrf() };
    if (body) headers["Content-Type"] = "application/json";
    return fetch(url, { method: method, credentials: "same-origin", headers: headers,
                        body: body ? JSON.stringify(body) : undefined })
      .then((r) => r.json().then((json) => ({ ok: r.ok, status: r.status, body: json })));
  }

  function show(el, on) { el.hidden = !on; root.hidden = offer.hidden && live.hidden; }

  function capturing() { return stream && target && target.viewId && document.visibilityState === "visible"; }

  // --- Which product is on screen -----------------------------------------------------------

  function mostVisible() {
    let best = null, ratio = 0;
    visible.forEach(function (r, el) { if (r > ratio) { best = el; ratio = r; } });
    return best;
  }

  function endCardView() {
    if (!target || page) return;
    // The card left the screen: its view is over, report how long it was watched.
    const seconds = (target.shownMs + performance.now() - target.since) / 1000;
    const body = new FormData();
    body.append("seconds", seconds.toFixed(3));
    body.append("csrfmiddlewaretoken", csrf());
    navigator.sendBeacon(root.dataset.dwellUrlTemplate.replace(ZERO, target.viewId), body);
  }

  function retarget() {
    if (page) {
      target = target || { productId: page.dataset.productId, viewId: page.dataset.viewId, seq: 0 };
      target.paused = (visible.get(page) ?? 1) < 0.3; // scrolled (mostly) off screen
      return;
    }
    if (!stream) return;
    const el = mostVisible();
    const productId = el ? el.dataset.productId : null;
    if (target && target.productId === productId) return;
    endCardView();
    target = null;
    if (!productId) return;
    const next = { productId: productId, viewId: null, seq: 0, shownMs: 0, since: performance.now() };
    target = next;
    api(root.dataset.cardViewsUrl, "POST", { product: Number(productId) }).then(function (r) {
      if (r.ok && target === next) next.viewId = r.body.view_id;
    }).catch(function () {});
  }

  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        const ratio = e.isIntersecting ? e.intersectionRatio : 0;
        if (page || ratio >= 0.6) visible.set(e.target, ratio);
        else visible.delete(e.target);
      });
      retarget();
    }, { threshold: [0, 0.3, 0.6, 0.8, 1] });
    (page ? [page] : cards).forEach((el) => observer.observe(el));
  }

  // --- Capture ------------------------------------------------------------------------------

  function sendFrame() {
    if (!capturing() || target.paused || video.readyState < 2 || inFlight > 2) return;
    const t = target;
    canvas.getContext("2d").drawImage(video, 0, 0, WIDTH, HEIGHT);
    canvas.toBlob(function (blob) {
      if (!blob || !capturing() || target !== t) return;
      const query = new URLSearchParams({
        product: t.productId, view: t.viewId, seq: String(t.seq++), ts: String(Date.now()),
      });
      inFlight++;
      // The raw JPEG as the body (metadata in the query): cheaper for the server than multipart.
      fetch(root.dataset.framesUrl + "?" + query.toString(), {
        method: "POST", body: blob, credentials: "same-origin",
        headers: { "Content-Type": "image/jpeg", "X-CSRFToken": csrf() },
      }).then(function (r) {
        if (r.status === 403) stopCapture(false); // consent gone (e.g. withdrawn in another tab)
      }).catch(function () {}).finally(function () { inFlight--; });
    }, "image/jpeg", QUALITY);
  }

  function pollStatus() {
    if (!target || !target.viewId) return;
    fetch(root.dataset.statusUrlTemplate.replace(ZERO, target.viewId), { credentials: "same-origin" })
      .then((r) => r.ok ? r.json() : null).then(function (s) {
        if (!s) return;
        badge.textContent = s.last_label ? (EMOJI[s.last_label] || "") + " " + s.last_label
          : (s.frames ? "no face seen" : "watching…");
        badge.dataset.label = s.last_label || "";
      }).catch(function () {});
  }

  function startCapture() {
    navigator.mediaDevices.getUserMedia({ video: { width: WIDTH, height: HEIGHT }, audio: false })
      .then(function (s) {
        stream = s;
        video.srcObject = s;
        video.play();
        show(offer, false); show(live, true);
        retarget();
        timer = setInterval(sendFrame, 1000 / fps);
        statusTimer = setInterval(pollStatus, 1500);
      })
      .catch(function () {
        // Camera refused or missing: consent without a camera is pointless, so withdraw it.
        api(root.dataset.consentUrl, "DELETE");
        show(live, false);
      });
  }

  function stopCapture(withdraw) {
    clearInterval(timer); clearInterval(statusTimer);
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    endCardView();
    if (!page) target = null;
    show(live, false);
    if (withdraw) api(root.dataset.consentUrl, "DELETE").then(function () { show(offer, true); });
  }

  document.addEventListener("visibilitychange", function () {
    if (!target || page) return;
    if (document.visibilityState === "hidden") target.shownMs += performance.now() - target.since;
    else target.since = performance.now();
  });
  window.addEventListener("pagehide", endCardView);

  $("consent-accept").addEventListener("click", function () {
    localStorage.removeItem(DECLINED_KEY);
    api(root.dataset.consentUrl, "POST").then(function (r) { if (r.ok) startCapture(); });
  });
  $("consent-decline").addEventListener("click", function () {
    localStorage.setItem(DECLINED_KEY, "1");
    show(offer, false);
  });
  $("emotion-stop").addEventListener("click", function () { stopCapture(true); });

  api(root.dataset.consentUrl, "GET").then(function (r) {
    fps = r.body.capture_fps || fps;
    if (r.body.consented) startCapture();
    else if (!localStorage.getItem(DECLINED_KEY)) show(offer, true);
  }).catch(function () {});
})();
