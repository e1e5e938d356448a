/**
 * The checkpoint's state on this device, in IndexedDB: the pinned trust anchor, the trust list
 * and the revocation lists (their signed bytes), the sync bookkeeping (ETags, last sync, when
 * each issuer's revocation list was last confirmed current), the settings (rule, static codes,
 * sound) and today's verdict counts. Nothing about any code or person is ever kept.
 *
 * Stored bytes are never trusted as they are: every open re-verifies the trust list against the
 * pin and each revocation list against the trust list with the verifier (/shared/verifier/).
 *
 * The pin (the anchor's RFC 7638 thumbprint, base64url) is set once: from the page's config on
 * first open, or by staff scanning an anchor QR (`healthcode-issuer keys export --anchor-qr`):
 *   HCA1:<thumbprint>            or   HCA1:<thumbprint>;<URL to sync from>
 * A page that later names another anchor is refused (warning "anchor_refused"); the pin moves
 * only with a roll-over (a valid list, signed by both, naming the new anchor: sync.js) or when
 * staff scan an anchor QR and confirm (pinAnchor(text, {replace: true})).
 *
 * warnings(now) -> [{code, values}], for the page to word:
 *   no_anchor {}                            nothing pinned: scan the issuer's anchor QR
 *   anchor_refused {offered, pinned}        the page names another anchor than the pinned one
 *   no_trust_list {reason}                  none yet, or the stored one fails (reason: why)
 *   trust_list_expired {expiresAt}
 *   revocation_list_missing {iss}           an issuer of the trust list without a list here
 *   revocation_list_expired {iss, expiresAt}
 *   revocation_list_stale {iss, age, limit} last confirmed current `age` seconds ago (> limit)
 *   sync_failed {at, reasons}               the last sync attempt failed; lists in use kept
 */

import { loadRevocations, loadTrustList, Rule } from "/shared/verifier/index.js";
import { timeZone } from "/shared/i18n.js";
import { AnchorError, parseAnchor } from "./anchorqr.js";

export { ANCHOR_QR_PREFIX, AnchorError, parseAnchor } from "./anchorqr.js";

export const DB_NAME = "healthcode-checkpoint"; // i18n: not shown
const STORE = "kv"; // i18n: not shown
const DEFAULT_MAX_REVOCATION_AGE = 3600;
const OUTCOMES = ["admitted", "denied", "invalid"];

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function openDb(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

/** Write `entries` ({key: value}, undefined deletes) in one transaction: all or nothing. */
function put(db, entries) {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, "readwrite");
    const store = tx.objectStore(STORE);
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) store.delete(key);
      else store.put(value, key);
    }
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

async function readAll(db) {
  const tx = db.transaction(STORE, "readonly");
  const store = tx.objectStore(STORE);
  const [keys, values] = await Promise.all([request(store.getAllKeys()), request(store.getAll())]);
  return Object.fromEntries(keys.map((key, i) => [key, values[i]]));
}

/** The day of `epoch` in the deployment's zone, "YYYY-MM-DD". */
export function dayOf(epoch) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" })
    .format(new Date(epoch * 1000));
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

class State {
  constructor(db, config, stored, clock) {
    this._db = db;
    this._clock = clock;
    this._listeners = new Set();
    this.config = config;
    this.maxRevocationAge = Number(config.maxRevocationAge) || DEFAULT_MAX_REVOCATION_AGE;
    this.pin = stored.pin || null;
    /** The anchor the page named and this device refused (it pins another). */
    this.refusedAnchor = null;
    this.syncBase = stored.syncBase || config.sync || (typeof location !== "undefined" ? location.origin : null);
    this.trust = null;
    this.trustProblem = null; // the reason the stored trust list is unusable
    this.revocations = [];
    this.revocationProblems = {}; // iss -> reason
    this.etags = stored.etags || {};
    this.sources = stored.sources || {};
    this.checked = stored.checked || {};
    this.lastSync = stored.lastSync ?? null;
    this.lastAttempt = stored.lastAttempt ?? null;
    this.lastErrors = stored.lastErrors || [];
    const settings = stored.settings || {};
    this.rule = settings.rule ?? config.rule ?? "green";
    this.acceptStatic = settings.acceptStatic ?? config.acceptStatic ?? true;
    this.sound = settings.sound ?? true;
    this._counts = stored.counts || null;
  }

