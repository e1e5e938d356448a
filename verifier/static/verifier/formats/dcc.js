/**
 * The EU Digital COVID Certificate (`HC1:`) read and verified offline in the browser, the twin
 * of verifier/formats/dcc.py: the same stages in the same order, each refusal naming its stage
 * in `context.step` with Python's reason.
 *
 * - `prefix`: `HC1:`, at most MAX_TEXT_LENGTH characters;
 * - `base45`, then `decompress`: zlib, read chunk by chunk and dropped once it inflates past
 *   the bound (MAX_DECOMPRESSED bytes);
 * - `decode`: a COSE_Sign1, tagged 18, untagged, or the CWT tag 61 (written d8 3d) around tag
 *   18; `alg` and `kid` from the protected header, else from the unprotected one;
 * - `signature`: every signer of that kid whose key fits the algorithm (ES256: P-256; PS256:
 *   RSA, salt of 32 bytes);
 * - `claims` (dccclaims.js), `key_usage`, `expiry`, `issued_at`, `key_validity` (CLOCK_SKEW on
 *   the certificate's own times), `content` (a test: negative, sampled in the past).
 */

import * as base45 from "../base45.js";
import { sigStructure } from "../cose.js";
import { Tagged } from "../decode.js";
import { concat, verifySignature } from "../keys.js";
import { inflateAtMost } from "./inflate.js";
import { pyLen } from "../text.js";
import { POSITIVE, fail, loads, readClaims } from "./dccclaims.js";
import { b64encode, loadKeys as loadDcc } from "./dcckeys.js";

export const PREFIXES = ["HC1:"];
/** The most alphanumeric characters a QR code holds (version 40, ECC L). */
export const MAX_TEXT_LENGTH = 4296;
/** Most bytes the zlib stream may inflate to. */
export const MAX_DECOMPRESSED = 64 << 10;
export const CLOCK_SKEW = 300;
const CRIT = 2n;
const ALG = 1n;
const KID = 4n;
const COSE_SIGN1_TAG = 18;
const ALGS = new Map([[-7n, "ES256"], [-37n, "PS256"]]); // i18n: not shown
const PSS = Object.freeze({ name: "RSA-PSS", saltLength: 32 }); // i18n: not shown
/** Compressed bytes handed to the inflater at a time: each inflates to at most ~1 KiB a byte. */
const SLICE = 64;

/** The keys a trust list's `dcc` member holds (dcckeys.js); TrustListError if malformed. */
export const loadKeys = loadDcc;

/** zlib `compressed` inflated, or `malformed` at `decompress`: cut short, followed by more
 * bytes, invalid, or inflating to more than MAX_DECOMPRESSED bytes (read no further). */
async function inflate(compressed) {
  const data = await inflateAtMost(compressed, "deflate", MAX_DECOMPRESSED, SLICE); // i18n: not shown
  return data === null ? fail("malformed", "decompress") : data;
}

/** A text read to its COSE_Sign1 (`prefix` to `decode`), nothing signed checked:
 * {protected, payload, signature, alg (bigint | null), kid (bytes | null)}. */
export async function openEnvelope(text) {
  if (typeof text !== "string" || !text.startsWith(PREFIXES[0])) fail("malformed", "prefix");
  if (pyLen(text) > MAX_TEXT_LENGTH) fail("malformed", "prefix");
  let compressed;
  try {
    compressed = base45.decode(text.slice(PREFIXES[0].length));
  } catch (error) {
    if (error instanceof base45.Base45Error) fail("malformed", "base45");
    throw error;
  }
  const data = await inflate(compressed);
  const wrapped = data[0] === 0xd8 && data[1] === 0x3d;
  let item = loads(wrapped ? data.subarray(2) : data, "decode", { tag: COSE_SIGN1_TAG });
  if (item instanceof Tagged) item = item.value;
  else if (wrapped) fail("malformed", "decode");
  if (!(Array.isArray(item) && item.length === 4 && item[0] instanceof Uint8Array
        && item[1] instanceof Map && item[2] instanceof Uint8Array
        && item[3] instanceof Uint8Array)) fail("malformed", "decode");
  const [protectedBytes, unprotected, payload, signature] = item;
  const header = protectedBytes.length ? loads(protectedBytes, "decode") : new Map();
  if (!(header instanceof Map) || header.has(CRIT)) fail("malformed", "decode");
  const pick = (label) => (header.has(label) ? header.get(label) : unprotected.get(label) ?? null);
  const alg = pick(ALG);
  const kid = pick(KID);
  if (!(alg === null || typeof alg === "bigint") || !(kid === null || kid instanceof Uint8Array)) {
    fail("malformed", "decode");
  }
  return { protected: protectedBytes, payload, signature, alg, kid };
}

