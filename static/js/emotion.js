// Consent-gated webcam capture for emotion-aware recommendations, as one explicit state machine:
//
//   off ──► offered ──► consented ──► capturing ⇄ paused ──► stopped
//                           ▲                        │
//                           └── camera released ─────┘
//
// off        nothing shown, camera closed (also after "No thanks", until the re-offer period ends)
// offered    the consent bar is shown; camera closed
// consented  consent given; camera closed because no product is on screen (cart, checkout, lists,
//            the product scrolled away, the tab hidden for a while)
// capturing  the one MediaStream is open and frames of the product on screen are sent
// paused     the stream is still open but nothing is sent (product off screen or tab hidden);
//            after RELEASE_MS the camera is released and the state goes back to consented
// stopped    "Stop camera": consent withdrawn, camera released, no offer until the period ends
//
// At most one MediaStream exists: only openCamera() asks for one, never while one is open or being
// opened, and a stream that arrives after the state moved on is stopped at once.
// Frames are only ever about the product of a product page: cards on list pages are never
// captured (a face in front of a grid of cards says nothing reliable about any one of them).
//
// Where the face is analysed (data-inference, the shop's EMOTION_INFERENCE): "server" posts each
// frame as a JPEG to the frames API; "browser" (on-device mode) analyses the frame here with
// static/js/on_device.js, loaded only once the camera is on, and posts only the labels to the
// observations API: no picture leaves the page.
(function () {
  "use strict";
  const root = document.getElementById("emotion-capture");
  if (!root || !navigator.mediaDevices) return;

  const WIDTH = 320, HEIGHT = 240, QUALITY = 0.7, ZERO = "00000000-0000-0000-0000-000000000000";
  const RELEASE_MS = 3000; // paused this long (product away, tab hidden): the camera light goes off
  const DAY_MS = 24 * 60 * 60 * 1000;
  const OFFER_HIDDEN_KEY = "moodshop.camera.offer-hidden-at"; // when the shopper declined or stopped
  const REOFFER_MS = Number(root.dataset.reofferDays || 30) * DAY_MS;
  const $ = (id) => document.getElementById(id);
  const offer = $("emotion-offer"), live = $("emotion-on"), standby = $("emotion-standby");
  const badge = $("emotion-badge"), liveText = $("emotion-live-text");
  const product = $("product"); // the product of a product detail page, if this is one
  const ON_DEVICE = root.dataset.inference === "browser";
  const EMOJI = { angry: "😠", disgust: "🤢", fear: "😨", happy: "😄", sad: "😢", surprise: "😮", neutral: "😐" };

  const NEXT = {
    off: ["offered", "consented"],
    offered: ["off", "consented"],
    consented: ["capturing", "stopped"],
    capturing: ["paused", "stopped"],
    paused: ["capturing", "consented", "stopped"],
    stopped: ["offered", "consented"],
  };
  let state = "off";
  root.dataset.state = state;
  let stream = null, opening = null, frameTimer = null, statusTimer = null, releaseTimer = null;
  let fps = 2, seq = 0, productOnScreen = product !== null;
  const video = document.createElement("video");
  video.muted = true; video.playsInline = true;
  const canvas = document.createElement("canvas");
  canvas.width = WIDTH; canvas.height = HEIGHT;

  function go(next) {
    if (next === state) return;
    if (!NEXT[state].includes(next)) throw new Error("emotion capture: " + state + " -> " + next);
    const previous = state;
    state = next;
    root.dataset.state = state; // for tests and styling
    clearTimeout(releaseTimer);
    if (previous === "capturing") { clearTimeout(frameTimer); clearInterval(statusTimer); }
    if (state === "capturing") {
      scheduleFrame(1000 / fps);
      statusTimer = setInterval(pollStatus, 1500);
    } else if (state === "paused") {
      releaseTimer = setTimeout(function () { go("consented"); }, RELEASE_MS);
    } else {
      releaseCamera(); // every other state has the camera closed
    }
    render();
    if (state === "consented") evaluate();
  }

  function render() {
    offer.hidden = state !== "offered";
    live.hidden = !(state === "capturing" || state === "paused");
    standby.hidden = state !== "consented";
    liveText.textContent = state === "paused" ? "paused" : "";
    root.hidden = offer.hidden && live.hidden && standby.hidden;
  }

  // --- The one camera stream ------------------------------------------------------------------

  function wanted() {
    return productOnScreen && document.visibilityState === "visible";
  }

  function openCamera() {
    if (stream || opening) return;
    const width = Number(root.dataset.cameraWidth) || WIDTH; // more than 320 leaves pixels for a region
    const constraints = width > WIDTH ? { width: { ideal: width }, height: { ideal: width * 9 / 16 } }
      : { width: WIDTH, height: HEIGHT };
    opening = navigator.mediaDevices.getUserMedia({ video: constraints, audio: false })
      .then(function (s) {
        opening = null;
        if (state !== "consented" || !wanted()) { s.getTracks().forEach((t) => t.stop()); evaluate(); return; }
        stream = s;
        video.srcObject = s;
        video.play().catch(function () {});
        go("capturing");
      })
      .catch(function () {
        opening = null;
        // Camera refused or missing: consent without a camera is pointless, so withdraw it.
        if (state === "consented") withdraw();
      });
  }

  function releaseCamera() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
    video.srcObject = null;
  }

  // Where the camera should be, given consent, the product on screen and the tab.
  function evaluate() {
    if (state === "paused" && !stream) { go("consented"); return; } // released by pagehide
    if (state === "consented" && wanted()) {
      openCamera(); // consented never holds a stream: entering it released the camera
    } else if (state === "capturing" && !wanted()) {
      go("paused");
    } else if (state === "paused" && wanted()) {
      go("capturing");
    }
  }

  if (product && "IntersectionObserver" in window) {
    new IntersectionObserver(function (entries) {
      const e = entries[entries.length - 1];
      productOnScreen = e.isIntersecting && e.intersectionRatio >= 0.3; // scrolled (mostly) away: no
      evaluate();
    }, { threshold: [0, 0.3, 0.6, 1] }).observe(product);
  }
  document.addEventListener("visibilitychange", evaluate);
  window.addEventListener("pagehide", function () { if (state === "capturing") go("paused"); releaseCamera(); });
  window.addEventListener("pageshow", evaluate); // back from the back/forward cache

  // --- Frames and the live badge --------------------------------------------------------------

  function csrf() {
    const m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (m) return decodeURIComponent(m[1]);
    const input = root.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function api(url, method) {
    return fetch(url, { method: method, credentials: "same-origin", headers: { "X-CSRFToken": csrf() } })
      .then((r) => r.json().then((json) => ({ ok: r.ok, status: r.status, body: json })));
  }

  // One frame at a time, each sent when the server said (its answer's next_frame_ms, or the
  // Retry-After of a refusal): under load the server lowers the rate instead of queueing frames.
  function scheduleFrame(delayMs) {
    clearTimeout(frameTimer);
    frameTimer = setTimeout(sendFrame, Math.max(0, delayMs));
  }

  function nextDelay(r, body) {
    if (r.ok && body && body.next_frame_ms > 0) return body.next_frame_ms;
    const retry = Number(r.headers.get("Retry-After"));
    if ((r.status === 429 || r.status === 503) && retry > 0) return retry * 1000;
    return 1000 / fps;
  }

  // The answer to a frame or an observation: when to send the next one, or stop if consent is gone.
  function answered(r) {
    if (r.status === 403 && state !== "stopped") go("stopped"); // consent gone (withdrawn in another tab)
    return r.json().catch(() => null).then((body) => nextDelay(r, body));
  }

  function sendFrame() {
    if (state !== "capturing") return;
    if (video.readyState < 2) { scheduleFrame(1000 / fps); return; }
    if (ON_DEVICE) { reportFrame(); return; }
    const shown = drawFrame();
    canvas.toBlob(function (blob) {
      if (state !== "capturing") return;
      if (!blob) { scheduleFrame(1000 / fps); return; }
      const query = new URLSearchParams({
        product: product.dataset.productId, view: product.dataset.viewId, seq: String(seq++), ts: String(Date.now()),
      });
      if (shown) query.set("roi", [shown.x, shown.y, shown.w, shown.h].join(","));
      const sentAt = Date.now();
      let delay = 1000 / fps;
      // The raw JPEG as the body (metadata in the query): cheaper for the server than multipart.
      fetch(root.dataset.framesUrl + "?" + query.toString(), {
        method: "POST", body: blob, credentials: "same-origin",
        headers: { "Content-Type": "image/jpeg", "X-CSRFToken": csrf() },
      }).then(function (r) {
        const roi = r.clone().json().then((body) => (r.status === 202 && body && body.roi) || null, () => null);
        return roi.then(function (next) { region = next; return answered(r); });
      }).then(function (next) { delay = next; }).catch(function () {}).finally(function () {
        if (state === "capturing") scheduleFrame(delay - (Date.now() - sentAt));
      });
    }, "image/jpeg", QUALITY);
  }

  // The region of interest (emotion.roi): the frame shows the part of the camera picture the last
  // answer named (around the face, or the centre while searching for one), at most WIDTH wide,
  // instead of the whole picture, so a shopper sitting back still gives the worker enough pixels.
  let region = null; // {x, y, w, h} fractions of the camera picture, from the last 202

  function drawFrame() {
    const vw = video.videoWidth, vh = video.videoHeight;
    if (!region || !vw || !vh) { // the whole picture, WIDTH wide, in the camera's own proportions
      canvas.width = WIDTH; canvas.height = vw && vh ? Math.round(WIDTH * vh / vw) : HEIGHT;
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return null;
    }
    const sx = region.x * vw, sy = region.y * vh, sw = region.w * vw, sh = region.h * vh;
    const scale = Math.min(1, WIDTH / sw, WIDTH / sh); // at most WIDTH square, never upscaled
    canvas.width = Math.max(1, Math.round(sw * scale)); canvas.height = Math.max(1, Math.round(sh * scale));
    canvas.getContext("2d").drawImage(video, sx, sy, sw, sh, 0, 0, canvas.width, canvas.height);
    return region;
  }

  // --- On-device analysis (browser mode) ----------------------------------------------------------

  let analyzer = null; // the promise of the loaded runtime and models, asked for once the camera is on
  const LOAD_RETRY_MS = 10000; // after a failed download of the runtime or a model

  function onDeviceAnalyzer() {
    if (!analyzer) {
      analyzer = import(root.dataset.onDeviceUrl).then((m) => m.createAnalyzer({
        runtimeUrl: root.dataset.runtimeUrl, detectorUrl: root.dataset.detectorUrl, modelUrl: root.dataset.modelUrl,
        parameters: JSON.parse(root.dataset.parameters),
      }));
      analyzer.catch(function () { analyzer = null; });
    }
    return analyzer;
  }

  // The frame is read from the video into this page's memory, analysed there, and dropped; only
  // what the analysis found (faces, label, probabilities, quality, model version) is posted.
  // The region of interest works as in server mode: the frame analysed is the region the last answer
  // named (drawFrame), and the report says where the face was in it.
  function reportFrame() {
    const context = canvas.getContext("2d", { willReadFrequently: true }); // the first call sets the hint
    const shown = drawFrame();
    const width = canvas.width, height = canvas.height;
    const pixels = context.getImageData(0, 0, width, height).data;
    const report = { product: Number(product.dataset.productId), view: product.dataset.viewId, seq: seq++, ts: Date.now() };
    if (shown) report.roi = [shown.x, shown.y, shown.w, shown.h].join(",");
    const sentAt = Date.now();
    let delay = 1000 / fps;
    onDeviceAnalyzer().then(function (a) {
      return a.analyse(pixels, width, height).then(function (found) {
        if (state !== "capturing") return;
        const body = Object.assign(report, {
          model_version: a.modelVersion, faces: found.faces, label: found.label, confidence: found.confidence,
          probabilities: found.probabilities, quality: found.quality, box: found.box,
          frame_width: width, frame_height: height,
        });
        return fetch(root.dataset.observationsUrl, {
          method: "POST", body: JSON.stringify(body), credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        }).then(function (r) {
          const roi = r.clone().json().then((b) => (r.status === 201 && b && b.roi) || null, () => null);
          return roi.then(function (next) { region = next; return answered(r); });
        }).then(function (next) { delay = next; }).catch(function () {});
      });
    }, function () {
      // Without WebAssembly (an old browser, or it is refused) no analysis can ever run here, and
      // consent without analysis is pointless. A failed download (the network) is retried later:
      // withdrawing would erase the shopper's data for a passing fault.
      if (typeof WebAssembly !== "object") { if (state === "capturing") withdraw(); return; }
      delay = LOAD_RETRY_MS;
    }).catch(function () {}).finally(function () {
      if (state === "capturing") scheduleFrame(delay - (Date.now() - sentAt));
    });
  }

  function pollStatus() {
    fetch(root.dataset.statusUrlTemplate.replace(ZERO, product.dataset.viewId), { credentials: "same-origin" })
      .then((r) => r.ok ? r.json() : null).then(function (s) {
        if (!s) return;
        badge.textContent = s.last_label ? (EMOJI[s.last_label] || "") + " " + s.last_label
          : (s.frames ? "no face seen" : "watching…");
        badge.dataset.label = s.last_label || "";
      }).catch(function () {});
  }

  // --- Consent, and when to offer it again ----------------------------------------------------

  function hideOfferForAWhile() { localStorage.setItem(OFFER_HIDDEN_KEY, String(Date.now())); }

  function offerDue() {
    const at = Number(localStorage.getItem(OFFER_HIDDEN_KEY));
    return !at || Date.now() - at >= REOFFER_MS;
  }

  function withdraw() {
    hideOfferForAWhile();
    go("stopped");
    api(root.dataset.consentUrl, "DELETE").catch(function () {});
  }

  $("consent-accept").addEventListener("click", function () {
    localStorage.removeItem(OFFER_HIDDEN_KEY);
    // A second "Allow" while consented (from Camera settings) changes nothing: still one stream.
    if (state === "consented" || state === "capturing" || state === "paused") return;
    api(root.dataset.consentUrl, "POST").then(function (r) {
      if (r.ok && NEXT[state].includes("consented")) go("consented");
    }).catch(function () {});
  });
  $("consent-decline").addEventListener("click", function () {
    if (state === "consented" || state === "capturing" || state === "paused") { withdraw(); return; }
    hideOfferForAWhile();
    if (state === "offered") go("off");
  });
  [$("emotion-stop"), $("emotion-standby-stop")].forEach(function (button) {
    button.addEventListener("click", withdraw);
  });
  // Opening Camera settings is asking for the offer: the dialog is it, whatever the period says.
  $("consent-dialog").addEventListener("show.bs.modal", function () {
    if (state === "stopped") go("offered");
  });

  const download = $("emotion-download"), downloadStatus = $("emotion-download-status");
  download.addEventListener("click", function () {
    downloadStatus.textContent = "";
    fetch(root.dataset.emotionDataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (!r.ok) {
          return r.json().catch(() => ({})).then(function (body) {
            downloadStatus.textContent = body.error || body.detail || "Your data could not be downloaded.";
          });
        }
        const name = (r.headers.get("Content-Disposition") || "").match(/filename="?([^";]+)"?/);
        return r.blob().then(function (blob) {
          const link = document.createElement("a");
          link.href = URL.createObjectURL(blob);
          link.download = name ? name[1] : "moodshop-emotion-data.json";
          document.body.appendChild(link);
          link.click();
          link.remove();
          setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
          downloadStatus.textContent = "Downloaded.";
        });
      })
      .catch(function () { downloadStatus.textContent = "Your data could not be downloaded."; });
  });

  api(root.dataset.consentUrl, "GET").then(function (r) {
    fps = r.body.capture_fps || fps;
    if (r.body.consented) go("consented");
    else if (offerDue()) go("offered");
  }).catch(function () {});
})();
