/**
 * Sync the trust list and the revocation lists into this device's state, safely: the same
 * checks and the same refusals as `healthcode-verifier sync` (verifier/sync.py).
 *
 * GET <base>/trust/trust-list.json and <base>/trust/revocations (conditional: If-None-Match
 * with the ETag of what the device holds, so an unchanged list costs a 304), then
 * <base>/trust/revocations/<iss> for every other issuer of the trust list (a 404 there means
 * this origin does not carry that issuer's list: not an error). Each document is checked as the
 * verifier uses it (the pinned anchor, expiry, no rollback to an older list, signatures by keys
 * in the trust list) before it replaces the one in use. A dropped connection, a truncated or
 * oversized download, a list signed by anyone else or an older list leave the lists in use as
 * they are. A valid list that names a new anchor (signed by both) moves the pin: the roll-over.
 *
 * Reasons (as Python's): unreachable, incomplete_download, http_error, no_anchor,
 * trust_list_* and revocation_list_* (the verifier's), internal_error (a bug; see the console).
 */

import {
  checkRevocationSuccessor,
  checkTrustSuccessor,
  loadRevocations,
  loadTrustList,
} from "/shared/verifier/index.js";

/** The largest trust list and revocation list fetched, as verifier/jws.py and revocation.py. */
export const MAX_JWS_BYTES = 4 * 1024 * 1024;
export const MAX_REVOCATION_BYTES = 16 * 1024 * 1024;
export const TIMEOUT_MS = 15_000;
export const DEFAULT_EVERY = 300_000;

export class SyncError extends Error {
  constructor(reason, detail) {
    super(`${reason}: ${detail}`); // i18n: not shown
    this.name = "SyncError"; // i18n: not shown
    this.reason = reason;
    this.detail = detail;
  }
}

/** GET `url` -> {body: Uint8Array|null (304), etag, status}; at most `limit` bytes. A 404 is
 * returned (status 404, no body) when `missingOk`. Throws SyncError. */
export async function fetchLimited(url, etag, limit, { missingOk = false } = {}) {
  const headers = {};
  if (typeof etag === "string" && etag.length < 256) headers["If-None-Match"] = etag;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    let response;
    try {
      // no-store: the answer comes from the server (a 304 included), never the HTTP cache.
      response = await fetch(url, { headers, cache: "no-store", credentials: "omit", signal: abort.signal });
    } catch (error) {
      throw new SyncError("unreachable", `${url}: ${error.message}`); // i18n: not shown
    }
    if (response.status === 304) return { body: null, etag: etag ?? null, status: 304 };
    if (response.status === 404 && missingOk) return { body: null, etag: null, status: 404 };
    if (!response.ok) throw new SyncError("http_error", `${url}: HTTP ${response.status}`); // i18n: not shown
    const declared = response.headers.get("Content-Length");
    if (declared !== null && /^\d+$/.test(declared) && Number(declared) > limit) {
      throw new SyncError("http_error", `${url}: larger than ${limit} bytes`); // i18n: not shown
    }
    const chunks = [];
    let size = 0;
    const reader = response.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.length;
        if (size > limit) {
          await reader.cancel();
          throw new SyncError("http_error", `${url}: larger than ${limit} bytes`); // i18n: not shown
        }
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof SyncError) throw error;
      throw new SyncError("incomplete_download", `${url}: ${error.message}`); // i18n: not shown
    }
    if (declared !== null && /^\d+$/.test(declared) && Number(declared) !== size) {
      throw new SyncError("incomplete_download", `${url}: got ${size} of ${declared} bytes`); // i18n: not shown
    }
    const body = new Uint8Array(size);
    let at = 0;
    for (const chunk of chunks) {
      body.set(chunk, at);
      at += chunk.length;
    }
    return { body, etag: response.headers.get("ETag"), status: response.status };
  } finally {
    clearTimeout(timer);
  }
}

function asSyncError(error, url) {
  if (error instanceof SyncError) return error;
  if (typeof error?.reason === "string") { // the verifier's TrustListError / RevocationListError
    return new SyncError(error.reason, `${url}: ${error.message}`); // i18n: not shown
  }
  console.error(error);
  return new SyncError("internal_error", `${url}: ${error}`); // i18n: not shown
}

const equalBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Check and keep a revocation list's bytes; return its issuer. */
async function storeRevocations(state, body, trust, report) {
  const list = await loadRevocations(body, trust);
  const previous = state.revocationsOf(list.iss);
  checkRevocationSuccessor(previous, list, trust);
  if (previous && equalBytes(new Uint8Array(previous.raw), new Uint8Array(list.raw))) {
    report.revocations[list.iss] = "unchanged";
  } else {
    await state.saveRevocations(list);
    report.revocations[list.iss] = "updated";
  }
  return list.iss;
}

