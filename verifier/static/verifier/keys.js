/**
 * Public keys, as verifier/keys.py: JWK in (RFC 7517), key ids and pins (RFC 7638
 * thumbprints), strict base64url, and signature checks with WebCrypto
 * (ECDSA P-256 takes COSE's raw r||s as it is; Ed25519). Also the holder's compressed P-256
 * point of a credential's cnf claim, decompressed here with BigInt.
 */

export const KID_LENGTH = 8;
const P256_COORD = 32;
const ECDSA = Object.freeze({ name: "ECDSA", namedCurve: "P-256" }); // i18n: not shown
const ECDSA_VERIFY = Object.freeze({ name: "ECDSA", hash: "SHA-256" }); // i18n: not shown
const ED25519 = Object.freeze({ name: "Ed25519" }); // i18n: not shown
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"; // i18n: not shown
const B64_VALUES = new Map([...B64].map((c, i) => [c, i]));

/** A JWK or key is not a usable public key of an allowed algorithm (Python's KeyFormatError). */
export class KeyFormatError extends Error {}

/** Unpadded base64url text of `bytes`. */
export function b64url(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = [n >> 18, (n >> 12) & 63, (n >> 6) & 63, n & 63].map((v) => B64[v]);
    text += chars.slice(0, Math.min(4, bytes.length - i + 1)).join("");
  }
  return text.replaceAll("+", "-").replaceAll("/", "_");
}

/**
 * The bytes of base64url `text` as verifier.keys.b64url_decode reads it: only A-Z a-z 0-9 - _,
 * no padding, a length that is not 1 more than a multiple of 4 (bits left over are ignored).
 * Throws KeyFormatError for anything else.
 */
export function b64urlDecode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    throw new KeyFormatError("not unpadded base64url text"); // i18n: not shown
  }
  const out = [];
  let bits = 0;
  let value = 0;
  for (const c of text) {
    value = (value << 6) | B64_VALUES.get(c === "-" ? "+" : c === "_" ? "/" : c);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
      value &= (1 << bits) - 1;
    }
  }
  return Uint8Array.from(out);
}

/** Lower-case hex of `bytes`. */
export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

const ASCII = new TextEncoder();

/** The RFC 7638 thumbprint (32 bytes) of a key's required members ({crv, kty, x[, y]}). */
export async function thumbprint(members) {
  const canonical = members.kty === "EC"
    ? `{"crv":"${members.crv}","kty":"EC","x":"${members.x}","y":"${members.y}"}` // i18n: not shown
    : `{"crv":"Ed25519","kty":"OKP","x":"${members.x}"}`; // i18n: not shown
  return sha256(ASCII.encode(canonical));
}

/**
 * A public JWK (a Map from loadsJson, or a plain object) checked as verifier.keys.jwk_to_key:
 * resolves to {key (CryptoKey), alg ("ES256" | "EdDSA"), kid (text), thumbprint (bytes),
 * jwk}; rejects with KeyFormatError otherwise.
 */
export async function jwkToKey(jwk) {
  const plain = jwk !== null && typeof jwk === "object" && Object.getPrototypeOf(jwk) === Object.prototype;
  const d = plain ? new Map(Object.entries(jwk)) : jwk;
  if (!(d instanceof Map)) throw new KeyFormatError("a JWK is a JSON object"); // i18n: not shown
  if (d.has("d")) throw new KeyFormatError("the JWK holds a private key"); // i18n: not shown
  const need = (name) => {
    if (!d.has(name)) throw new KeyFormatError(`invalid JWK: ${name}`); // i18n: not shown
    return d.get(name);
  };
  const kty = need("kty");
  const crv = need("crv");
  let key;
  let members;
  let alg;
  if (kty === "EC" && crv === "P-256") {
    const x = b64urlDecode(need("x"));
    const y = b64urlDecode(need("y"));
    if (x.length !== P256_COORD || y.length !== P256_COORD) throw new KeyFormatError("P-256 coordinates are 32 bytes"); // i18n: not shown
    key = await importRaw(concat([4], x, y), ECDSA);
    members = { crv: "P-256", kty: "EC", x: b64url(x), y: b64url(y) };
    alg = "ES256";
  } else if (kty === "OKP" && crv === "Ed25519") {
    const x = b64urlDecode(need("x"));
    if (x.length !== 32) throw new KeyFormatError("An Ed25519 public key is 32 bytes long"); // i18n: not shown
    key = await importRaw(x, ED25519);
    members = { crv: "Ed25519", kty: "OKP", x: b64url(x) };
    alg = "EdDSA";
  } else {
    throw new KeyFormatError("unsupported key type"); // i18n: not shown
  }
  const named = need("alg");
  if (named !== "ES256" && named !== "EdDSA") throw new KeyFormatError("invalid JWK: alg"); // i18n: not shown
  const kid = need("kid");
  if (typeof kid !== "string" || !/^[\x00-\x7f]*$/.test(kid)) throw new KeyFormatError("invalid JWK: kid"); // i18n: not shown
  if (named !== alg) throw new KeyFormatError("alg does not fit the key type"); // i18n: not shown
  const print = await thumbprint(members);
  if (kid !== b64url(print).slice(0, KID_LENGTH)) throw new KeyFormatError("kid is not the key's thumbprint"); // i18n: not shown
  return { key, alg, kid, thumbprint: print, jwk: d, members };
}

async function importRaw(bytes, algorithm) {
  try {
    return await crypto.subtle.importKey("raw", bytes, algorithm, false, ["verify"]);
  } catch {
    throw new KeyFormatError("not a point on the curve"); // i18n: not shown
  }
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** Whether `signature` (raw r||s for ES256) signs `message` under `key` (verify_signature). */
export async function verifySignature(key, alg, message, signature) {
  if (alg === "ES256") {
    if (signature.length !== 2 * P256_COORD) return false;
    return crypto.subtle.verify(ECDSA_VERIFY, key, signature, message);
  }
  try {
    return await crypto.subtle.verify(ED25519, key, signature, message);
  } catch {
    return false;
  }
}

const P = 2n ** 256n - 2n ** 224n + 2n ** 192n + 2n ** 96n - 1n;
const B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

function modPow(base, exp, mod) {
  let result = 1n;
  base %= mod;
  for (; exp > 0n; exp >>= 1n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
  }
  return result;
}

/**
 * The CryptoKey of a compressed P-256 point (x, the sign bit of y), or null when it is not a
 * point on the curve (Python's from_encoded_point raising ValueError).
 */
export async function compressedP256(x, odd) {
  let xn = 0n;
  for (const b of x) xn = (xn << 8n) | BigInt(b);
  if (xn >= P) return null;
  const rhs = (((xn * xn * xn - 3n * xn + B) % P) + P) % P;
  let y = modPow(rhs, (P + 1n) / 4n, P);
  if ((y * y) % P !== rhs) return null;
  if ((y & 1n) !== (odd ? 1n : 0n)) y = (P - y) % P;
  if ((y & 1n) !== (odd ? 1n : 0n)) return null;
  const yBytes = Uint8Array.from(y.toString(16).padStart(64, "0").match(/../g), (h) => parseInt(h, 16));
  try {
    return await crypto.subtle.importKey("raw", concat([4], x, yBytes), ECDSA, false, ["verify"]);
  } catch {
    return null;
  }
}
