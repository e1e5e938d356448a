/**
 * JWS JSON serialization (RFC 7515 section 7.2), flattened or general, parsed as
 * verifier/jws.py parses it (strict JSON and base64url: decode.js, keys.js). Nothing is verified
 * here; a refusal is JwsFormatError (the trust list calls it trust_list_malformed).
 */

import { KeyFormatError, b64urlDecode } from "./keys.js";
import { DecodeError, loadsJson } from "./decode.js";
import { pyLen } from "./text.js";

export const MAX_JWS_BYTES = 4 * 1024 * 1024;
export const MAX_SIGNATURES = 4;
const ASCII = new TextEncoder();

export class JwsFormatError extends Error {}

// Python's obj[key]: KeyError / TypeError (both refusals here) unless obj is a dict holding key.
function item(obj, key) {
  if (!(obj instanceof Map) || !obj.has(key)) throw new JwsFormatError(`missing ${key}`); // i18n: not shown
  return obj.get(key);
}

function signed(protectedB64, payloadB64, payload, signatureB64) {
  const header = loadsJson(b64urlDecode(protectedB64));
  if (!(header instanceof Map)) throw new JwsFormatError("protected header is not a JSON object"); // i18n: not shown
  return {
    header, payload, signingInput: ASCII.encode(`${protectedB64}.${payloadB64}`),
    signature: b64urlDecode(signatureB64),
  };
}

function size(data) {
  return typeof data === "string" ? (data.length > MAX_JWS_BYTES ? pyLen(data) : data.length) : data.length;
}

/** [{header (Map), payload, signingInput, signature}], one per signature, all over one
 * payload. Throws JwsFormatError as decode_jws_all raises it. */
export function decodeJwsAll(data) {
  if (size(data) > MAX_JWS_BYTES) throw new JwsFormatError("too large"); // i18n: not shown
  try {
    const document = loadsJson(data);
    if (!(document instanceof Map) || !document.has("signatures")) {
      const payloadB64 = item(document, "payload");
      const protectedB64 = item(document, "protected");
      const payload = b64urlDecode(payloadB64);
      return [signed(protectedB64, payloadB64, payload, item(document, "signature"))];
    }
    const signatures = document.get("signatures");
    if (!Array.isArray(signatures) || signatures.length < 1 || signatures.length > MAX_SIGNATURES) {
      throw new JwsFormatError("a general JWS needs 1 to 4 signatures"); // i18n: not shown
    }
    const payloadB64 = item(document, "payload");
    const payload = b64urlDecode(payloadB64);
    return signatures.map((member) => signed(item(member, "protected"), payloadB64, payload,
      item(member, "signature")));
  } catch (error) {
    if (error instanceof DecodeError || error instanceof KeyFormatError) throw new JwsFormatError(error.message);
    throw error;
  }
}
