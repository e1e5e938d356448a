/**
 * The code page: fetch the phone's live credential when online (keeping the last one for
 * offline use), show it as a presentation signed by this phone's key, rebuilt every 15 s, and
 * a live clock, so that a photo or a recording of the screen is visibly old and is refused
 * by checkpoints.
 */

import { deviceKey, loadCredential, publicKeyJwk, saveCredential } from "./device.js";
import { showGuidance } from "./guidance.js";
import { buildPresentation, credentialBytes, nowSeconds } from "./presentation.js";
import { drawQR } from "./qr.js";

const REBUILD_MS = 15_000;
const REFRESH_MS = 5 * 60_000;
const card = document.getElementById("card");
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
let current = null;
let keys = null;
let publicX = null;

function setStatus(text, offline = false) {
  $("status").textContent = text;
  $("status").dataset.offline = offline ? "yes" : "no";
}

function duration(seconds) {
  const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60);
  if (h >= 24) return `${Math.floor(h / 24)} d ${h % 24} h`;
  return h ? `${h} h ${m} min` : `${m} min ${seconds % 60} s`;
}

function tick() {
  const now = new Date();
  $("clock").textContent = now.toLocaleTimeString("en-GB", { hour12: false });
  $("date").textContent = now.toLocaleDateString("en-GB",
    { weekday: "long", day: "numeric", month: "long", year: "numeric" });
  if (current) {
    const left = current.expires_at - nowSeconds();
    const until = new Date(current.expires_at * 1000).toLocaleString("en-GB",
      { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", hour12: false });
    $("expiry").textContent = left > 0 ? `Valid until ${until} (${duration(left)} left)`
      : `Expired at ${until}: go online to get a new code`;
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
  if (!response.ok) throw new Error(`server answered ${response.status}`);
  let credential = await response.json();
  if (credential.device_x !== publicX) { // this browser's key was lost: bind the new one
    await bindThisPhone();
    response = await get();
    if (!response.ok) throw new Error(`server answered ${response.status}`);
    credential = await response.json();
  }
  return credential;
}

async function refresh() {
  try {
    const fresh = await fetchCredential();
    if (!fresh) return;
    current = fresh;
    await saveCredential(current);
    setStatus("Up to date");
  } catch (error) {
    const saved = await loadCredential();
    if (saved) current = saved;
    const why = error instanceof TypeError ? "Offline" // fetch itself failed: no network
      : `Your code could not be refreshed (${error.message})`;
    setStatus(current ? `${why}: showing your last code` : `${why}, and no code saved yet`,
      true);
  }
  await show();
}

async function show() {
  tick();
  if (!current) return;
  card.dataset.colour = current.colour;
  $("colour-word").textContent = current.colour.toUpperCase();
  $("score").textContent = String(current.score);
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

async function main() {
  keys = await deviceKey();
  publicX = (await publicKeyJwk(keys)).x;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(card.dataset.swUrl, { scope: "/me" }).catch(() => {});
  }
  const saved = await loadCredential();
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

main().catch((error) => setStatus(`This browser cannot show a live code: ${error.message}`));
