/**
 * The trust anchor's pin, as verifier.trust.load_anchor reads it: from the anchor's public
 * key as PEM or JWK, or from its RFC 7638 thumbprint (base64url, optionally "sha256:"). The
 * pin is the thumbprint as base64url text.
 */

import { TrustListError } from "./errors.js";
import { KeyFormatError, b64url, b64urlDecode, jwkToKey, thumbprint } from "./keys.js";
import { DecodeError, loadsJson } from "./decode.js";
import { pyStrip } from "./text.js";

const PEM_HEAD = "-----BEGIN PUBLIC KEY-----"; // i18n: not shown

async function pemThumbprint(text) {
  const body = text.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  const der = Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
  for (const algorithm of [{ name: "ECDSA", namedCurve: "P-256" }, { name: "Ed25519" }]) { // i18n: not shown
    try {
      const key = await crypto.subtle.importKey("spki", der, algorithm, true, ["verify"]);
      const jwk = await crypto.subtle.exportKey("jwk", key);
      return thumbprint(jwk);
    } catch {
      // not this key type: try the next
    }
  }
  throw new KeyFormatError("unsupported key in PEM"); // i18n: not shown
}

/** The pin (base64url thumbprint) of an anchor given as PEM text, a JWK (object or JSON
 * text) or a thumbprint; rejects with TrustListError("trust_list_malformed") otherwise. */
export async function pinFromAnchor(textOrJwk) {
  try {
    if (typeof textOrJwk !== "string") return b64url((await jwkToKey(textOrJwk)).thumbprint);
    const text = pyStrip(textOrJwk);
    if (text.startsWith(PEM_HEAD)) return b64url(await pemThumbprint(text));
    if (text.startsWith("{")) return b64url((await jwkToKey(loadsJson(text))).thumbprint);
    const pin = b64urlDecode(text.startsWith("sha256:") ? text.slice(7) : text);
    if (pin.length !== 32) throw new KeyFormatError("anchor thumbprint is not 32 bytes"); // i18n: not shown
    return b64url(pin);
  } catch (error) {
    if (error instanceof KeyFormatError || error instanceof DecodeError || error instanceof DOMException) {
      throw new TrustListError("trust_list_malformed");
    }
    throw error;
  }
}