  now() {
    return this._clock();
  }

  /** Re-verify the stored lists (the pin, then each revocation list against the trust list). */
  async _load(stored) {
    this.trust = null;
    this.trustProblem = null;
    this.revocations = [];
    this.revocationProblems = {};
    if (!this.pin || !stored.trust) return;
    try {
      const { trust, pin } = await loadTrustList(stored.trust, this.pin, this.now(), { allowExpired: true });
      this.trust = trust;
      if (pin !== this.pin) { // a roll-over whose pin was not written: the list names it
        this.pin = pin;
        await put(this._db, { pin });
      }
    } catch (error) {
      if (typeof error?.reason !== "string") throw error;
      this.trustProblem = error.reason;
      return;
    }
    for (const [iss, bytes] of Object.entries(stored.revocations || {})) {
      try {
        this.revocations.push(await loadRevocations(new Uint8Array(bytes), this.trust));
      } catch (error) {
        if (typeof error?.reason !== "string") throw error;
        this.revocationProblems[iss] = error.reason;
      }
    }
  }

  /** The revocation list in use for `iss`, or null. */
  revocationsOf(iss) {
    return this.revocations.find((r) => r.iss === iss) || null;
  }

  onChange(callback) {
    this._listeners.add(callback);
    return () => this._listeners.delete(callback);
  }

  _changed() {
    for (const callback of this._listeners) {
      try {
        callback(this);
      } catch (error) {
        console.error(error); // a listener's bug must not stop the others
      }
    }
  }

  async _settings(change) {
    Object.assign(this, change);
    await put(this._db, { settings: { rule: this.rule, acceptStatic: this.acceptStatic, sound: this.sound } });
    this._changed();
  }

  /** Set the rule (its canonical text is kept). Throws the verifier's RuleError. */
  async setRule(text) {
    await this._settings({ rule: Rule.parse(text).text });
  }

  async setAcceptStatic(value) {
    await this._settings({ acceptStatic: Boolean(value) });
  }

  async setSound(value) {
    await this._settings({ sound: Boolean(value) });
  }

  /**
   * Pin the anchor from a thumbprint or an anchor QR's text (`HCA1:...`). Returns
   * {pin, url, changed}. The same pin again changes nothing. Another pin than the one held is
   * refused (AnchorError "anchor_differs") unless `replace`: then the lists checked with the old
   * anchor are dropped and the next sync fetches new ones. A URL in the QR on this page's own
   * site becomes the base to sync from; one on another site is left out (`url` null, `elsewhere`
   * it): the page may fetch only from its own site (CSP connect-src 'self', and /trust sends no
   * CORS headers), so it keeps syncing from the site that served it, whose lists the anchor
   * signs all the same. Throws AnchorError("anchor_malformed") for anything else.
   */
  async pinAnchor(text, { replace = false } = {}) {
    const { pin, url: named } = parseAnchor(text);
    const here = typeof location !== "undefined" ? location.origin : null;
    const url = named && new URL(named).origin === here ? named : null;
    const elsewhere = named && !url ? named : null;
    const changed = pin !== this.pin;
    if (changed && this.pin && !replace) {
      throw new AnchorError("anchor_differs", { pinned: this.pin, offered: pin });
    }
    const entries = {};
    if (changed) {
      Object.assign(entries, { pin, trust: undefined, revocations: undefined, etags: undefined, sources: undefined });
      Object.assign(this, { pin, trust: null, trustProblem: null, revocations: [], revocationProblems: {}, etags: {}, sources: {} });
      if (this.refusedAnchor === pin) this.refusedAnchor = null;
    }
    if (url && url !== this.syncBase) {
      entries.syncBase = url;
      this.syncBase = url;
    }
    await put(this._db, entries);
    this._changed();
    return { pin, url, elsewhere, changed };
  }

  /** Keep a verified trust list (and the pin it leaves: a roll-over moves it), in one write. */
  async saveTrust(trust, pin = this.pin) {
    await put(this._db, { trust: trust.raw, pin });
    this.trust = trust;
    this.trustProblem = null;
    this.pin = pin;
    if (this.refusedAnchor === pin) this.refusedAnchor = null;
    this._changed();
  }

