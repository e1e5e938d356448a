/**
 * Verify a code's text offline, in the order of verifier/verify.py (docs/FORMAT.md): the
 * text, the COSE envelope, the key from the trust list (never the code's word for it), the
 * signature, then the claims, the times and the key's window; for a live code (HCP1) the
 * issuer's credential first, then the phone's signature and the presentation's age; the
 * revocation lists last. Refusals are VerificationError with Python's reason.
 */

import * as base45 from "./base45.js";
import { kidText, parseClaims } from "./claims.js";
import { decodeProtected, decodeSign1, sigStructure } from "./cose.js";
import { VerificationError, reject } from "./errors.js";
import { hex, verifySignature } from "./keys.js";
import {
  PRESENTATION_FUTURE_SKEW, PRESENTATION_WINDOW, decodePresentation, holderKey,
} from "./presentation.js";
import { pyLen } from "./text.js";
import { checkCurrent } from "./trust.js";

export const CREDENTIAL_PREFIX = "HCC1:"; // i18n: not shown
export const PRESENTATION_PREFIX = "HCP1:"; // i18n: not shown
export const CLOCK_SKEW = 300;
export const MAX_TEXT_LENGTH = 2048;
const ALGS = new Map([[-7n, "ES256"], [-8n, "EdDSA"]]);

/** The COSE bytes of a code's text (prefix, then Base45, at most 2048 characters). */
export function decodeText(text, prefix = CREDENTIAL_PREFIX) {
  if (typeof text !== "string") reject("malformed");
  if (text.length > MAX_TEXT_LENGTH && pyLen(text) > MAX_TEXT_LENGTH) reject("malformed");
  if (!text.startsWith(prefix)) reject("malformed");
  try {
    return base45.decode(text.slice(prefix.length));
  } catch (error) {
    if (error instanceof base45.Base45Error) reject("malformed");
    throw error;
  }
}

function knownAlg(alg, kid) {
  const name = ALGS.get(alg);
  if (name === undefined) reject("unsupported_algorithm", { kid: kidText(kid) });
  return name;
}

/** A code's content WITHOUT checking signature, key or time (HCC1 only, as Python's
 * decode_unverified). Never trust it. Throws VerificationError (malformed, invalid_claims,
 * unsupported_algorithm). */
export function decodeUnverified(text) {
  const sign1 = decodeSign1(decodeText(text));
  const [alg, kid] = decodeProtected(sign1.protected);
  return parseClaims(sign1.payload, kid, knownAlg(alg, kid));
}

/** What makes two scans "the same code": a live code's inner credential (hex), else the text. */
export function codeIdentity(text) {
  if (typeof text === "string" && text.startsWith(PRESENTATION_PREFIX)) {
    try {
      return hex(decodePresentation(decodeText(text, PRESENTATION_PREFIX)).credential);
    } catch (error) {
      if (!(error instanceof VerificationError)) throw error;
    }
  }
  return text;
}

function refuse(reason, cred, now, extra = {}) {
  reject(reason, { kid: cred.kid, exp: cred.exp, now, ...extra });
}

function accept(cred, key, now, bound) {
  if (cred.iss !== key.iss) refuse("key_not_valid", cred, now);
  if (now > cred.exp + CLOCK_SKEW) refuse("expired", cred, now);
  if (cred.iat > now + CLOCK_SKEW) refuse("not_yet_valid", cred, now);
  if (!(key.notBefore <= cred.iat && cred.iat <= key.notAfter)) refuse("key_not_valid", cred, now);
  if (cred.cnf !== null && !bound) refuse("holder_proof_missing", cred, now);
  return cred;
}

async function verifyData(data, trust, now, bound) {
  const sign1 = decodeSign1(data);
  const [algId, kid] = decodeProtected(sign1.protected);
  const alg = knownAlg(algId, kid);
  const key = trust.key(kid);
  if (alg !== key.alg) reject("unsupported_algorithm", { kid: kidText(kid) });
  if (!await verifySignature(key.key, key.alg, sigStructure(sign1.protected, sign1.payload), sign1.signature)) {
    reject("bad_signature", { kid: kidText(kid) });
  }
  return accept(parseClaims(sign1.payload, kid, alg), key, now, bound);
}

async function verifyPresentation(text, trust, now, window) {
  const presentation = decodePresentation(decodeText(text, PRESENTATION_PREFIX));
  const credential = await verifyData(presentation.credential, trust, now, true);
  if (credential.cnf === null) refuse("bad_holder_signature", credential, now);
  const key = await holderKey(credential.cnf);
  if (!await verifySignature(key, "ES256", presentation.message, presentation.signature)) {
    refuse("bad_holder_signature", credential, now);
  }
  const age = now - presentation.presentedAt;
  if (age > window || -age > PRESENTATION_FUTURE_SKEW) {
    refuse("stale_presentation", credential, now, { presented_at: presentation.presentedAt });
  }
  return { ...credential, presentedAt: presentation.presentedAt, static: false };
}

function listOf(revocations, iss) {
  if (revocations instanceof Map) return revocations.get(iss);
  return (revocations ?? []).find((list) => list.iss === iss);
}

/**
 * Verify a code's text (HCC1 credential or HCP1 live presentation) at `now` (epoch seconds)
 * against `trust` and the issuers' revocation lists (an array, or a Map by iss). Resolves to
 * the Credential; rejects with VerificationError (the reason of verifier.verify), or
 * TrustListError("trust_list_expired") when the trust list has expired.
 */
export async function verify(text, trust, now, revocations = [], { window = PRESENTATION_WINDOW } = {}) {
  const at = Math.trunc(now);
  if (at > trust.expiresAt) checkCurrent(trust, at);
  const credential = typeof text === "string" && text.startsWith(PRESENTATION_PREFIX)
    ? await verifyPresentation(text, trust, at, window)
    : await verifyData(decodeText(text), trust, at, false);
  const list = listOf(revocations, credential.iss);
  if (list !== undefined && await list.isRevoked(credential.cti)) refuse("revoked", credential, at);
  return credential;
}
