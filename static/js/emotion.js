// Consent-gated webcam capture for emotion-aware recommendations.
// The camera is only opened after the shopper accepts the consent dialog; frames are
// downscaled here and posted one by one while a product is visible and the tab is shown.
(function () {
  "use strict";
  const root = document.getElementById("emotion-capture");
  if (!root || !navigator.mediaDevices) return;

  const WIDTH = 320, HEIGHT = 240, QUALITY = 0.7;
  const DECLINED_KEY = "moodshop.camera.declined";
  const $ = (id) => document.getElementById(id);
  const offer = $("emotion-offer"), live = $("emotion-on"), badge = $("emotion-badge");
  const product = document.getElementById("product"); // the product detail page, if this is one
  const EMOJI = { angry: "😠", disgust: "🤢", fear: "😨", happy: "😄", sad: "😢", surprise: "😮", neutral: "😐" };

  let stream = null, timer = null, statusTimer = null, seq = 0, fps = 2, inFlight = 0;
  let productVisible = true;
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

  function api(url, method) {
    return fetch(url, { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then((r) => r.json().then((body) => ({ ok: r.ok, body: body })));
  }

  function show(el, on) { el.hidden = !on; root.hidden = offer.hidden && live.hidden; }

  function shouldCapture() {
    return stream && product && product.dataset.viewId && productVisible && document.visibilityState === "visible";
  }

  function sendFrame() {
    if (!shouldCapture() || video.readyState < 2 || inFlight > 2) return;
    canvas.getContext("2d").drawImage(video, 0, 0, WIDTH, HEIGHT);
    canvas.toBlob(function (blob) {
      if (!blob || !shouldCapture()) return;
      const query = new URLSearchParams({
        product: product.dataset.productId, view: product.dataset.viewId, seq: String(seq++), ts: String(Date.now()),
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
    if (!product || !product.dataset.viewId) return;
    const url = root.dataset.statusUrlTemplate.replace("00000000-0000-0000-0000-000000000000", product.dataset.viewId);
    fetch(url, { credentials: "same-origin" }).then((r) => r.ok ? r.json() : null).then(function (s) {
      if (!s) return;
      badge.textContent = s.last_label ? (EMOJI[s.last_label] || "") + " " + s.last_label : (s.frames ? "no face seen" : "watching…");
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
    show(live, false);
    if (withdraw) api(root.dataset.consentUrl, "DELETE").then(function () { show(offer, true); });
  }

  if (product && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      productVisible = entries[0].isIntersecting;
    }, { threshold: 0.3 }).observe(product);
  }

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
