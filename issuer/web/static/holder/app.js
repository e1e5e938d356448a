/**
 * The code page: fetch the phone's live credential when online (keeping the last one for
 * offline use), show it as a presentation signed by this phone's key, rebuilt every 15 s, and
 * a live clock, so that a photo or a recording of the screen is visibly old and is refused
 * by checkpoints.
 *
 * Everything it says is in the reader's language (/shared/i18n.js), every time in the
 * deployment's zone with its offset. The code (a canvas) is an image whose spoken description
 * ("Health code, green, score 80, valid until …") follows what is shown; status messages go to
 * a polite live region. A large-text mode (remembered on the phone) enlarges the colour, the
 * score and the times; the code itself keeps its size.
 */

import { _, formatClock, formatDay, formatTime, locale } from "/shared/i18n.js";
import { deviceKey, loadCredential, publicKeyJwk, saveCredential } from "./device.js";
import { showGuidance } from "./guidance.js";
import { buildPresentation, credentialBytes, nowSeconds } from "./presentation.js";
import { drawQR } from "./qr.js";

const REBUILD_MS = 15_000;
const REFRESH_MS = 5 * 60_000;
const LARGE_TEXT = "healthcode.large-text"; // i18n: not shown (a localStorage key)
const card = document.getElementById("card");
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
/** The colour as the band shows it, and as a sentence (and a screen reader) says it. */
const BAND = { green: _("GREEN"), yellow: _("YELLOW"), red: _("RED") };
const COLOUR = { green: _("green"), yellow: _("yellow"), red: _("red") };
// Whose code: the holder's own ("current"), or a family member's ("family:<link id>").
const storeKey = card.dataset.storeKey || "current"; // i18n: not shown
let current = null;
let keys = null;
let publicX = null;

function setStatus(text, offline = false) {
  $("status").textContent = text;
  $("status").dataset.offline = offline ? "yes" : "no";
}

/** A sentence, then what went wrong inside (not translated: it is for whoever helps). */
function withDetail(sentence, error) {
  return error && error.message ? `${sentence} (${error.message})` : sentence;
}

/** A length of time in the reader's words: "2 days, 3 hours", "2天3小时". */
function duration(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  const parts = d ? [[d, "day"], [h, "hour"]] : h ? [[h, "hour"], [m, "minute"]]
    : [[m, "minute"], [s, "second"]];
  const words = parts.filter(([n], i) => n || i === 0).map(([n, unit]) =>
    new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }).format(n));
  return new Intl.ListFormat(locale, { style: "long", type: "unit" }).format(words);
}

function colourOf(credential) {
  return COLOUR[credential.colour] ?? credential.colour;
}

function describe() {
  if (!current) return;
  const colour = colourOf(current), score = current.score;
  const until = formatTime(current.expires_at);
  $("qr").setAttribute("aria-label", current.expires_at > nowSeconds()
    ? _("Health code, {colour}, score {score}, valid until {until}", { colour, score, until })
    : _("Health code, {colour}, score {score}, expired at {until}: no code is shown",
        { colour, score, until }));
}

function tick() {
  const now = nowSeconds();
  $("clock").textContent = formatClock(now);
  $("date").textContent = formatDay(now);
  if (current) {
    const left = current.expires_at - now;
    const until = formatTime(current.expires_at);
    $("expiry").textContent = left > 0
      ? _("Valid until {until} ({left} left)", { until, left: duration(left) })
      : _("Expired at {until}: go online to get a new code", { until });
  }
}

async function post(url, body) {
  return fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
}

async function bindThisPhone() {
  const response = await post(card.dataset.deviceUrl, { jwk: await publicKeyJwk(keys) });
  if (!response.ok) throw new Error((await response.json()).message);
  card.dataset.bound = "yes";
}

