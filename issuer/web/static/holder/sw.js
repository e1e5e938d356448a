/**
 * The code page's service worker: the page and everything it needs are cached, so the code
 * still shows with the network unplugged (the credential itself is kept in IndexedDB by the
 * page). Network first, so that an online phone always gets the newest page; only the code
 * page is cached, never the pages with personal data.
 */

const CACHE = "healthcode-holder-v4"; // v4: the public log's check (logcheck.js, tlog.js)
const SHELL = [
  "/me",
  "/me/manifest.webmanifest",
  "/static/holder/holder.css",
  "/static/holder/app.js",
  "/shared/i18n.js",
  "/static/holder/device.js",
  "/static/holder/presentation.js",
  "/shared/verifier/cbor.js",
  "/shared/verifier/base45.js",
  "/static/holder/qr.js",
  "/static/holder/guidance.js",
  "/static/holder/logcheck.js",
  "/shared/verifier/tlog.js",
  "/shared/verifier/merkle.js",
  "/shared/verifier/keys.js",
  "/static/holder/icon-192.png",
  "/static/vendor/qrcode-generator/qrcode.mjs",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    // Only this page's older caches: the checkpoint app (/checkpoint/) keeps its own here.
    .then((names) => Promise.all(names.filter((n) => n.startsWith("healthcode-holder-") && n !== CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin
      || !SHELL.includes(url.pathname)) {
    return; // the browser's own handling: nothing else is cached
  }
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    try {
      const response = await fetch(event.request);
      if (response.ok && !response.redirected) await cache.put(url.pathname, response.clone());
      return response;
    } catch (error) {
      const cached = await cache.match(url.pathname);
      if (cached) return cached;
      throw error;
    }
  })());
});
