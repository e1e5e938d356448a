/**
 * The signed trust list, checked as verifier/trust.py checks it: every signature must hold
 * under the key in its header, one must be the pinned anchor's (an RFC 7638 thumbprint, kept
 * as base64url text), the payload must be a version-1 list, and the anchor it names must have
 * signed it too (roll-over: the new pin is returned). Same refusals, same reasons.
 */

import { TrustListError, reject } from "./errors.js";
import { JwsFormatError, decodeJwsAll } from "./jws.js";
import { DecodeError, loadsJson, plainJson } from "./decode.js";
import {
  KeyFormatError, b64url, b64urlDecode, hex, jwkToKey, sha256, verifySignature,
} from "./keys.js";
import { pyLen } from "./text.js";
import { kidText } from "./claims.js";
import { loadForeign } from "./formats/index.js";

export const TRUST_LIST_TYPE = "healthcode-trust-list"; // i18n: not shown
const fail = (reason, context) => reject(reason, context, TrustListError);
const bytesKey = (bytes) => hex(bytes);

/** A verified trust list. */
export class TrustList {
  constructor(fields) { Object.assign(this, fields); }

  /** The issuer's name for a reader of `langTag` ("zh-CN", "en"), else its name, else its id. */
  issuerName(iss, langTag = null) {
    const names = this.issuerNames.get(iss);
    for (const tag of [langTag, (langTag ?? "").split("-")[0]]) {
      if (tag && names && names.has(tag)) return names.get(tag);
    }
    return this.names.get(iss) ?? iss;
  }

  /** The trusted key {kid, alg, key, iss, notBefore, notAfter} with id `kid` (bytes), or
   * VerificationError("unknown_key"). */
  key(kid) {
    const found = this.keys.get(bytesKey(kid));
    if (found === undefined) reject("unknown_key", { kid: kidText(kid) });
    return found;
  }

  /** The key with id `kid`, or undefined. */
  findKey(kid) { return this.keys.get(bytesKey(kid)); }

  get issuers() { return [...this.names.keys()]; }
}

// JSON integers are numbers within 2^53 (decode.js); other numbers are Float objects.
function intField(obj, name) {
  const value = obj.get(name);
  if (typeof value !== "number" || value < 0) throw new KeyFormatError(`${name} must be epoch seconds`); // i18n: not shown
  return value;
}

function list(value) {
  if (!Array.isArray(value)) throw new KeyFormatError("issuers and keys are arrays"); // i18n: not shown
  return value;
}

function need(obj, key) {
  if (!(obj instanceof Map) || !obj.has(key)) throw new KeyFormatError(`missing ${key}`); // i18n: not shown
  return obj.get(key);
}

function names(value) {
  const ok = value instanceof Map && value.size <= 16 && [...value].every(
    ([tag, name]) => tag.length > 0 && pyLen(tag) <= 35
      && typeof name === "string" && name.length > 0 && pyLen(name) <= 200);
  if (!ok) throw new KeyFormatError("issuer names must map language tags to short texts"); // i18n: not shown
  return value;
}

