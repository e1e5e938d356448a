/**
 * Signed revocation lists, checked as verifier/revocation.py checks them: a COSE_Sign1 by a
 * key of the list's issuer in the trust list, dated inside that key's window, whose payload is
 * the version-1 map {typ, ver, iss, seq, iat, exp, width: 7, hashes}: the first 7 bytes of
 * SHA-256 of each revoked cti, sorted, without repeats.
 */

import { decodeProtected, decodeSign1, loadsStrict, sigStructure } from "./cose.js";
import { RevocationListError, VerificationError, reject } from "./errors.js";
import { kidText } from "./claims.js";
import { isInt, num } from "./decode.js";
import { hex, sha256, verifySignature } from "./keys.js";

export const REVOCATION_TYPE = "healthcode-revocations"; // i18n: not shown
export const HASH_BYTES = 7;
export const MAX_REVOCATION_BYTES = 16 * 1024 * 1024;
const PAYLOAD_KEYS = ["typ", "ver", "iss", "seq", "iat", "exp", "width", "hashes"]; // i18n: not shown
const fail = (reason, context) => reject(reason, context, RevocationListError);

/** A verified revocation list of one issuer. */
export class RevocationList {
  constructor(fields) { Object.assign(this, fields); }

  get size() { return this.count; }

  /** [issuedAt, keyNotBefore, sequence]: the list's place in time. */
  get order() { return [this.issuedAt, this.keyNotBefore, this.sequence]; }

  /** Whether `entry` (7 bytes) is in the list: a binary search. */
  containsHash(entry) {
    if (entry.length !== HASH_BYTES) return false;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareAt(this.hashes, mid * HASH_BYTES, entry);
      if (c === 0) return true;
      if (c < 0) lo = mid + 1; else hi = mid;
    }
    return false;
  }

  /** Whether the credential with id `cti` (bytes) is revoked. Resolves to a boolean. */
  async isRevoked(cti) {
    return this.containsHash((await sha256(cti)).subarray(0, HASH_BYTES));
  }

  /** Whether `now` is past the list's expiry (the list still applies). */
  expired(now) { return now > this.expiresAt; }
}

function compareAt(hashes, at, entry) {
  for (let i = 0; i < HASH_BYTES; i++) {
    const d = hashes[at + i] - entry[i];
    if (d) return d;
  }
  return 0;
}

function intField(doc, name) {
  const value = doc.get(name);
  if (!isInt(value) || value < 0n) throw new TypeError(`${name}`); // i18n: not shown
  return value;
}

function parsePayload(doc) {
  if (!(doc instanceof Map) || doc.get("typ") !== REVOCATION_TYPE) return null;
  const ver = doc.get("ver");
  if (!isInt(ver) || ver !== 1n) return null;
  if (doc.size !== PAYLOAD_KEYS.length || !PAYLOAD_KEYS.every((k) => doc.has(k))
      || ![...doc.keys()].every((k) => typeof k === "string")) return null;
  const [iss, width, hashes] = ["iss", "width", "hashes"].map((k) => doc.get(k));
  if (typeof iss !== "string" || !iss) return null;
  if (!isInt(width) || width !== BigInt(HASH_BYTES)) return null;
  if (!(hashes instanceof Uint8Array)) return null;
  try {
    const [iat, exp] = [intField(doc, "iat"), intField(doc, "exp")];
    if (exp < iat) return null;
    return { iss, sequence: num(intField(doc, "seq")), issuedAt: num(iat), expiresAt: num(exp), hashes };
  } catch (error) {
    if (error instanceof TypeError) return null;
    throw error;
  }
}

function sortedUnique(hashes) {
  for (let at = HASH_BYTES; at < hashes.length; at += HASH_BYTES) {
    if (compareAt(hashes, at - HASH_BYTES, hashes.subarray(at, at + HASH_BYTES)) >= 0) return false;
  }
  return true;
}

/**
 * Verify and parse a revocation list (its COSE bytes) against `trust`. Rejects with
 * RevocationListError: revocation_list_malformed or revocation_list_bad_signature.
 */
export async function loadRevocations(bytes, trust) {
  if (bytes.length > MAX_REVOCATION_BYTES) fail("revocation_list_malformed");
  let sign1;
  let alg;
  let kid;
  try {
    sign1 = decodeSign1(bytes);
    [alg, kid] = decodeProtected(sign1.protected);
  } catch (error) {
    if (error instanceof VerificationError) fail("revocation_list_malformed");
    throw error;
  }
  const key = trust.findKey(kid);
  const context = { kid: kidText(kid) };
  if (key === undefined) fail("revocation_list_bad_signature", context);
  if (alg !== (key.alg === "ES256" ? -7n : -8n)) fail("revocation_list_bad_signature", context);
  if (!await verifySignature(key.key, key.alg, sigStructure(sign1.protected, sign1.payload), sign1.signature)) {
    fail("revocation_list_bad_signature", context);
  }
  let fields;
  try {
    fields = parsePayload(loadsStrict(sign1.payload));
  } catch (error) {
    if (error instanceof VerificationError) fail("revocation_list_malformed", context);
    throw error;
  }
  if (fields === null) fail("revocation_list_malformed", context);
  if (fields.iss !== key.iss) fail("revocation_list_bad_signature", context);
  if (!(key.notBefore <= fields.issuedAt && fields.issuedAt <= key.notAfter)) {
    fail("revocation_list_bad_signature", context);
  }
  if (fields.hashes.length % HASH_BYTES || !sortedUnique(fields.hashes)) fail("revocation_list_malformed", context);
  return new RevocationList({
    ...fields, count: fields.hashes.length / HASH_BYTES, kid: kidText(kid),
    digest: hex(await sha256(bytes)), keyNotBefore: key.notBefore, raw: bytes,
  });
}

function compareOrder(a, b) {
  for (let i = 0; i < 3; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

/** RevocationListError("revocation_list_rollback") unless `candidate` may replace `current`
 * (revocation_list_malformed when they are lists of different issuers). */
export function checkRevocationSuccessor(current, candidate, trust = null) { // eslint-disable-line no-unused-vars
  if (current === null || current === undefined) return;
  if (candidate.iss !== current.iss) fail("revocation_list_malformed");
  const c = compareOrder(candidate.order, current.order);
  if (c < 0 || (c === 0 && candidate.digest !== current.digest)) {
    fail("revocation_list_rollback", { iss: candidate.iss, issued_at: candidate.issuedAt,
      current: current.issuedAt, sequence: candidate.sequence });
  }
}
