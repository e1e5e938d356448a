/**
 * The checkpoint app's service worker: after one visit online, the page and everything it runs
 * (its scripts, the verifier, the QR decoder and its WebAssembly, styles, icons) come from this
 * device's cache, so staff can check codes with the network off.
 *
 * - The page (/checkpoint/): network first, so an online device always gets the newest page;
 *   the copy kept is the reader's language as last served, and both languages are cached at
 *   install (/checkpoint/?lang=zh-CN and ?lang=en answer offline with that language).
 * - Static files (/checkpoint/static/…, /shared/…): cache first; they change only with a new
 *   version of this worker (a new cache).
 * - /trust/* and /api/* are never cached here: the lists live in IndexedDB (state.js), checked.
 *
 * What to cache is found, not listed by hand: at install the worker reads the page and follows
 * its scripts, styles and icons, every module's imports and every ".wasm" path a module names,
 * staying on this origin. Versions: CACHE carries VERSION, which the server sets to a digest of
 * the files it caches (verifier/browser/offline.py): a deploy that changes any of them is a new
 * worker, whose activation deletes the checkpoint's older caches (and no one else's).
 */

const VERSION = "1"; // replaced when served
const PREFIX = "healthcode-checkpoint-"; // i18n: not shown
const CACHE = PREFIX + VERSION;
const PAGE = "/checkpoint/";
const LANGUAGES = ["zh-CN", "en"];
/** Cached at install as well as what the page leads to (each followed the same way; one the
 * server does not have is skipped). */
const EXTRA = [
  "/checkpoint/manifest.webmanifest",
  "/checkpoint/static/icon-192.png",
  "/checkpoint/static/icon-512.png",
  "/checkpoint/static/icon-maskable-512.png",
  "/checkpoint/static/state.js",
  "/checkpoint/static/sync.js",
  "/shared/i18n.js",
  "/shared/verifier/index.js",
  "/shared/scan/decoder.js",
  "/shared/vendor/zxing-wasm/zxing_reader.wasm",
];
/** Where the app's own files live: only these are cached. */
const ASSETS = ["/checkpoint/static/", "/shared/"];
const NEVER = ["/trust/", "/api/"];

/** Where the page in one language is kept (and what answers /checkpoint/?lang=… offline). */
const pageKey = (lang) => `${PAGE}?lang=${lang}`; // i18n: not shown
const isAsset = (path) => ASSETS.some((prefix) => path.startsWith(prefix)) || path === "/checkpoint/manifest.webmanifest";
const isPage = (path) => path === PAGE || path === "/checkpoint";

/** Same-origin paths that `text` (HTML, CSS or a JS module at `base`) refers to. */
function references(text, base, type) {
  const found = [];
  const patterns = type.includes("html")
    ? [/<(?:script|link|img)\b[^>]*?\b(?:src|href)="([^"]+)"/g]
    : type.includes("css")
      ? [/url\(\s*["']?([^"')]+)["']?\s*\)/g]
      : [/\b(?:import|export)\b[^"'`;]*?\bfrom\s*["']([^"']+)["']/g, /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
        /\bimport\s*["']([^"']+)["']/g, /["']([^"'\s]+\.wasm)["']/g];
  for (const pattern of patterns) {
    for (const match of text.matchAll(pattern)) {
      try {
        const url = new URL(match[1].replaceAll("&amp;", "&"), base); // i18n: not shown
        if (url.origin === self.location.origin && isAsset(url.pathname)) found.push(url.pathname + url.search);
      } catch {
        // not a URL: skip it
      }
    }
  }
  return found;
}

/** Fetch and cache the page in each language and everything it needs. */
async function precache() {
  const cache = await caches.open(CACHE);
  const seen = new Set();
  const queue = [];
  for (const lang of LANGUAGES) {
    // No cookie: the language comes from Accept-Language alone.
    const response = await fetch(PAGE, { credentials: "omit", headers: { "Accept-Language": lang }, cache: "no-store" });
    if (!response.ok) throw new Error(`${PAGE}: HTTP ${response.status}`); // i18n: not shown
    const html = await response.clone().text();
    await cache.put(pageKey(lang), response);
    queue.push(...references(html, new URL(PAGE, self.location.href), "text/html"));
  }
  queue.push(...EXTRA);
  while (queue.length) {
    const path = queue.shift();
    if (seen.has(path)) continue;
    seen.add(path);
    // A network failure fails the install (the browser tries again on the next visit); a file
    // the server does not have is left out, as it is missing online too.
    const response = await fetch(path, { cache: "no-store" });
    if (!response.ok) continue;
    const type = response.headers.get("Content-Type") || "";
    if (/javascript|css|html/.test(type)) {
      queue.push(...references(await response.clone().text(), new URL(path, self.location.href), type));
    }
    await cache.put(path, response);
  }
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n.startsWith(PREFIX) && n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

/** The page: from the network (kept as the reader's copy), else the copy kept. */
async function page(request, url) {
  const cache = await caches.open(CACHE);
  try {
    const response = await fetch(request);
    if (response.ok && !response.redirected && (response.headers.get("Content-Type") || "").includes("text/html")) {
      await cache.put(PAGE, response.clone());
    }
    return response;
  } catch (error) {
    const lang = url.searchParams.get("lang");
    const wanted = LANGUAGES.includes(lang) ? [pageKey(lang)] : [PAGE];
    const preferred = LANGUAGES.find((l) => (self.navigator.language || "").toLowerCase().startsWith(l.slice(0, 2)));
    for (const key of [...wanted, pageKey(preferred || LANGUAGES[0]), pageKey(LANGUAGES[0])]) {
      const cached = await cache.match(key);
      if (cached) return cached;
    }
    throw error;
  }
}

/** A static file: the cached copy, else the network (kept for next time). */
async function asset(request, url) {
  const cache = await caches.open(CACHE);
  const key = url.pathname + url.search;
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && !response.redirected) await cache.put(key, response.clone());
  return response;
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin
      || NEVER.some((prefix) => url.pathname.startsWith(prefix))) {
    return; // the browser's own handling: never cached here
  }
  if (isPage(url.pathname) && event.request.mode === "navigate") {
    event.respondWith(page(event.request, url));
  } else if (isAsset(url.pathname)) {
    event.respondWith(asset(event.request, url));
  }
});