async function fetchCredential() {
  const get = () => fetch(card.dataset.credentialUrl,
    { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" });
  let response = await get();
  if (response.status === 409) { // signed in by code: this phone has no key on record yet
    await bindThisPhone();
    response = await get();
  }
  if (response.status === 401) {
    location.assign("/signin");
    return null;
  }
  if (response.status === 404 && card.dataset.family) { // removed from this phone
    location.assign("/me/family");
    return null;
  }
  if (!response.ok) throw new Error(`HTTP ${response.status}`); // i18n: not shown
  let credential = await response.json();
  if (credential.device_x !== publicX) { // this browser's key was lost: bind the new one
    await bindThisPhone();
    response = await get();
    if (!response.ok) throw new Error(`HTTP ${response.status}`); // i18n: not shown
    credential = await response.json();
  }
  return credential;
}

/**
 * Check the issuer's public log against what this phone saw before (./logcheck.js), and show
 * the warning if this phone ever found a contradiction. Loaded apart, so that nothing in it
 * can keep the code from showing.
 */
async function checkHistory(online = true) {
  try {
    const log = await import("./logcheck.js");
    try {
      if (online) await log.checkLog();
    } finally {
      $("log-alarm").hidden = !log.alarm();
    }
  } catch { /* offline, or the issuer did not answer: checked at the next refresh */ }
}

async function refresh() {
  try {
    const fresh = await fetchCredential();
    if (!fresh) return;
    current = fresh;
    await saveCredential(current, storeKey);
    setStatus(_("Up to date"));
    checkHistory();
  } catch (error) {
    const saved = await loadCredential(storeKey);
    if (saved) current = saved;
    if (error instanceof TypeError) { // fetch itself failed: no network
      setStatus(current ? _("Offline: showing your last code")
        : _("Offline, and no code is saved on this phone yet"), true);
    } else {
      const sentence = current
        ? _("Your code could not be refreshed: showing your last code.")
        : _("Your code could not be refreshed, and no code is saved on this phone yet.");
      setStatus(withDetail(sentence, error), true);
    }
  }
  await show();
}

async function show() {
  tick();
  if (!current) return;
  card.dataset.colour = current.colour;
  $("colour-word").textContent = BAND[current.colour] ?? current.colour;
  $("score").textContent = _("Score {score}", { score: current.score });
  describe();
  const t = nowSeconds();
  showGuidance(current.guidance, t);
  if (t > current.expires_at) {
    $("qr").getContext("2d").clearRect(0, 0, $("qr").width, $("qr").height);
    card.dataset.presentedAt = "";
    return;
  }
  const text = await buildPresentation(keys.privateKey, credentialBytes(current.text), t);
  drawQR($("qr"), text);
  card.dataset.presentedAt = String(t);
}

/** Large text on or off; the choice is kept on this phone. */
function largeText(on) {
  document.body.classList.toggle("large-text", on);
  $("large-text").setAttribute("aria-pressed", on ? "true" : "false");
  try {
    localStorage.setItem(LARGE_TEXT, on ? "1" : "0");
  } catch { /* storage off (private mode): the choice lasts as long as the page */ }
}

function rememberedLargeText() {
  try {
    return localStorage.getItem(LARGE_TEXT) === "1";
  } catch {
    return false;
  }
}

async function main() {
  largeText(rememberedLargeText());
  checkHistory(false);
  $("large-text").addEventListener("click",
    () => largeText(!document.body.classList.contains("large-text")));
  tick();
  keys = await deviceKey();
  publicX = (await publicKeyJwk(keys)).x;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(card.dataset.swUrl, { scope: "/me" }).catch(() => {});
  }
  const saved = await loadCredential(storeKey);
  if (saved) {
    current = saved;
    await show();
  }
  await refresh();
  setInterval(tick, 1000);
  setInterval(show, REBUILD_MS);
  setInterval(refresh, REFRESH_MS);
  addEventListener("online", refresh);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") show();
  });
}

main().catch((error) => setStatus(withDetail(_("This browser cannot show a live code."), error)));
