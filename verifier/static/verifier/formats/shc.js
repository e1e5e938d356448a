/**
 * SMART Health Cards (`shc:/`) in the browser, the twin of verifier/formats/shc.py: the same
 * checks in the same order, the same reason and step for each refusal, the same code shown.
 *
 * A card's QR text is `shc:/` and digits, each pair a character of a compact JWS (pair + 45);
 * a card in several QR codes (`shc:/2/3/...`) is put together by joinChunks first. The JWS
 * header is {"zip": "DEF", "alg": "ES256", "kid": the key's RFC 7638 thumbprint}; its payload
 * raw DEFLATE (read through DecompressionStream, stopped past 64 KiB) of a JSON object with
 * iss, nbf, exp? and vc (type, credentialSubject.fhirBundle, rid?). verify checks, in order:
 * the text, the header, the payload's size and JSON, the key (issuer by iss, key by kid), the
 * signature, the claims, exp, nbf, and the issuer's revocation list (vc.rid).
 */

import { VerificationError } from "../errors.js";
import { DecodeError, Float, loadsJson } from "../decode.js";
import { KeyFormatError, b64url, b64urlDecode, verifySignature } from "../keys.js";
import { pyLen } from "../text.js";
import { RID, loadKeys } from "./shckeys.js";
import { result } from "./shcshow.js";
import { inflateAtMost } from "./inflate.js";

export { loadKeys };
export const PREFIXES = ["shc:/"]; // i18n: not shown
/** The vc.type every SMART Health Card carries. */
export const HEALTH_CARD = "https://smarthealth.cards#health-card"; // i18n: not shown
/** Longest JWS in one chunk of a card split over several QR codes; most chunks joined. */
export const CHUNK_CHARS = 1191;
export const MAX_CHUNKS = 20;
export const MAX_JWS_CHARS = MAX_CHUNKS * CHUNK_CHARS;
export const MAX_TEXT_LENGTH = PREFIXES[0].length + 2 * MAX_JWS_CHARS;
/** Largest payload once inflated: a bound on what a hostile card can make us allocate. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** Allowed difference between the issuer's clock and the checkpoint's, in seconds. */
export const CLOCK_SKEW = 300;

const SINGLE = /^shc:\/([0-9]+)$/;
const CHUNK = /^shc:\/([1-9][0-9]{0,2})\/([1-9][0-9]{0,2})\/([0-9]+)$/;
const PAIR_MAX = "z".charCodeAt(0) - 45; // the largest pair a JWS character gives
const INFLATE_SLICE = 256; // raw bytes fed at a time: at most ~260 KB of output each
const ASCII = new TextEncoder();

function fail(reason, step, context = {}) {
  throw new VerificationError(reason, { format: "shc", step, ...context }); // i18n: not shown
}

const tooLong = (text, most) => text.length > most && pyLen(text) > most;

/** [index, total] of a chunk's text (`shc:/2/3/...` -> [2, 3]), or null. */
export function chunkPosition(text) {
  const match = typeof text === "string" ? CHUNK.exec(text) : null;
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** One card's text from the texts of its chunks, in any order (a complete text alone is returned
 * as it is). Throws VerificationError (malformed, step chunks) as Python's join_chunks. */
export function joinChunks(texts) {
  if (!Array.isArray(texts) || texts.length < 1 || texts.length > MAX_CHUNKS
      || !texts.every((t) => typeof t === "string" && !tooLong(t, MAX_TEXT_LENGTH))) {
    fail("malformed", "chunks");
  }
  if (texts.length === 1 && SINGLE.test(texts[0])) return texts[0];
  const parts = new Map();
  for (const text of texts) {
    const match = CHUNK.exec(text);
    if (match === null) fail("malformed", "chunks");
    const [index, total, digits] = [Number(match[1]), Number(match[2]), match[3]];
    if (total !== texts.length || index > total) fail("malformed", "chunks");
    if (parts.has(index)) fail("malformed", "chunks");
    if (digits.length > 2 * CHUNK_CHARS || digits.length % 2) fail("malformed", "chunks");
    parts.set(index, digits);
  }
  return PREFIXES[0] + [...parts.keys()].sort((a, b) => a - b).map((i) => parts.get(i)).join("");
}

/** The compact JWS a card's complete text carries (only the encoding checked). Throws
 * VerificationError (malformed, step decode). */
export function jwsOf(text) {
  if (typeof text !== "string" || tooLong(text, MAX_TEXT_LENGTH)) fail("malformed", "decode");
  let digits = SINGLE.exec(text)?.[1];
  if (digits === undefined) {
    const chunk = CHUNK.exec(text);
    if (chunk === null || chunk[1] !== "1" || chunk[2] !== "1") fail("malformed", "decode");
    [, , , digits] = chunk; // "1 of 1": a header the specification does not ask for, harmless
  }
  if (digits.length % 2) fail("malformed", "decode");
  let jws = "";
  for (let i = 0; i < digits.length; i += 2) {
    const pair = Number(digits.slice(i, i + 2));
    if (pair > PAIR_MAX) fail("malformed", "decode");
    jws += String.fromCharCode(pair + 45);
  }
  return jws;
}

/** Raw DEFLATE `raw` inflated, or `malformed` at `payload`: not raw DEFLATE, cut short,
 * followed by bytes, or more than MAX_PAYLOAD_BYTES out (read no further). */
