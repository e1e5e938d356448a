/**
 * The EU certificate's document signers as our signed trust list carries them (its `foreign`
 * member's `dcc`: verifier/formats/published.py), read as `from_published` reads them: a list
 * of at most MAX_DCC entries {kid: base64 of 8 bytes, country: "DE" | null, spki: base64 DER
 * SubjectPublicKeyInfo (EC P-256, P-384, P-521, or RSA of at least 2048 bits), nbf, exp: epoch
 * seconds, nbf < exp, types: a list of "test", "vaccination", "recovery"}. Anything else
 * refuses the whole trust list (TrustListError, `trust_list_malformed`). Each key is imported
 * once with WebCrypto. Several signers may share a kid (each is tried, in the list's order); an
 * entry listed twice, identical in every field, is kept once, as Python's DccKeys does.
 */

import { TrustListError } from "../errors.js";

export const MAX_DCC = 20_000;
export const KID_LENGTH = 8;
const TIME_LIMIT = 2 ** 40;
const MIN_RSA_BITS = 2048;
const TYPES = new Set(["test", "vaccination", "recovery"]);
const COUNTRY = /^[A-Z]{2}$/;
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; // i18n: not shown
/** base64.b64decode(text, validate=True) (Python 3.11: strict mode): whole quads, padded. */
const STRICT_B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// DER of the algorithm identifiers' object identifiers (the SPKI's first bytes tell the key).
const EC_OID = [0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const RSA_OID = [0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const CURVES = [
  ["P-256", [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]],
  ["P-384", [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]],
  ["P-521", [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23]],
];

function refuse(detail) {
  throw new TrustListError("trust_list_malformed", { detail: `foreign keys: ${detail}` }); // i18n: not shown
}

/** Base64 text of `bytes` (with padding), as the national lists write a kid. */
export function b64encode(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const quad = [n >> 18, (n >> 12) & 63, (n >> 6) & 63, n & 63].map((v) => B64[v]).join("");
    out += quad.slice(0, bytes.length - i + 1) + "=".repeat(Math.max(0, i + 3 - bytes.length));
  }
  return out;
}

/** `text` decoded as Python's base64.b64decode(text, validate=True) decodes it, as a binary
 * string (one character a byte), or null. atob reads what the strict pattern lets through as
 * Python does (the unused bits of the last character ignored) and is native: a list of 3,000
 * signers is ~1 MB of base64. */
function binaryOf(text) {
  return typeof text === "string" && STRICT_B64.test(text) ? atob(text) : null;
}

const bytesOf = (binary) => {
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
};

/** The bytes of `text` as Python's base64.b64decode(text, validate=True), or null. */
export function b64decode(text) {
  const binary = binaryOf(text);
  return binary === null ? null : bytesOf(binary);
}

const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
const member = (obj, key) => (Object.hasOwn(obj, key) ? obj[key] : undefined);
const startsWith = (bytes, at, prefix) => prefix.every((b, i) => bytes[at + i] === b);

// The length of the DER header at `at` (tag and length), or 0 if it is not one.
function headerLength(der, at) {
  const first = der[at + 1];
  if (first === undefined) return 0;
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

/** The WebCrypto algorithm the SPKI `der` names (by its identifier), or null. */
function algorithmOf(der) {
  if (der[0] !== 0x30) return null;
  const inner = headerLength(der, 0);
  if (der[inner] !== 0x30) return null;
  const oid = inner + headerLength(der, inner);
  if (startsWith(der, oid, RSA_OID)) return { name: "RSA-PSS", hash: "SHA-256" }; // i18n: not shown
  if (!startsWith(der, oid, EC_OID)) return null;
  const curve = CURVES.find(([, bytes]) => startsWith(der, oid + EC_OID.length, bytes));
  return curve ? { name: "ECDSA", namedCurve: curve[0] } : null; // i18n: not shown
}

// [tag, start of the value, its end] of the DER item at `at`, or null.
function tlv(der, at) {
  let length = der[at + 1];
  let p = at + 2;
  if (length === undefined) return null;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count < 1 || count > 3) return null;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[p++] ?? NaN);
  }
  return p + length <= der.length ? [der[at], p, p + length] : null;
}

// An RSA SubjectPublicKeyInfo's algorithm identifier, its key and modulus (bytes), or null.
function rsaParts(der) {
  const outer = tlv(der, 0);
  const alg = outer && tlv(der, outer[1]);
  const bits = alg && tlv(der, alg[2]);
  if (!bits || outer[0] !== 0x30 || outer[2] !== der.length || alg[0] !== 0x30
      || bits[0] !== 0x03 || bits[2] !== outer[2] || der[bits[1]] !== 0) return null;
  const key = der.subarray(bits[1] + 1, bits[2]);
  const seq = tlv(key, 0);
  const n = seq && tlv(key, seq[1]);
  const e = n && tlv(key, n[2]);
  if (!e || seq[0] !== 0x30 || seq[2] !== key.length || n[0] !== 2 || e[0] !== 2
      || e[2] !== key.length) return null;
  return { algorithm: der.subarray(alg[1], alg[2]), key, n: key.subarray(n[1], n[2]),
    e: key.subarray(e[1], e[2]) };
}