/** One revocation list's URL: fetch (conditionally), check, keep; record its confirmation. */
async function syncRevocations(state, url, trust, book, report, now, missingOk) {
  const known = book.sources[url];
  const have = typeof known === "string" && state.revocationsOf(known) !== null;
  const { body, etag, status } = await fetchLimited(url, have ? book.etags[url] : null, MAX_REVOCATION_BYTES, { missingOk });
  if (status === 404) return;
  let iss = known;
  if (body !== null) {
    iss = await storeRevocations(state, body, trust, report);
    book.sources[url] = iss;
  } else {
    report.revocations[String(known)] = "unchanged";
  }
  book.checked[String(iss)] = now;
  if (etag) book.etags[url] = etag;
}

async function run(state, baseUrl) {
  const now = state.now();
  const base = String(baseUrl || state.syncBase).replace(/\/+$/, "");
  const report = { ok: false, trustList: "unchanged", trustSequence: null, anchorRolledOver: false, revocations: {}, errors: [] };
  const book = { etags: { ...state.etags }, sources: { ...state.sources }, checked: { ...state.checked } };
  const fail = (error, url) => {
    const e = asSyncError(error, url);
    report.errors.push({ reason: e.reason, detail: e.detail });
    return e.reason;
  };
  if (!state.pin) {
    report.trustList = fail(new SyncError("no_anchor", "no trust anchor pinned: scan the issuer's anchor QR"), base); // i18n: not shown
    return finish(state, report, book, now);
  }
  let url = `${base}/trust/trust-list.json`;
  try {
    const { body, etag } = await fetchLimited(url, state.trust ? book.etags[url] : null, MAX_JWS_BYTES);
    if (body !== null) {
      const text = new TextDecoder().decode(body);
      const { trust, pin } = await loadTrustList(text, state.pin, now);
      checkTrustSuccessor(state.trust, trust);
      if (!state.trust || state.trust.raw !== trust.raw || pin !== state.pin) {
        report.anchorRolledOver = pin !== state.pin;
        report.trustList = state.trust && state.trust.raw === trust.raw ? "unchanged" : "updated";
        await state.saveTrust(trust, pin);
      }
    }
    if (etag) book.etags[url] = etag;
  } catch (error) {
    report.trustList = fail(error, url);
  }
  const trust = state.trust;
  if (!trust) return finish(state, report, book, now);
  report.trustSequence = trust.sequence;
  const current = now <= trust.expiresAt ? trust : null;
  url = `${base}/trust/revocations`;
  try {
    if (!current) throw new SyncError("trust_list_expired", "no current trust list to check it with"); // i18n: not shown
    await syncRevocations(state, url, current, book, report, now, false);
  } catch (error) {
    report.revocations[url] = fail(error, url);
  }
  if (current) {
    const own = book.sources[url];
    for (const iss of current.issuers.filter((i) => i !== own)) {
      url = `${base}/trust/revocations/${encodeURIComponent(iss)}`;
      try {
        await syncRevocations(state, url, current, book, report, now, true);
      } catch (error) {
        report.revocations[url] = fail(error, url);
      }
    }
  }
  return finish(state, report, book, now);
}

async function finish(state, report, book, now) {
  report.ok = report.errors.length === 0;
  await state.saveSync({ at: now, ...book, errors: report.errors });
  return report;
}

const running = new WeakMap();

/**
 * Sync now from `baseUrl` (default: the state's sync base, normally the page's origin).
 * Returns {ok, trustList: "updated"|"unchanged"|reason, trustSequence, anchorRolledOver,
 * revocations: {iss or url: "updated"|"unchanged"|reason}, errors: [{reason, detail}]}.
 * Two calls at once share one run.
 */
export function syncNow(state, baseUrl) {
  if (running.has(state)) return running.get(state);
  const promise = run(state, baseUrl).finally(() => running.delete(state));
  running.set(state, promise);
  return promise;
}

/**
 * Sync now, then every `every` ms while the browser says it is online, and whenever it comes
 * back online. Returns {stop(), syncNow()}.
 */
export function startAutoSync(state, baseUrl, { every = DEFAULT_EVERY } = {}) {
  const tick = async () => {
    if (typeof navigator !== "undefined" && navigator.onLine === false) return null;
    try {
      return await syncNow(state, baseUrl);
    } catch (error) {
      console.error(error); // the state could not be written: the next tick tries again
      return null;
    }
  };
  const timer = setInterval(tick, every);
  addEventListener("online", tick);
  tick();
  return {
    stop() {
      clearInterval(timer);
      removeEventListener("online", tick);
    },
    syncNow: tick,
  };
}