async function inflate(raw) {
  const data = await inflateAtMost(raw, "deflate-raw", MAX_PAYLOAD_BYTES, INFLATE_SLICE); // i18n: not shown
  return data === null ? fail("malformed", "payload") : data;
}

function jsonObject(data, step) {
  let value;
  try {
    value = loadsJson(data);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    return fail("malformed", step);
  }
  if (!(value instanceof Map)) fail("malformed", step);
  return value;
}

/** {kid, signingInput, signature, payload (Map)} of a card's JWS, unverified. */
async function decode(jws) {
  if (typeof jws !== "string" || tooLong(jws, MAX_JWS_CHARS)) fail("malformed", "decode");
  const parts = jws.split(".");
  if (parts.length !== 3) fail("malformed", "jws");
  let decoded;
  try {
    decoded = parts.map(b64urlDecode);
  } catch (error) {
    if (!(error instanceof KeyFormatError)) throw error;
    return fail("malformed", "jws");
  }
  if (decoded.some((bytes, i) => b64url(bytes) !== parts[i])) fail("malformed", "jws");
  const [headerBytes, raw, signature] = decoded;
  const header = jsonObject(headerBytes, "header");
  if (!header.has("alg")) fail("malformed", "header");
  if (header.get("alg") !== "ES256") fail("unsupported_algorithm", "header");
  if (header.get("zip") !== "DEF") fail("malformed", "header");
  if (header.has("crit")) fail("malformed", "header");
  const kid = header.get("kid");
  if (typeof kid !== "string" || kid.length < 1 || pyLen(kid) > 100) fail("malformed", "header");
  const payload = jsonObject(await inflate(raw), "payload");
  return { kid, signingInput: ASCII.encode(`${parts[0]}.${parts[1]}`), signature, payload };
}

/** Python's _time: an int or a finite float, as a number. */
function time(value) {
  if (typeof value === "number") return value;
  if (value instanceof Float && Number.isFinite(value.value)) return value.value;
  return fail("invalid_claims", "claims");
}

const get = (d, name) => (d instanceof Map ? d.get(name) : undefined);

function claims(payload, iss) {
  const nbf = time(payload.get("nbf"));
  const exp = payload.has("exp") ? time(payload.get("exp")) : null;
  if (exp !== null && exp <= nbf) fail("invalid_claims", "claims");
  const vc = payload.get("vc");
  const types = get(vc, "type");
  if (!Array.isArray(types) || !types.includes(HEALTH_CARD)
      || !types.every((t) => typeof t === "string")) fail("invalid_claims", "claims");
  const bundle = get(vc.get("credentialSubject"), "fhirBundle");
  if (!(bundle instanceof Map) || bundle.get("resourceType") !== "Bundle") fail("invalid_claims", "claims");
  const entries = bundle.get("entry");
  if (!Array.isArray(entries) || !entries.every((e) => e instanceof Map
      && e.get("resource") instanceof Map
      && typeof e.get("resource").get("resourceType") === "string")) fail("invalid_claims", "claims");
  const rid = vc.get("rid");
  if (vc.has("rid") && !(typeof rid === "string" && RID.test(rid))) fail("invalid_claims", "claims");
  return { iss, nbf, exp, rid: vc.has("rid") ? rid : null, types, bundle };
}

/** The key of issuer `iss` named `kid`; throws VerificationError (unknown_key, step key). */
function keyOf(keys, iss, kid) {
  const issuer = keys.issuers.get(iss);
  const key = issuer?.keys.get(kid);
  if (key === undefined) fail("unknown_key", "key", { kid });
  return [issuer, key];
}

/** Verify a card's compact JWS at `now` (epoch seconds); see verify. */
export async function verifyJws(jws, keys, now) {
  const { kid, signingInput, signature, payload } = await decode(jws);
  const iss = payload.get("iss");
  if (typeof iss !== "string") fail("invalid_claims", "claims", { kid });
  if (keys === null || keys === undefined) fail("unknown_key", "key", { kid });
  const [issuer, key] = keyOf(keys, iss, kid);
  if (!(await verifySignature(key.key, "ES256", signingInput, signature))) { // i18n: not shown
    fail("bad_signature", "signature", { kid, iss });
  }
  const card = claims(payload, iss);
  const context = { kid, iss, now };
  if (card.exp !== null && now > card.exp + CLOCK_SKEW) fail("expired", "expiry", { exp: card.exp, ...context });
  if (card.nbf > now + CLOCK_SKEW) fail("not_yet_valid", "not_before", context);
  const crl = issuer.crls.get(kid);
  if (crl !== undefined && card.rid !== null && crl.rids.has(card.rid)) {
    const before = crl.rids.get(card.rid);
    if (before === null || card.nbf < before) fail("revoked", "revocation", context);
  }
  const listed = crl !== undefined ? "checked" : key.crlVersion !== null ? "not held" : "none published"; // i18n: not shown
  return result(card, key, listed);
}

/**
 * Verify a card's complete QR text (one QR, or chunks joined by joinChunks) at `now` (epoch
 * seconds) against the issuers of loadKeys (null: none held), and return the code as Python's
 * ForeignCode.as_dict() has it. Throws VerificationError with Python's reason and step.
 */
export async function verify(text, keys, now) {
  return verifyJws(jwsOf(text), keys, now);
}