  /** Keep a verified revocation list (replacing its issuer's). */
  async saveRevocations(list) {
    const stored = {};
    for (const r of this.revocations) stored[r.iss] = r.raw;
    stored[list.iss] = list.raw;
    await put(this._db, { revocations: stored });
    this.revocations = [...this.revocations.filter((r) => r.iss !== list.iss), list];
    delete this.revocationProblems[list.iss];
    this._changed();
  }

  /** Record a sync attempt: its ETags, sources, confirmations and outcome. */
  async saveSync({ at, etags, sources, checked, errors }) {
    const reasons = errors.map((e) => e.reason);
    const entries = { etags, sources, checked, lastAttempt: at, lastErrors: reasons };
    if (!reasons.length) entries.lastSync = at;
    await put(this._db, entries);
    Object.assign(this, { etags, sources, checked, lastAttempt: at, lastErrors: reasons });
    if (!reasons.length) this.lastSync = at;
    this._changed();
  }

  /** Count one verdict for today (outcome: "admitted", "denied" or "invalid"). */
  async count(outcome) {
    if (!OUTCOMES.includes(outcome)) throw new TypeError(`unknown outcome ${outcome}`); // i18n: not shown
    const day = dayOf(this.now());
    const counts = this._counts?.day === day ? { ...this._counts } : { day, admitted: 0, denied: 0, invalid: 0 };
    counts[outcome] += 1;
    this._counts = counts;
    await put(this._db, { counts });
    this._changed();
    return this.todayCounts();
  }

  /** {admitted, denied, invalid} for today (a new day starts at zero). */
  async todayCounts() {
    const counts = this._counts?.day === dayOf(this.now()) ? this._counts : {};
    return { admitted: counts.admitted || 0, denied: counts.denied || 0, invalid: counts.invalid || 0 };
  }

  /** What staff must know, as [{code, values}] (see the top of this file). */
  warnings(now = this.now()) {
    const found = [];
    if (!this.pin) found.push({ code: "no_anchor", values: {} });
    if (this.refusedAnchor) found.push({ code: "anchor_refused", values: { offered: this.refusedAnchor, pinned: this.pin } });
    if (!this.trust) {
      if (this.pin) found.push({ code: "no_trust_list", values: { reason: this.trustProblem } });
    } else {
      if (now > this.trust.expiresAt) {
        found.push({ code: "trust_list_expired", values: { expiresAt: this.trust.expiresAt } });
      }
      for (const iss of this.trust.issuers) {
        const list = this.revocationsOf(iss);
        if (!list) {
          found.push({ code: "revocation_list_missing", values: { iss, reason: this.revocationProblems[iss] || null } });
          continue;
        }
        const confirmed = Number.isInteger(this.checked[iss]) ? this.checked[iss] : 0;
        const age = Math.max(now - Math.max(list.issuedAt, confirmed), 0);
        if (now > list.expiresAt) {
          found.push({ code: "revocation_list_expired", values: { iss, expiresAt: list.expiresAt } });
        } else if (age > this.maxRevocationAge) {
          found.push({ code: "revocation_list_stale", values: { iss, age, limit: this.maxRevocationAge } });
        }
      }
    }
    if (this.lastErrors.length) {
      found.push({ code: "sync_failed", values: { at: this.lastAttempt, reasons: [...new Set(this.lastErrors)] } });
    }
    return found;
  }
}

/**
 * Open this device's state: read IndexedDB, pin the page's anchor if none is pinned yet (a
 * different one is refused: `refusedAnchor`), re-verify the stored lists.
 * config: the page's data block ({anchor, sync, rule, acceptStatic, window, maxRevocationAge}).
 * options: {dbName, clock} (tests).
 */
export async function openState(config = {}, { dbName = DB_NAME, clock = nowSeconds } = {}) {
  const db = await openDb(dbName);
  const stored = await readAll(db);
  const state = new State(db, config, stored, clock);
  await state._load(stored);
  if (config.anchor) {
    let offered = null;
    let valid = true;
    try {
      offered = parseAnchor(config.anchor).pin;
    } catch {
      valid = false; // not a pin: never pinned, only warned about
      offered = String(config.anchor).slice(0, 64);
    }
    if (!state.pin && valid) {
      await state.pinAnchor(offered);
    } else if (offered !== state.pin) {
      state.refusedAnchor = offered;
    }
  }
  return state;
}