async function parsePayload(payload, anchor) {
  const doc = loadsJson(payload);
  if (!(doc instanceof Map) || doc.get("typ") !== TRUST_LIST_TYPE) throw new KeyFormatError("not a trust list"); // i18n: not shown
  const ver = doc.get("ver");
  if (ver !== 1) throw new KeyFormatError("unsupported version"); // i18n: not shown
  const keys = new Map();
  const issuerNames = new Map();
  const issuerMap = new Map();
  for (const issuer of list(need(doc, "issuers"))) {
    const iss = need(issuer, "iss");
    if (typeof iss !== "string" || !iss || issuerMap.has(iss)) throw new KeyFormatError("issuer ids must be distinct"); // i18n: not shown
    const name = issuer.has("name") ? issuer.get("name") : iss;
    if (typeof name !== "string") throw new KeyFormatError("an issuer's name is a text"); // i18n: not shown
    issuerMap.set(iss, name);
    if (issuer.has("names")) issuerNames.set(iss, names(issuer.get("names")));
    for (const jwk of list(need(issuer, "keys"))) {
      const { key, alg, kid } = await jwkToKey(jwk);
      const id = bytesKey(new TextEncoder().encode(kid));
      if (keys.has(id)) throw new KeyFormatError("a key appears twice"); // i18n: not shown
      keys.set(id, {
        kid, alg, key, iss, notBefore: intField(jwk, "nbf"), notAfter: intField(jwk, "exp"),
      });
    }
  }
  const named = doc.get("anchor");
  const designated = named === undefined || named === null ? anchor : b64urlDecode(named);
  if (designated.length !== 32) throw new KeyFormatError("anchor must be a 32-byte thumbprint"); // i18n: not shown
  // The keys of codes of other formats (verifier/formats/published.py); a malformed member is
  // a TrustListError of its own.
  const foreign = await loadForeign(doc.has("foreign") ? plainJson(doc.get("foreign")) : undefined);
  return new TrustList({
    keys, names: issuerMap, issuerNames, foreign, sequence: intField(doc, "seq"),
    issuedAt: intField(doc, "iat"), expiresAt: intField(doc, "exp"), anchor: b64url(designated),
  });
}

async function checkSignature(jws) {
  let signer;
  try {
    signer = await jwkToKey(jws.header.get("jwk"));
  } catch (error) {
    if (error instanceof KeyFormatError) fail("trust_list_bad_signature");
    throw error;
  }
  if (jws.header.get("alg") !== signer.alg) fail("trust_list_bad_signature");
  if (!await verifySignature(signer.key, signer.alg, jws.signingInput, jws.signature)) {
    fail("trust_list_bad_signature");
  }
  return [b64url(signer.thumbprint), signer.members];
}

/**
 * Verify and parse a trust list (the JWS text or bytes) against `pin` (base64url thumbprint).
 * Resolves to {trust, pin}: `pin` is the anchor to keep from now on (after a roll-over, the
 * new one). Rejects with TrustListError: trust_list_malformed, trust_list_bad_signature,
 * trust_list_expired (unless allowExpired).
 */
export async function loadTrustList(jwsText, pin, now, { allowExpired = false } = {}) {
  let signatures;
  try {
    signatures = decodeJwsAll(jwsText);
  } catch (error) {
    if (error instanceof JwsFormatError) fail("trust_list_malformed");
    throw error;
  }
  const signers = new Map();
  for (const jws of signatures) {
    const [print, members] = await checkSignature(jws);
    signers.set(print, members);
  }
  if (!signers.has(pin)) fail("trust_list_bad_signature");
  const payload = signatures[0].payload;
  let trust;
  try {
    trust = await parsePayload(payload, b64urlDecode(pin));
  } catch (error) {
    if (error instanceof KeyFormatError || error instanceof DecodeError) fail("trust_list_malformed");
    throw error;
  }
  if (!signers.has(trust.anchor)) fail("trust_list_bad_signature");
  trust.digest = hex(await sha256(payload));
  trust.anchorJwk = signers.get(trust.anchor);
  trust.rolledOverFrom = trust.anchor !== pin ? pin : null;
  trust.raw = jwsText;
  if (!allowExpired) checkCurrent(trust, now);
  return { trust, pin: trust.anchor };
}

/** TrustListError("trust_list_expired") if `now` is past the list's expiry. */
export function checkCurrent(trust, now) {
  if (now > trust.expiresAt) fail("trust_list_expired", { expires_at: trust.expiresAt, now });
}

/** TrustListError("trust_list_rollback") unless `candidate` may replace `current`. */
export function checkTrustSuccessor(current, candidate) {
  if (current === null || current === undefined) return;
  const context = { have: current.sequence, got: candidate.sequence };
  if (candidate.sequence < current.sequence) fail("trust_list_rollback", context);
  if (candidate.sequence == current.sequence && candidate.digest !== current.digest) { // eslint-disable-line eqeqeq
    fail("trust_list_rollback", context);
  }
}
