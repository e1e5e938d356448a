/**
 * COSE_Sign1 (RFC 9052) as verifier/cose.py reads it: exactly one CBOR item of the verifier's
 * CBOR (decode.js), tag 18 around [bstr, map, bstr, bstr]; the protected header's alg and
 * kid; the Sig_structure a signature covers. Refusals are VerificationError("malformed").
 */

import { DecodeError, Tagged, isInt, loadsCbor } from "./decode.js";
import { reject } from "./errors.js";
import { concat } from "./keys.js";

const COSE_SIGN1_TAG = 18;
const SIG_STRUCTURE_HEAD = Uint8Array.of(0x84, 0x6a, ...new TextEncoder().encode("Signature1"));

/** loads_strict: the one CBOR item filling `bytes`; VerificationError("malformed") if not. */
export function loadsStrict(bytes, tag = null) {
  try {
    return loadsCbor(bytes, tag);
  } catch (error) {
    if (error instanceof DecodeError) reject("malformed");
    throw error;
  }
}

/** {protected, unprotected, payload, signature} of a tagged COSE_Sign1, unverified. */
export function decodeSign1(bytes) {
  const item = loadsStrict(bytes, COSE_SIGN1_TAG);
  if (!(item instanceof Tagged)) reject("malformed");
  const value = item.value;
  if (!(Array.isArray(value) && value.length === 4)) reject("malformed");
  const [protectedBytes, unprotected, payload, signature] = value;
  if (!(protectedBytes instanceof Uint8Array && unprotected instanceof Map
        && payload instanceof Uint8Array && signature instanceof Uint8Array)) reject("malformed");
  return { protected: protectedBytes, unprotected, payload, signature };
}

/** [alg (bigint), kid (bytes)] of a serialized protected header; malformed unless present. */
export function decodeProtected(bytes) {
  const header = loadsStrict(bytes);
  if (!(header instanceof Map)) reject("malformed");
  const alg = header.get(1n);
  const kid = header.get(4n);
  if (!isInt(alg) || !(kid instanceof Uint8Array) || kid.length === 0) reject("malformed");
  return [alg, kid];
}

function bstrHead(n) {
  if (n < 24) return [0x40 | n];
  if (n < 0x100) return [0x58, n];
  if (n < 0x10000) return [0x59, n >> 8, n & 0xff];
  return [0x5a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** The bytes a COSE_Sign1 signature covers: ["Signature1", protected, h'', payload]. */
export function sigStructure(protectedBytes, payload) {
  return concat(SIG_STRUCTURE_HEAD, bstrHead(protectedBytes.length), protectedBytes, [0x40],
    bstrHead(payload.length), payload);
}