const spki = (algorithm, key) => {
  const wrap = (tag, body) => {
    const size = body.length;
    const head = size < 128 ? [size] : size < 256 ? [0x81, size] : [0x82, size >> 8, size & 0xff];
    return Uint8Array.of(tag, ...head, ...body);
  };
  return wrap(0x30, [...wrap(0x30, algorithm), ...wrap(0x03, [0, ...key])]);
};

async function tryImport(der, algorithm) {
  try {
    return await crypto.subtle.importKey("spki", der, algorithm, false, ["verify"]); // i18n: not shown
  } catch {
    return null;
  }
}

// An unsigned big-endian integer without its leading zero bytes; two compared by value.
// (Bytes, not BigInt: a 2048-bit BigInt made from the key costs more than importing the key.)
function magnitude(bytes) {
  const first = bytes.findIndex((b) => b !== 0);
  return bytes.subarray(first < 0 ? bytes.length : first);
}
function compare(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  const at = a.findIndex((byte, i) => byte !== b[i]);
  return at < 0 ? 0 : a[at] - b[at];
}
const THREE = Uint8Array.of(3);
const bitLength = (m) => (m.length ? (m.length - 1) * 8 + m[0].toString(2).length : 0);

// An RSA key as cryptography reads it (a positive modulus, 3 <= e < n, e odd): imported as it
// is, or with the NULL parameters Python does not require; one WebCrypto refuses (an even
// modulus, an exponent over 33 bits) is kept without a key: it verifies nothing.
async function importRsa(der, algorithm) {
  const parts = rsaParts(der);
  if (parts === null || parts.n[0] & 0x80 || parts.e[0] & 0x80) return null;
  const n = magnitude(parts.n);
  const e = magnitude(parts.e);
  if (compare(e, THREE) < 0 || compare(e, n) >= 0 || e[e.length - 1] % 2 === 0) return null;
  const key = await tryImport(der, algorithm)
    ?? (parts.algorithm.length === RSA_OID.length
      ? await tryImport(spki([...RSA_OID, 0x05, 0x00], parts.key), algorithm) : null);
  return { key, bits: bitLength(n) };
}

async function importKey(der) {
  const algorithm = algorithmOf(der);
  if (algorithm === null) return null;
  if (algorithm.name === "ECDSA") {
    const key = await tryImport(der, algorithm);
    return key && { key, curve: algorithm.namedCurve, bytes: 0 };
  }
  const rsa = await importRsa(der, algorithm);
  return rsa && rsa.bits >= MIN_RSA_BITS ? { key: rsa.key, curve: null, bytes: Math.ceil(rsa.bits / 8) } : null;
}

function time(value) {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= TIME_LIMIT) {
    refuse("dcc nbf or exp is not epoch seconds");
  }
  return value;
}

// Everything but the key of one entry (published._dsc_in), checked.
function entryFields(entry) {
  if (!isObject(entry)) refuse("a dcc entry is not an object");
  const kid = b64decode(Object.hasOwn(entry, "kid") ? entry.kid : "");
  const spkiBinary = binaryOf(Object.hasOwn(entry, "spki") ? entry.spki : "");
  if (kid === null || spkiBinary === null) refuse("a dcc entry's kid or spki is not base64");
  if (kid.length !== KID_LENGTH) refuse(`a dcc kid is not ${KID_LENGTH} bytes`);
  const country = member(entry, "country") ?? null;
  if (country !== null && !(typeof country === "string" && COUNTRY.test(country))) {
    refuse("a dcc country is not ISO 3166-1 alpha-2");
  }
  const types = member(entry, "types");
  if (!Array.isArray(types) || !types.every((t) => typeof t === "string" && TYPES.has(t))) {
    refuse("dcc types are not a list of test, vaccination, recovery");
  }
  const notBefore = time(member(entry, "nbf"));
  const notAfter = time(member(entry, "exp"));
  if (!(notBefore < notAfter)) refuse("a dcc key's validity window is empty");
  return { kid: b64encode(kid), country, spki: bytesOf(spkiBinary), spkiBinary, notBefore,
    notAfter, types: new Set(types) };
}

/**
 * The document signers of a trust list's `dcc` member: {byKid: Map(kid base64 -> [signer])},
 * each signer {kid, country, key, curve ("P-256"... | null: RSA), bytes (an RSA key's modulus
 * length), notBefore, notAfter, types (Set; empty: any kind)}. Throws TrustListError.
 */
export async function loadKeys(list) {
  if (!Array.isArray(list) || list.length > MAX_DCC) refuse(`dcc is not a list of at most ${MAX_DCC}`);
  const fields = list.map(entryFields);
  const keys = await Promise.all(fields.map((f) => importKey(f.spki)));
  const byKid = new Map();
  const seen = new Set();
  fields.forEach(({ spki, spkiBinary, ...dsc }, i) => {
    if (keys[i] === null) refuse("a dcc key is neither EC (P-256, P-384, P-521) nor RSA of 2048 bits");
    // Every field but the key is free of spaces, the key's bytes come last: one text per
    // signer, made without escaping them (JSON.stringify of the bytes cost a third of a load).
    const identity = [dsc.kid, dsc.notBefore, dsc.notAfter, [...dsc.types].sort().join(","),
      dsc.country ?? "", spkiBinary].join(" ");
    if (seen.has(identity)) return;
    seen.add(identity);
    if (!byKid.has(dsc.kid)) byKid.set(dsc.kid, []);
    byKid.get(dsc.kid).push({ ...dsc, ...keys[i] });
  });
  return { byKid };
}
