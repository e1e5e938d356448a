/**
 * The holder's live presentation (HCP1) of a device-bound credential, built on the phone.
 *
 * Byte for byte the format of verifier/presentation.py, which defines it: a COSE_Sign1
 * (RFC 9052) whose payload is the credential's COSE bytes exactly as issued and whose
 * protected header is {1 (alg): -7 (ES256), 15 (CWT claims): {6 (iat): t}}, signed by the
 * phone's non-extractable P-256 key. WebCrypto's ECDSA signature is already raw r||s, COSE's
 * form. The text is "HCP1:" + Base45 of that COSE_Sign1, shown as a QR code and rebuilt every
 * few seconds: a checkpoint refuses one older than a minute.
 */

import * as base45 from "/shared/verifier/base45.js";
import * as cbor from "/shared/verifier/cbor.js";

export const CREDENTIAL_PREFIX = "HCC1:"; // i18n: not shown
export const PRESENTATION_PREFIX = "HCP1:"; // i18n: not shown

// Labels of verifier/labels.py.
const Header = Object.freeze({ ALG: 1, CWT_CLAIMS: 15 });
const Alg = Object.freeze({ ES256: -7 });
const Claim = Object.freeze({ IAT: 6 });
const COSE_SIGN1_TAG = 18;
const ES256 = Object.freeze({ name: "ECDSA", hash: "SHA-256" });
const ES256_SIGNATURE_BYTES = 64;
const EMPTY = new Uint8Array(0);

/** The current time in integer epoch seconds, as a presentation carries it. */
export function nowSeconds() {
  return Math.floor(Date.now() / 1000);
}

/**
 * Return the serialized protected header (a Uint8Array) of a presentation made at `t`
 * (integer epoch seconds). Throws RangeError unless 0 <= t < 2^32, as the verifier requires.
 */
export function protectedHeader(t) {
  if (!Number.isInteger(t) || t < 0 || t >= 2 ** 32) {
    throw new RangeError(`presentation time out of range: ${t}`);
  }
  return cbor.encode(cbor.cborMap([
    [Header.ALG, Alg.ES256],
    [Header.CWT_CLAIMS, cbor.cborMap([[Claim.IAT, t]])],
  ]));
}

/** Return the bytes a COSE_Sign1 signature covers: ["Signature1", protected, h'', payload]. */
export function sigStructure(protectedBytes, payload) {
  return cbor.encode(["Signature1", protectedBytes, EMPTY, payload]);
}

/**
 * Return the parts of a tagged COSE_Sign1 (`bytes`, a Uint8Array), unverified:
 * {protected, unprotected (a cbor.CborMap), payload, signature}.
 * Throws CborError unless it is one CBOR tag 18 around [bstr, map, bstr, bstr].
 */
export function decodeSign1Unverified(bytes) {
  const item = cbor.decode(bytes);
  const parts = item instanceof cbor.Tagged && item.tag === COSE_SIGN1_TAG ? item.value : null;
  if (!Array.isArray(parts) || parts.length !== 4) {
    throw new cbor.CborError("not a tagged COSE_Sign1 of four members"); // i18n: not shown
  }
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array && unprotected instanceof cbor.CborMap
        && payload instanceof Uint8Array && signature instanceof Uint8Array)) {
    throw new cbor.CborError("COSE_Sign1 members have the wrong types"); // i18n: not shown
  }
  return { protected: protectedBytes, unprotected, payload, signature };
}

/**
 * Return the COSE bytes (a Uint8Array) of a credential's text ("HCC1:" + Base45).
 * Throws Error without the prefix, Base45Error for bad Base45, CborError unless the bytes are
 * a tagged COSE_Sign1. Nothing else is checked: the checkpoint does that.
 */
export function credentialBytes(text) {
  if (typeof text !== "string" || !text.startsWith(CREDENTIAL_PREFIX)) {
    throw new Error(`not a credential (no ${CREDENTIAL_PREFIX} prefix)`);
  }
  const bytes = base45.decode(text.slice(CREDENTIAL_PREFIX.length));
  decodeSign1Unverified(bytes);
  return bytes;
}

/**
 * Return the text ("HCP1:" + Base45) of a presentation of `credential` (its COSE bytes, from
 * credentialBytes) made at `t` (epoch seconds, default now), signed with `privateKey` (an
 * ECDSA P-256 CryptoKey that may sign). Rejects with WebCrypto's error if the key cannot sign,
 * RangeError for a bad `t`.
 */
export async function buildPresentation(privateKey, credential, t = nowSeconds()) {
  const protectedBytes = protectedHeader(t);
  const signature = new Uint8Array(
    await crypto.subtle.sign(ES256, privateKey, sigStructure(protectedBytes, credential)));
  if (signature.length !== ES256_SIGNATURE_BYTES) {
    throw new Error(`ES256 signature of ${signature.length} bytes`); // i18n: not shown
  }
  const sign1 = cbor.tag(COSE_SIGN1_TAG,
                         [protectedBytes, cbor.cborMap([]), credential, signature]);
  return PRESENTATION_PREFIX + base45.encode(cbor.encode(sign1));
}