function fits(alg, dsc) {
  return alg === "ES256" ? dsc.curve === "P-256" : dsc.curve === null;
}

async function holds(alg, dsc, message, signature) {
  if (alg === "ES256") return verifySignature(dsc.key, "ES256", message, signature);
  if (dsc.key === null || signature.length > dsc.bytes) return false;
  // OpenSSL (Python's cryptography) reads a signature short of the modulus as its value.
  const full = concat(new Uint8Array(dsc.bytes - signature.length), signature);
  try {
    return await crypto.subtle.verify(PSS, dsc.key, full, message);
  } catch {
    return false;
  }
}

/** The signer whose key signed `envelope` (step `signature`): unsupported_algorithm,
 * unknown_key, bad_signature. */
export async function findSigner(envelope, keys) {
  const alg = ALGS.get(envelope.alg);
  if (alg === undefined) fail("unsupported_algorithm", "signature");
  const kid = envelope.kid !== null && envelope.kid.length ? b64encode(envelope.kid) : null;
  const candidates = (keys && kid !== null && keys.byKid.get(kid)) || [];
  if (!candidates.length) fail("unknown_key", "signature", { kid });
  const fitting = candidates.filter((dsc) => fits(alg, dsc));
  if (!fitting.length) fail("unsupported_algorithm", "signature", { kid });
  const message = sigStructure(envelope.protected, envelope.payload);
  for (const dsc of fitting) {
    if (await holds(alg, dsc, message, envelope.signature)) return dsc;
  }
  return fail("bad_signature", "signature", { kid });
}

function checkKeyUsage(claims, dsc) {
  if (dsc.types.size && !dsc.types.has(claims.kind)) fail("key_not_valid", "key_usage", { kid: dsc.kid });
  if (claims.country && dsc.country && claims.country !== dsc.country) {
    fail("key_not_valid", "key_usage", { kid: dsc.kid });
  }
}

function checkTimes(claims, dsc, now) {
  const context = { kid: dsc.kid, exp: claims.exp, now };
  if (now > claims.exp + CLOCK_SKEW) fail("expired", "expiry", context);
  if (claims.iat > now + CLOCK_SKEW) fail("not_yet_valid", "issued_at", context);
  if (!(dsc.notBefore <= now && now <= dsc.notAfter)) fail("key_not_valid", "key_validity", context);
}

function checkContent(claims, now) {
  if (claims.kind !== "test") return;
  if (claims.entry.get("tr") === POSITIVE) fail("invalid_claims", "content");
  if (claims.sampledAt !== null && claims.sampledAt > now + CLOCK_SKEW) fail("invalid_claims", "content");
}

/**
 * Verify an `HC1:` text at `now` (epoch seconds) with the keys of loadKeys (null: none held).
 * Resolves to Python's ForeignCode.as_dict(); rejects with a VerificationError whose context
 * names the format (`dcc`) and the step that refused it.
 */
export async function verify(text, keys, now) {
  const envelope = await openEnvelope(text);
  const dsc = await findSigner(envelope, keys);
  const claims = readClaims(envelope.payload);
  checkKeyUsage(claims, dsc);
  checkTimes(claims, dsc, now);
  checkContent(claims, now);
  const country = claims.country || dsc.country;
  return {
    format: "dcc", issuer: country || claims.iss || "", country, kind: claims.kind, // i18n: not shown
    holder: claims.holder, issued_at: claims.iat, not_before: null, expires_at: claims.exp,
    kid: dsc.kid, alg: ALGS.get(envelope.alg), shows: claims.shows,
  };
}
