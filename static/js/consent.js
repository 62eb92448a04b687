// Cookie consent and marketing tags (Google Consent Mode v2, "basic" mode).
//
// Nothing from Google, Meta or a review service is requested before the shopper agrees: the page
// only carries JSON data blocks (#marketing-config, script[id^="marketing-event-"]). After
// consent this file sets Consent Mode's defaults (all denied), updates them to the choice, loads
// the tags the choice allows and replays the page's e-commerce events into gtag/fbq.
// The choice lives in a first-party cookie: v=<version>&a=<0|1>&m=<0|1>&t=<unix seconds>&id=<random>,
// and each choice is recorded by the shop as proof under that random id (no IP, no account).
(function () {
  "use strict";
  var configEl = document.getElementById("marketing-config");
  if (!configEl) return;
  var cfg;
  try { cfg = JSON.parse(configEl.textContent); } catch (e) { return; }
  if (!cfg || !cfg.enabled) return;

  var state = {analytics: false, marketing: false};
  var loaded = {google: false, ga4: false, ads: false, pixel: false, widget: false};
  var SENT_KEY = "koszyk_marketing_sent";

  // --- the cookie ------------------------------------------------------------------------------
  function readChoice() {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) !== cfg.cookie) continue;
      var values = {};
      parts[i].slice(eq + 1).split("&").forEach(function (pair) {
        var kv = pair.split("=");
        if (kv.length === 2) values[kv[0]] = kv[1];
      });
      if (values.v !== cfg.version || !/^[01]$/.test(values.a || "") || !/^[01]$/.test(values.m || "")) return null;
      var id = /^[A-Za-z0-9_-]{16,40}$/.test(values.id || "") ? values.id : "";
      return {analytics: values.a === "1", marketing: values.m === "1", id: id};
    }
    return null;
  }

  function newId() {
    var bytes = new Uint8Array(22), chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", id = "";
    window.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) id += chars[bytes[i] & 63];
    return id;
  }

  function logChoice(choice) {
    if (!cfg.logUrl || !window.fetch || !window.FormData) return;
    var token = document.querySelector('#consent-settings [name="csrfmiddlewaretoken"]');
    var body = new FormData();
    body.append("id", choice.id);
    body.append("v", cfg.version);
    body.append("a", choice.analytics ? "1" : "0");
    body.append("m", choice.marketing ? "1" : "0");
    var headers = {"Accept": "application/json"};
    if (token) { body.append("csrfmiddlewaretoken", token.value); headers["X-CSRFToken"] = token.value; }
    fetch(cfg.logUrl, {method: "POST", body: body, headers: headers, credentials: "same-origin", keepalive: true})
      .catch(function () { /* the choice itself is in the cookie; the proof is best effort */ });
  }

  function writeChoice(choice) {
    var previous = readChoice();
    choice.id = (previous && previous.id) || newId();
    var value = "v=" + cfg.version + "&a=" + (choice.analytics ? 1 : 0) + "&m=" + (choice.marketing ? 1 : 0) +
      "&t=" + Math.floor(Date.now() / 1000) + "&id=" + choice.id;
    document.cookie = cfg.cookie + "=" + value + "; Max-Age=" + (cfg.maxAgeDays * 86400) +
      "; Path=/; SameSite=Lax" + (location.protocol === "https:" ? "; Secure" : "");
  }

  function deleteTrackingCookies() {
    var names = document.cookie ? document.cookie.split("; ").map(function (c) { return c.split("=")[0]; }) : [];
    var host = location.hostname, domains = ["", host];
    var bits = host.split(".");
    for (var i = 1; i < bits.length - 1; i++) domains.push("." + bits.slice(i).join("."));
    names.forEach(function (name) {
      if (!/^(_ga|_gid|_gat|_gcl_|_fbp|_fbc)/.test(name)) return;
      domains.forEach(function (d) {
        document.cookie = name + "=; Max-Age=0; Path=/" + (d ? "; Domain=" + d : "");
      });
    });
  }

  // --- loading the tags ------------------------------------------------------------------------
  function addScript(src, attrs) {
    var s = document.createElement("script");
    s.async = true;
    s.src = src;
    if (attrs) Object.keys(attrs).forEach(function (k) { s.setAttribute(k, attrs[k]); });
    document.head.appendChild(s);
  }

  function gtag() { window.dataLayer.push(arguments); }

  // Addresses for Google without secrets: path segments that look like tokens (an order's status
  // link, restore, download and unsubscribe links) become ":token"; only campaign and browsing
  // parameters of the query string are kept (never an email, a "next" URL or a code).
  var KEEP = /^(utm_[a-z]+|gclid|gbraid|wbraid|fbclid|q|strona|page|sort|wariant)$/;
  function safeUrl(href) {
    if (!href) return "";
    var u;
    try { u = new URL(href); } catch (e) { return ""; }
    var path = u.pathname.split("/").map(function (seg) {
      // Slugs are lower case; random and signed tokens are not (or are long hex, or have ":").
      var secret = seg.length >= 16 && (/[:]/.test(seg) || (/^[A-Za-z0-9_.-]+$/.test(seg) && /[A-Z_]/.test(seg)) ||
        /^[0-9a-f]{24,}$/.test(seg));
      return secret ? ":token" : seg;
    }).join("/");
    var kept = [];
    u.searchParams.forEach(function (value, key) {
      if (KEEP.test(key)) kept.push(encodeURIComponent(key) + "=" + encodeURIComponent(value));
    });
    return u.origin + path + (kept.length ? "?" + kept.join("&") : "");
  }

  function pageFields() {
    return {page_location: safeUrl(location.href), page_referrer: safeUrl(document.referrer)};
  }

  function consentUpdate() {
    return {
      analytics_storage: state.analytics ? "granted" : "denied",
      ad_storage: state.marketing ? "granted" : "denied",
      ad_user_data: state.marketing ? "granted" : "denied",
      ad_personalization: state.marketing ? "granted" : "denied"
    };
  }

  function loadGoogle() {
    var wantGa4 = state.analytics && cfg.ga4, wantAds = state.marketing && cfg.ads;
    if (!wantGa4 && !wantAds) {
      if (loaded.google) gtag("consent", "update", consentUpdate());
      return;
    }
    if (!loaded.google) {
      window.dataLayer = window.dataLayer || [];
      window.gtag = gtag;
      gtag("consent", "default", {
        ad_storage: "denied", ad_user_data: "denied", ad_personalization: "denied",
        analytics_storage: "denied", wait_for_update: cfg.waitForUpdate
      });
      gtag("set", "ads_data_redaction", true);
      gtag("consent", "update", consentUpdate());
      gtag("js", new Date());
      addScript("https://www.googletagmanager.com/gtag/js?id=" + encodeURIComponent(wantGa4 ? cfg.ga4 : cfg.ads));
      loaded.google = true;
    } else {
      gtag("consent", "update", consentUpdate());
    }
    if (wantGa4 && !loaded.ga4) { gtag("config", cfg.ga4, pageFields()); loaded.ga4 = true; }
    if (wantAds && !loaded.ads) { gtag("config", cfg.ads, pageFields()); loaded.ads = true; }
  }

  function loadPixel() {
    if (!state.marketing || !cfg.pixel || loaded.pixel) return;
    // Meta's documented base code, without the inline snippet: a queue until fbevents.js arrives.
    var n = window.fbq = function () {
      if (n.callMethod) n.callMethod.apply(n, arguments); else n.queue.push(arguments);
    };
    if (!window._fbq) window._fbq = n;
    n.push = n; n.loaded = true; n.version = "2.0"; n.queue = [];
    window.fbq("consent", "grant");
    window.fbq("init", cfg.pixel);
    window.fbq("track", "PageView");
    addScript("https://connect.facebook.net/en_US/fbevents.js");
    loaded.pixel = true;
  }

  function loadWidget() {
    if (!state.marketing || loaded.widget) return;
    if (cfg.trustedShops) {
      addScript("https://widgets.trustedshops.com/js/" + cfg.trustedShops + ".js", {
        charset: "UTF-8", "data-desktop-position": "right", "data-mobile-position": "left",
        "data-desktop-y-offset": "0", "data-mobile-y-offset": "0"
      });
      loaded.widget = true;
    } else if (cfg.widgetUrl) {
      addScript(cfg.widgetUrl);
      loaded.widget = true;
    }
  }

  // --- events ----------------------------------------------------------------------------------
  function sentIds() {
    try { return JSON.parse(localStorage.getItem(SENT_KEY) || "[]"); } catch (e) { return []; }
  }

  function rememberSent(id) {
    try {
      var ids = sentIds().filter(function (x) { return x !== id; });
      ids.push(id);
      localStorage.setItem(SENT_KEY, JSON.stringify(ids.slice(-50)));
    } catch (e) { /* storage full or blocked: the server-side claim still holds */ }
  }

  function replay() {
    var blocks = document.querySelectorAll('script[type="application/json"][id^="marketing-event-"]');
    var google = loaded.ga4 || loaded.ads, meta = loaded.pixel;
    for (var b = 0; b < blocks.length; b++) {
      var events;
      try { events = JSON.parse(blocks[b].textContent); } catch (e) { continue; }
      if (!Array.isArray(events)) continue;
      blocks[b].sent = blocks[b].sent || {};
      for (var i = 0; i < events.length; i++) {
        var ev = events[i], marks = blocks[b].sent[i] = blocks[b].sent[i] || {};
        if (!ev || typeof ev !== "object") continue;
        if (google && ev.ga && !marks.google && !(ev.tx && sentIds().indexOf("g:" + ev.tx) >= 0)) {
          gtag("event", ev.ga[0], ev.ga[1]);
          if (ev.conversion && loaded.ads && cfg.adsPurchaseLabel) {
            var c = ev.conversion;
            gtag("event", "conversion", {send_to: cfg.ads + "/" + cfg.adsPurchaseLabel,
              value: c.value, currency: c.currency, transaction_id: c.transaction_id});
          }
          marks.google = true;
          if (ev.tx) rememberSent("g:" + ev.tx);
        }
        if (meta && ev.meta && !marks.meta && !(ev.tx && sentIds().indexOf("m:" + ev.tx) >= 0)) {
          if (ev.meta[2]) window.fbq("track", ev.meta[0], ev.meta[1], ev.meta[2]);
          else window.fbq("track", ev.meta[0], ev.meta[1]);
          marks.meta = true;
          if (ev.tx) rememberSent("m:" + ev.tx);
        }
      }
    }
  }

  function apply(choice) {
    var withdrawn = (state.analytics && !choice.analytics) || (state.marketing && !choice.marketing);
    state.analytics = !!choice.analytics;
    state.marketing = !!choice.marketing;
    if (withdrawn) {
      // Loaded scripts cannot be unloaded: tell them, remove their cookies and start clean.
      if (loaded.google) gtag("consent", "update", consentUpdate());
      if (loaded.pixel && !state.marketing) window.fbq("consent", "revoke");
      deleteTrackingCookies();
      location.reload();
      return;
    }
    if (!state.analytics && !state.marketing) return;
    loadGoogle();
    loadPixel();
    loadWidget();
    replay();
  }

  // --- the banner ------------------------------------------------------------------------------
  var banner = document.getElementById("consent-banner");
  var form = document.getElementById("consent-settings");
  var toggle = banner && banner.querySelector('[data-consent="settings"]');

  function showBanner(withSettings) {
    if (!banner) return;
    var current = readChoice() || {analytics: false, marketing: false};
    form.elements.analytics.checked = current.analytics && !form.elements.analytics.disabled;
    form.elements.marketing.checked = current.marketing && !form.elements.marketing.disabled;
    form.hidden = !withSettings;
    var idBox = banner.querySelector(".consent-id");
    if (idBox && current.id) { idBox.querySelector("[data-consent-id]").textContent = current.id; idBox.hidden = false; }
    toggle.setAttribute("aria-expanded", withSettings ? "true" : "false");
    banner.hidden = false;
    if (withSettings) {
      // Opened from the footer: move the keyboard to the choices.
      var first = form.elements.analytics.disabled ? form.elements.marketing : form.elements.analytics;
      (first.disabled ? banner.querySelector('[data-consent="reject"]') : first).focus();
    }
  }

  function choose(choice) {
    writeChoice(choice);
    logChoice(choice);
    banner.hidden = true;
    apply(choice);
  }

  if (banner) {
    banner.addEventListener("click", function (e) {
      var action = e.target.closest("[data-consent]");
      if (!action) return;
      var what = action.getAttribute("data-consent");
      if (what === "accept") choose({analytics: true, marketing: true});
      else if (what === "reject") choose({analytics: false, marketing: false});
      else if (what === "settings") {
        var open = form.hidden;
        form.hidden = !open;
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
        if (open) form.elements.analytics.focus();
      }
    });
    banner.addEventListener("keydown", function (e) {
      // Escape closes the banner only when a choice already exists (reopened from the footer).
      if (e.key === "Escape" && readChoice()) {
        banner.hidden = true;
        var link = document.querySelector("[data-consent-open]");
        if (link) link.focus();
      }
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      choose({analytics: form.elements.analytics.checked, marketing: form.elements.marketing.checked});
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-consent-open]"), function (link) {
    link.hidden = false;
    link.addEventListener("click", function () { showBanner(true); });
  });

  var stored = readChoice();
  if (stored) apply(stored);
  else showBanner(false);
})();
