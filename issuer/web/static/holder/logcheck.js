/**
 * The phone checks the issuer's public log itself (docs/SECURITY.md, "A history rewritten by
 * whoever runs the database"): the issuer is the party being checked, so the phone takes
 * nothing from /me/log.json on trust.
 *
 * - The log's key is pinned the first time this phone sees it.
 * - Every checkpoint must be signed by that key; the witnesses' cosignatures are counted.
 * - The phone keeps the last checkpoint it saw, and each new one must be proved consistent
 *   with it (RFC 9162): a smaller log, two roots for one size, or a history that does not
 *   extend the one seen before is a contradiction. The phone keeps both signed checkpoints
 *   as evidence (two statements signed by the log that cannot both be true), and says so
 *   until the holder has read it.
 * - Each of the holder's entries asked about is found in the checkpoint by its inclusion
 *   proof, and is the holder's: its `who` is the commitment under the holder's log key.
 *
 * Nothing here is personal: the checkpoints are public, and the holder's key is not kept.
 */

import {
  TlogError, b64decode, leafHash, openCheckpoint, verifyConsistency, verifyInclusion,
} from "/shared/verifier/tlog.js";

const SEEN = "healthcode.log-seen"; // i18n: not shown (a localStorage key)
const ALARM = "healthcode.log-alarm"; // i18n: not shown (a localStorage key)
const LEAF_DOMAIN = "healthcode/log-leaf/1\u0000"; // i18n: not shown (issuer/store/public_log.py)
const COMMITMENT_HEX = 32;
/** The most entries one request asks about (the server's limit). */
export const BATCH = 64;

function load(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

function keep(key, value) {
  try {
    localStorage.setItem(key, JSON.stringify(value));
  } catch { /* storage off (private mode): the check holds as long as the page */ }
}

/** The contradiction this phone has seen and the holder has not dismissed, or null. */
export function alarm() {
  return load(ALARM);
}

/** The holder has read the alarm: forget it, and start again from the log as it is now. */
export function dismissAlarm() {
  localStorage.removeItem(ALARM);
  localStorage.removeItem(SEEN);
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** The holder's log key (raw bytes) as an HMAC key, imported once for all their leaves. */
async function logKey(raw) {
  return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]); // i18n: not shown
}

/** `who` of leaf `index` under the holder's log key (issuer/store/public_log.commitment). */
export async function commitment(hmac, index) {
  const mac = await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(LEAF_DOMAIN + index)); // i18n: not shown
  return hex(new Uint8Array(mac)).slice(0, COMMITMENT_HEX);
}

function contradiction(reason, seen, data) {
  const found = { reason, at: Math.floor(Date.now() / 1000), origin: data.origin,
    seen: seen.note, shown: data.checkpoint, proof: data.consistency };
  if (!alarm()) keep(ALARM, found);
  return { state: "contradiction", alarm: alarm() };
}

async function tlogReason(check) {
  try {
    await check();
    return null;
  } catch (error) {
    if (error instanceof TlogError) return error.reason;
    throw error;
  }
}

/** Whether the checkpoint shown extends the one this phone saw last (null: it does). */
async function consistent(seen, checkpoint, data) {
  if (!seen || seen.size === 0) return null;
  if (checkpoint.size < seen.size) return "rollback"; // i18n: not shown
  if (data.consistency === null || data.since !== seen.size) return "inconsistent"; // i18n: not shown
  return tlogReason(() => verifyConsistency(seen.size, checkpoint.size, b64decode(seen.root),
    checkpoint.root, data.consistency.map(b64decode)));
}

/** One entry: "ok" (in the checkpoint, the holder's), "bad" (with why) or "pending". */
async function entryState(entry, key, checkpoint) {
  if (entry.leaf === null || entry.proof === null) return { state: "bad", reason: "missing" }; // i18n: not shown
  let leaf;
  try {
    leaf = JSON.parse(entry.leaf);
  } catch {
    return { state: "bad", reason: "bad_leaf" }; // i18n: not shown
  }
  if (leaf === null || leaf.who !== await commitment(key, entry.index)) {
    return { state: "bad", reason: "not_mine", leaf }; // i18n: not shown
  }
  const bytes = new TextEncoder().encode(entry.leaf);
  const reason = await tlogReason(async () => verifyInclusion(await leafHash(bytes), entry.index,
    checkpoint.size, entry.proof.map(b64decode), checkpoint.root));
  return reason ? { state: "bad", reason, leaf } : { state: "ok", leaf };
}

/**
 * Ask the issuer for its checkpoint (and the entries at `indices`, at most BATCH) and check
 * it all. Resolves to `{state: "ok", size, witnesses, entries: Map(index → {state, reason,
 * leaf})}`, `{state: "contradiction", alarm}`, or `{state: "bad", reason}` (a checkpoint
 * that is not the log's); rejects when the issuer cannot be reached.
 */
export async function checkLog(indices = []) {
  const seen = load(SEEN);
  const query = new URLSearchParams({ since: String(seen ? seen.size : 0) });
  if (indices.length) query.set("index", indices.join(","));
  const response = await fetch(`/me/log.json?${query}`, // i18n: not shown
    { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } }); // i18n: not shown
  if (!response.ok) throw new Error(`HTTP ${response.status}`); // i18n: not shown
  const data = await response.json();
  if (seen && (seen.vkey !== data.vkey || seen.origin !== data.origin)) {
    return contradiction("key_changed", seen, data); // i18n: not shown
  }
  let opened;
  try {
    opened = await openCheckpoint(data.checkpoint, data.origin, [data.vkey], data.witnesses);
  } catch (error) {
    if (error instanceof TlogError) return { state: "bad", reason: error.reason };
    throw error;
  }
  const checkpoint = opened.checkpoint;
  const reason = await consistent(seen, checkpoint, data);
  if (reason) return contradiction(reason, seen, data);
  keep(SEEN, { origin: data.origin, vkey: data.vkey, size: checkpoint.size,
    root: data.checkpoint.split("\n")[2], note: data.checkpoint });
  const key = await logKey(b64decode(data.key));
  const entries = new Map();
  for (const entry of data.entries) entries.set(entry.index, await entryState(entry, key, checkpoint));
  for (const index of data.pending) entries.set(index, { state: "pending" }); // i18n: not shown
  for (const index of data.unknown) entries.set(index, { state: "bad", reason: "not_mine" }); // i18n: not shown
  return { state: "ok", size: checkpoint.size, witnesses: Object.keys(opened.witnesses).length, // i18n: not shown
    entries, alarm: alarm() };
}
