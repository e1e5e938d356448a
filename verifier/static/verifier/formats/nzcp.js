/**
 * The NZ COVID Pass (`NZCP:/`) in the browser, the twin of verifier/formats/nzcp.py: version 1
 * of the New Zealand Ministry of Health's specification, `NZCP:/1/` and the RFC 4648 base32 (no
 * padding) of a tagged COSE_Sign1, ES256, over CWT claims whose `vc` names the holder.
 *
 * `verify` takes the specification's steps in its order; each refusal is a VerificationError
 * whose reason and context.step are Python's:
 * - prefix: the text starts NZCP:/ and is no longer than a QR code holds (malformed);
 * - version: an unsigned integer then `/`; only 1 is known (malformed);
 * - base32: RFC 4648 base32, upper case, no padding (malformed);
 * - cose: one tagged COSE_Sign1 of the CBOR a verifier reads (malformed);
 * - headers: a protected kid (text, or bytes as the published examples have it) and a
 *   protected alg (malformed), which is ES256 (unsupported_algorithm);
 * - payload: the signed payload is a CBOR map, read for iss only (malformed);
 * - issuer: iss is a text (invalid_claims), a DID whose document the checkpoint holds
 *   (unknown_key);
 * - key: iss#kid is a key of that document (unknown_key) under assertionMethod (key_not_valid);
 * - signature: ES256 over the COSE Sig_structure (bad_signature);
 * - claims: nbf, exp, cti (a UUID) and vc as the data model says (invalid_claims);
 * - not_before: now >= nbf (not_yet_valid); expiry: now < exp (expired).
 * Nothing in the payload but iss is read before its signature is checked. The keys are the
 * trusted issuers' DID documents (nzcpdid.js).
 */

import { VerificationError } from "../errors.js";
import { isInt } from "../decode.js";
import { decodeSign1, loadsStrict, sigStructure } from "../cose.js";
import { hex, verifySignature } from "../keys.js";
import { pyLen, pyStrip } from "../text.js";
import { loadIssuers } from "./nzcpdid.js";

export const PREFIXES = ["NZCP:/"]; // i18n: not shown
const FORMAT = "nzcp"; // i18n: not shown
/** The major version of the specification read here. */
const VERSION = "1";
/** Longest text accepted (what a QR code holds), in code points, before any decoding. */
export const MAX_TEXT_LENGTH = 4296;
/** Longest kid accepted. */
export const MAX_KID_LENGTH = 256;
const W3C_CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"; // i18n: not shown
const VERIFIABLE_CREDENTIAL = "VerifiableCredential"; // i18n: not shown
const PASS_TYPES = ["PublicCovidPass"]; // i18n: not shown
const VC_VERSION = "1.0.0";
export const MAX_NAME_LENGTH = 100;
const Claim = Object.freeze({ ISS: 1n, EXP: 4n, NBF: 5n, CTI: 7n, VC: "vc" }); // i18n: not shown
const Header = Object.freeze({ ALG: 1n, KID: 4n });
const ES256 = -7n;
const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"; // i18n: not shown
// Lengths of unpadded base32 that RFC 4648 can produce, modulo 8.
const BASE32_TAILS = [0, 2, 4, 5, 7];
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;
// Python's bytes.decode("utf-8"): strict, and a byte-order mark is kept as a character.
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The trusted issuers of the `nzcp` part of a trust list's `foreign` member (nzcpdid.js). */
export const loadKeys = loadIssuers;

function fail(reason, step, context = {}) {
  throw new VerificationError(reason, { format: FORMAT, step, ...context });
}

/** fn(), its VerificationErrors (the shared readers': COSE, CBOR) given `step` and `context`. */
function at(step, context, fn) {
  try {
    return fn();
  } catch (error) {
    if (error instanceof VerificationError) fail(error.reason, step, context);
    throw error;
  }
}

/** The bytes of unpadded upper-case RFC 4648 base32 `text` (bits left over are ignored, as
 * Python's b32decode ignores them). */
function base32(text) {
  if (!/^[A-Z2-7]*$/.test(text) || !BASE32_TAILS.includes(text.length % 8) || !text) {
    fail("malformed", "base32");
  }
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const c of text) {
    value = (value << 5) | BASE32.indexOf(c);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (value >> bits) & 0xff;
      value &= (1 << bits) - 1;
    }
  }
  return out;
}

/** [kid, alg] of the protected header: ES256 only; the kid a text or its UTF-8 bytes. */
function headers(protectedBytes) {
  const header = at("headers", {}, () => loadsStrict(protectedBytes));
  if (!(header instanceof Map)) fail("malformed", "headers");
  let kid = header.get(Header.KID);
  const alg = header.get(Header.ALG);
  if (kid instanceof Uint8Array) {
    try {
      kid = UTF8.decode(kid);
    } catch {
      fail("malformed", "headers");
    }
  }
  if (typeof kid !== "string" || !(kid.length > 0 && pyLen(kid) <= MAX_KID_LENGTH)) {
    fail("malformed", "headers");
  }
  if (!isInt(alg)) fail("malformed", "headers", { kid });
  if (alg !== ES256) fail("unsupported_algorithm", "headers", { kid });
  return [kid, alg];
}

