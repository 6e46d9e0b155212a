/*! capigate.js: the landing-page snippet of the capigate gateway. No dependencies, no build.
 *
 *   <script src="https://gateway.example.com/capigate.js"></script>
 *   <script>capigate.init({key: "pk_web_...", bot: "my_bot"});</script>
 *   <a href="https://t.me/my_bot" data-capigate-telegram="open_tg">Open in Telegram</a>
 *
 * init({endpoint, key, bot, pixel, cookies, auto}):
 *   endpoint  the gateway's base URL (default: where this script was loaded from)
 *   key       the browser key of a `browser` source (sent as ?key=, a beacon has no headers)
 *   bot       the Telegram bot's username (default: the one each t.me link names)
 *   pixel     false: never call fbq; a pixel id: fbq('trackSingle', id, ...) for that pixel
 *   cookies   false: never write the _fbc / _fbp cookies (values are still read and sent)
 *   auto      false: do not send landing_view from init()
 *
 * It sends `landing_view` on init and `cta_click` when an "Open in Telegram" link or button
 * is clicked, with navigator.sendBeacon (fetch keepalive as a fallback), and gives the Meta
 * Pixel the same event id (fbq(..., {eventID})) so that Meta deduplicates the pair. Each event
 * carries fbc (the _fbc cookie, or fb.<index>.<click ms>.<fbclid> built from the URL, the
 * fbclid exactly as it came), fbp, the UTMs of the visit and a random landing token. Telegram
 * links become https://t.me/<bot>?start=<token>: when the bot reports /start <token>, the
 * gateway links the Telegram user to this visit. The token is random and carries no data.
 */
