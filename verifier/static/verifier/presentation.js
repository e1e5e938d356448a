/**
 * Holder presentations (HCP1) as verifier/presentation.py reads them: a COSE_Sign1 whose
 * payload is the credential's COSE bytes and whose protected header is {1: -7 (ES256),
 * 15: {6: time}}, signed by the phone key in the credential's cnf claim.
 */

import { decodeSign1, loadsStrict, sigStructure } from "./cose.js";
import { reject } from "./errors.js";
import { compressedP256 } from "./keys.js";
import { isInt } from "./decode.js";

const isDict = (v) => v instanceof Map;

/** How old a presentation may be by default, and how far ahead of the clock (seconds). */
export const PRESENTATION_WINDOW = 60;
export const PRESENTATION_FUTURE_SKEW = 30;

/**
 * {presentedAt, credential (COSE bytes), message, signature} of a presentation's COSE bytes,
 * nothing verified. Throws VerificationError: malformed, unsupported_algorithm (not ES256).
 */
export function decodePresentation(bytes) {
  const sign1 = decodeSign1(bytes);
  const header = loadsStrict(sign1.protected);
  if (!isDict(header)) reject("malformed");
  const alg = header.get(1n);
  if (!isInt(alg)) reject("malformed");
  if (alg !== -7n) reject("unsupported_algorithm");
  const claims = header.get(15n);
  const at = isDict(claims) ? claims.get(6n) : undefined;
  if (!isInt(at) || at < 0n || at >= 2n ** 32n) reject("malformed");
  return {
    presentedAt: Number(at), credential: sign1.payload,
    message: sigStructure(sign1.protected, sign1.payload), signature: sign1.signature,
  };
}

/**
 * The holder's P-256 public key (a CryptoKey) from a cnf claim
 * {1: {1: 2, -1: 1, -2: x (32 bytes), -3: sign of y (bool)}}; invalid_claims otherwise.
 */
export async function holderKey(cnf) {
  const key = isDict(cnf) ? cnf.get(1n) : undefined;
  if (!isDict(key)) reject("invalid_claims");
  const x = key.get(-2n);
  const y = key.get(-3n);
  const kty = key.get(1n);
  const crv = key.get(-1n);
  if (kty !== 2n || crv !== 1n
      || !(x instanceof Uint8Array) || x.length !== 32 || typeof y !== "boolean") {
    reject("invalid_claims");
  }
  const cryptoKey = await compressedP256(x, y);
  if (cryptoKey === null) reject("invalid_claims");
  return cryptoKey;
}