/** A pass read up to its claims WITHOUT checking issuer, key, signature, claims or time:
 * {cose, protected, payload, signature, kid, alg, claims (Map)}. Never trust it. */
export function decodeUnverified(text) {
  if (typeof text !== "string" || (text.length > MAX_TEXT_LENGTH && pyLen(text) > MAX_TEXT_LENGTH)) {
    fail("malformed", "prefix");
  }
  const stripped = pyStrip(text);
  if (!stripped.startsWith(PREFIXES[0])) fail("malformed", "prefix");
  const rest = stripped.slice(PREFIXES[0].length);
  const slash = rest.indexOf("/");
  const version = rest.slice(0, slash);
  if (slash < 0 || !/^[0-9]+$/.test(version)) fail("malformed", "version");
  if (version.replace(/^0+/, "") !== VERSION) fail("malformed", "version");
  const cose = base32(rest.slice(slash + 1));
  const sign1 = at("cose", {}, () => decodeSign1(cose));
  const [kid, alg] = headers(sign1.protected);
  const claims = at("payload", { kid }, () => loadsStrict(sign1.payload));
  if (!(claims instanceof Map)) fail("malformed", "payload", { kid });
  return { cose, protected: sign1.protected, payload: sign1.payload, signature: sign1.signature,
    kid, alg, claims };
}

/** Verify an NZ COVID Pass at `now` (epoch seconds) against the trusted issuers `keys`
 * (loadKeys; null: none). Resolves to Python's ForeignCode.as_dict(); rejects with a
 * VerificationError whose context names the format and the step. */
export async function verify(text, keys, now) {
  const read = decodeUnverified(text);
  const { kid } = read;
  const iss = read.claims.get(Claim.ISS);
  if (typeof iss !== "string") fail("invalid_claims", "issuer", { kid });
  if (keys === null || keys === undefined || !keys.has(iss)) fail("unknown_key", "issuer", { kid });
  const key = keys.key(iss, kid);
  if (!await verifySignature(key, "ES256", sigStructure(read.protected, read.payload),
    read.signature)) {
    fail("bad_signature", "signature", { kid });
  }
  const { holder, passType, jti, nbf, exp } = checkClaims(read.claims, kid);
  if (now < nbf) fail("not_yet_valid", "not_before", { kid, nbf: Number(nbf), now });
  if (now >= exp) fail("expired", "expiry", { kid, exp: Number(exp), now });
  return {
    format: FORMAT, issuer: iss, country: "NZ", kind: "pass", holder, issued_at: null, // i18n: not shown
    not_before: Number(nbf), expires_at: Number(exp), kid, alg: "ES256", // i18n: not shown
    shows: { pass_type: passType, credential_id: jti },
  };
}

/** {holder, passType, jti, nbf, exp} of signed claims that follow the data model; throws
 * VerificationError (invalid_claims, step claims) for any that does not. */
function checkClaims(claims, kid) {
  const invalid = () => fail("invalid_claims", "claims", { kid });
  const [nbf, exp, cti, vc] = [Claim.NBF, Claim.EXP, Claim.CTI, Claim.VC].map((k) => claims.get(k));
  if (!isInt(nbf) || !isInt(exp)) invalid();
  if (!(cti instanceof Uint8Array) || cti.length !== 16) invalid();
  if (!(vc instanceof Map)) invalid();
  const context = vc.get("@context");
  const types = vc.get("type");
  if (!(Array.isArray(context) && context.length > 0 && context[0] === W3C_CREDENTIALS_V1
        && context.every((item) => typeof item === "string"))) invalid();
  if (vc.get("version") !== VC_VERSION) invalid();
  if (!(Array.isArray(types) && types.length === 2 && types[0] === VERIFIABLE_CREDENTIAL
        && PASS_TYPES.includes(types[1]))) invalid();
  const subject = vc.get("credentialSubject");
  if (!(subject instanceof Map)) invalid();
  const [given, family, dob] = ["givenName", "familyName", "dob"].map((k) => subject.get(k)); // i18n: not shown
  if (!(typeof given === "string" && given.length > 0 && pyLen(given) <= MAX_NAME_LENGTH)) invalid();
  if (!(family === undefined || family === null
        || (typeof family === "string" && pyLen(family) <= MAX_NAME_LENGTH))) invalid();
  if (!(typeof dob === "string" && DATE.test(dob) && isDate(dob))) invalid();
  const name = [given, family].filter((part) => part).join(" ");
  const h = hex(cti);
  const jti = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`; // i18n: not shown
  return { holder: { name, birth_date: dob }, passType: types[1], jti, nbf, exp };
}

/** Python's date.fromisoformat succeeding on YYYY-MM-DD: year 1 to 9999, a real day. */
function isDate(text) {
  const [year, month, day] = text.split("-").map(Number);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}