(function (window, document) {
  "use strict";

  // The gateway replaces this object with its tracking plan's website events.
  const PLAN = /*plan*/ {
    "landing_view": {"event_name": "ViewContent", "event_id": "viewcontent_{session_id}"},
    "cta_click": {"event_name": "Lead", "event_id": "cta_{session_id}"}
  } /*end plan*/;

  const INGEST_PATH = "/api/marketing/meta";
  const STORAGE_KEY = "capigate";
  const COOKIE_DAYS = 90; // Meta: keep _fbc as a first-party cookie for 90 days
  const TOKEN_BYTES = 16; // 22 base64url characters; Telegram allows 64 of [A-Za-z0-9_-]
  const UTM_KEYS = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"];
  const STANDARD_EVENTS = [
    "AddPaymentInfo", "AddToCart", "AddToWishlist", "CompleteRegistration", "Contact",
    "CustomizeProduct", "Donate", "FindLocation", "InitiateCheckout", "Lead", "PageView",
    "Purchase", "Schedule", "Search", "StartTrial", "SubmitApplication", "Subscribe",
    "ViewContent",
  ];
  const TELEGRAM_HOSTS = ["t.me", "telegram.me"];
  const script = document.currentScript;

  let config = null;
  let state = null;

  function init(options) {
    options = options || {};
    config = {
      endpoint: (options.endpoint || scriptOrigin()).replace(/\/+$/, ""),
      key: options.key || "",
      bot: options.bot || "",
      pixel: options.pixel === undefined ? true : options.pixel,
      cookies: options.cookies !== false,
    };
    state = loadState();
    const now = Date.now();
    state.fbc = captureFbc(now);
    state.fbp = captureFbp(now);
    saveState(state);
    if (document.readyState === "loading") { // init() ran in <head>: links come later
      document.addEventListener("DOMContentLoaded", function () { decorate(document); });
    } else {
      decorate(document);
    }
    document.addEventListener("click", onClick, true); // also catches links added later
    if (options.auto !== false) {
      track("landing_view");
    }
    return state;
  }

  // --- events ---------------------------------------------------------------------------

  function track(key, properties, options) {
    if (!state) {
      throw new Error("capigate: call capigate.init({...}) first");
    }
    const spec = PLAN[key] || {};
    const eventId = (options && options.eventId) || eventIdFor(spec.event_id, key);
    const data = Object.assign({}, state.utms, properties || {});
    send({
      event: key,
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      user: compact({fbc: state.fbc, fbp: state.fbp}),
      properties: data,
      context: compact({
        page_url: window.location.href,
        referrer: document.referrer,
        session_id: state.sessionId,
        landing_token: state.token,
      }),
    });
    pixel(spec.event_name || key, data, eventId);
    return eventId;
  }

  function eventIdFor(template, key) {
    const seconds = String(Math.floor(Date.now() / 1000));
    const filled = (template || "").replace(/\{session_id\}/g, state.sessionId)
      .replace(/\{ts\}/g, seconds);
    if (filled && filled.indexOf("{") < 0) {
      return filled;
    }
    return key + "_" + state.sessionId + "_" + randomText(6); // the plan needs ids we lack
  }

  function send(body) {
    const query = config.key ? "?key=" + encodeURIComponent(config.key) : "";
    const url = config.endpoint + INGEST_PATH + query;
    const text = JSON.stringify(body); // text/plain: a beacon needs no CORS preflight
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url, text)) {
        return;
      }
    } catch (error) { /* fall through to fetch */ }
    try {
      window.fetch(url, {method: "POST", body: text, keepalive: true, credentials: "omit",
        headers: {"Content-Type": "text/plain;charset=UTF-8"}});
    } catch (error) { /* nothing left to try; never break the page */ }
  }

  function pixel(name, data, eventId) {
    if (config.pixel === false || typeof window.fbq !== "function") {
      return;
    }
    const standard = STANDARD_EVENTS.indexOf(name) >= 0;
    if (typeof config.pixel === "string") {
      window.fbq(standard ? "trackSingle" : "trackSingleCustom", config.pixel, name, data,
        {eventID: eventId});
    } else {
      window.fbq(standard ? "track" : "trackCustom", name, data, {eventID: eventId});
    }
  }

  // --- Telegram links -------------------------------------------------------------------

  function decorate(root) {
    const found = root.querySelectorAll("a[href], [data-capigate-telegram]");
    for (let i = 0; i < found.length; i++) {
      const link = deepLinkFor(found[i]);
      if (link && found[i].tagName === "A") {
        found[i].href = link;
      }
    }
  }

  function onClick(event) {
    const target = event.target && event.target.closest
      ? event.target.closest("a[href], [data-capigate-telegram]") : null;
    const link = target ? deepLinkFor(target) : null;
    if (!link) {
      return;
    }
    const label = target.getAttribute("data-capigate-telegram");
    track("cta_click", {button_id: label || target.id || "open_tg"});
    if (target.tagName === "A") {
      target.href = link; // the browser follows it after this handler
    } else {
      window.location.assign(link);
    }
  }

  // The deep link for an element, or null when it is not an "Open in Telegram" element.
  function deepLinkFor(element) {
    const marked = element.hasAttribute("data-capigate-telegram");
    const href = element.tagName === "A" ? element.getAttribute("href") || "" : "";
    const named = telegramBot(href);
    const bot = config.bot || named;
    if (!bot || !state.token || (!marked && !named)) {
      return null;
    }
    if (!marked && config.bot && named.toLowerCase() !== config.bot.toLowerCase()) {
      return null; // a link to some other bot or channel
    }
    const app = /[?&]startapp(=|&|$)/.test(href) ||
      element.getAttribute("data-capigate-telegram") === "app";
    return "https://t.me/" + bot + "?" + (app ? "startapp" : "start") + "=" + state.token;
  }

  function telegramBot(href) {
    let url;
    try {
      url = new URL(href, window.location.href);
    } catch (error) {
      return "";
    }
    if (url.protocol === "tg:") {
      return url.searchParams.get("domain") || "";
    }
    if (TELEGRAM_HOSTS.indexOf(url.hostname.toLowerCase()) < 0) {
      return "";
    }
    const name = url.pathname.split("/")[1] || "";
    return /^[A-Za-z][A-Za-z0-9_]{4,31}$/.test(name) ? name : "";
  }

  // --- state: session id, token and UTMs for the browser session ---------------------------

  function loadState() {
    let saved = {};
    try {
      saved = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "{}") || {};
    } catch (error) { /* storage disabled: this page view is the session */ }
    const params = new URLSearchParams(window.location.search);
    const utms = {};
    UTM_KEYS.forEach(function (name) {
      const value = params.get(name);
      if (value) {
        utms[name] = value;
      }
    });
    return {
      sessionId: saved.sessionId || "s-" + randomText(12),
      token: saved.token || newToken(),
      utms: Object.keys(utms).length ? utms : saved.utms || {}, // a new campaign wins
    };
  }

  function saveState(value) {
    try {
      window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(
        {sessionId: value.sessionId, token: value.token, utms: value.utms}));
    } catch (error) { /* storage disabled */ }
  }

  function newToken() {
    const crypto = window.crypto;
    if (!crypto || !crypto.getRandomValues) {
      return ""; // no safe randomness: no token, links stay as they are
    }
    return randomText(Math.ceil(TOKEN_BYTES * 4 / 3));
  }

  function randomText(length) {
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const bytes = new Uint8Array(length);
    window.crypto.getRandomValues(bytes);
    let text = "";
    for (let i = 0; i < length; i++) {
      text += alphabet[bytes[i] & 63];
    }
    return text;
  }

  // --- Meta cookies ---------------------------------------------------------------------

  // _fbc: keep the cookie unless the URL brings a different fbclid (Meta's rule).
  function captureFbc(now) {
    const fbclid = rawParam("fbclid");
    const cookie = readCookie("_fbc");
    if (!fbclid || (cookie && cookie.split(".").pop() === fbclid)) {
      return cookie;
    }
    const scope = cookieScope();
    const fbc = "fb." + scope.index + "." + now + "." + fbclid;
    writeCookie("_fbc", fbc, scope);
    return fbc;
  }

  // _fbp: the Pixel's browser id; made here when absent, so the Pixel adopts the same one.
  function captureFbp(now) {
    const cookie = readCookie("_fbp");
    if (cookie || !config.cookies) {
      return cookie;
    }
    const scope = cookieScope();
    const random = String(Math.floor(Math.random() * 9e9) + 1e9);
    const fbp = "fb." + scope.index + "." + now + "." + random;
    writeCookie("_fbp", fbp, scope);
    return fbp;
  }

  // The fbclid exactly as the URL carries it: never decoded, case kept.
  function rawParam(name) {
    const pairs = window.location.search.replace(/^\?/, "").split("&");
    for (let i = 0; i < pairs.length; i++) {
      const at = pairs[i].indexOf("=");
      if (at > 0 && pairs[i].slice(0, at) === name && at + 1 < pairs[i].length) {
        return pairs[i].slice(at + 1);
      }
    }
    return null;
  }

  function readCookie(name) {
    const parts = document.cookie ? document.cookie.split("; ") : [];
    for (let i = 0; i < parts.length; i++) {
      if (parts[i].indexOf(name + "=") === 0) {
        return parts[i].slice(name.length + 1) || null;
      }
    }
    return null;
  }

  function writeCookie(name, value, scope) {
    if (!config.cookies || /[;,\s]/.test(value)) {
      return;
    }
    const expires = new Date(Date.now() + COOKIE_DAYS * 864e5).toUTCString();
    const domain = scope.domain ? "; domain=" + scope.domain : "";
    document.cookie = name + "=" + value + "; expires=" + expires + "; path=/" + domain +
      "; SameSite=Lax" + (window.location.protocol === "https:" ? "; Secure" : "");
  }

  // The widest domain that takes a cookie, and Meta's index for it (example.com = 1).
  // An IP address or a one-label host gets a host-only cookie and index 1.
  function cookieScope() {
    const host = window.location.hostname;
    if (!config.cookies || host.indexOf(".") < 0 || /^[\d.]+$|:/.test(host)) {
      return {domain: "", index: 1};
    }
    const labels = host.split(".");
    for (let i = labels.length - 2; i >= 0; i--) {
      const candidate = labels.slice(i).join(".");
      document.cookie = "_capigate_probe=1; path=/; domain=" + candidate;
      if (readCookie("_capigate_probe")) {
        document.cookie = "_capigate_probe=; path=/; max-age=0; domain=" + candidate;
        return {domain: candidate, index: labels.length - i - 1};
      }
    }
    return {domain: "", index: labels.length - 1};
  }

  // --- helpers --------------------------------------------------------------------------

  function scriptOrigin() {
    try {
      return new URL(script.src).origin;
    } catch (error) {
      return window.location.origin;
    }
  }

  function compact(object) {
    const out = {};
    Object.keys(object).forEach(function (name) {
      if (object[name]) {
        out[name] = object[name];
      }
    });
    return out;
  }

  window.capigate = {
    init: init,
    track: track,
    decorate: function () { decorate(document); },
    deepLink: function (bot) {
      return "https://t.me/" + (bot || config.bot) + "?start=" + state.token;
    },
    state: function () { return state && Object.assign({}, state); },
  };
})(window, document);
