/**
 * The SMART Health Card issuers of our signed trust list's `foreign.shc` member, read as
 * verifier/formats/published.py's _shc_in reads it: per issuer (an https URL, no trailing /) its
 * P-256 keys ({kid: RFC 7638 thumbprint, x, y, crlVersion?}) and the revocation lists held for
 * them ({kid, ctr, rids: {rid: epoch s | null}}). Anything malformed refuses the whole member
 * (TrustListError, trust_list_malformed); each key is imported once with WebCrypto.
 *
 * The member comes from JSON.parse (plain objects) or from loadsJson (Maps, Float): both read.
 */

import { TrustListError } from "../errors.js";
import { Float } from "../decode.js";
import { KeyFormatError, b64url, b64urlDecode, concat, thumbprint } from "../keys.js";
import { PY_SPACE, pyLen } from "../text.js";

/** Most issuers one list carries, most keys (and lists) per issuer, most revoked ids in all. */
export const MAX_SHC_ISSUERS = 1000;
export const MAX_KEYS = 100;
export const MAX_RIDS = 200_000;
/** A revocation id: 1-24 base64url characters; a timestamp of an entry: 1-12 digits. */
export const RID = /^[A-Za-z0-9_-]{1,24}$/;
const MAX_STAMP = 10 ** 12;
const ISS = new RegExp(`^https://[^/${PY_SPACE}?#]+(?:/[^${PY_SPACE}?#]*)?$`, "u");
const P256 = Object.freeze({ name: "ECDSA", namedCurve: "P-256" }); // i18n: not shown

const refuse = (detail) => {
  throw new TrustListError("trust_list_malformed", { detail: `foreign keys: ${detail}` }); // i18n: not shown
};

const isDict = (v) => v instanceof Map
  || (v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Float));
const has = (d, name) => (d instanceof Map ? d.has(name) : Object.hasOwn(d, name));
/** Python's d.get(name) (undefined: absent). */
const get = (d, name) => (d instanceof Map ? d.get(name)
  : Object.hasOwn(d, name) ? d[name] : undefined);
const entries = (d) => (d instanceof Map ? [...d] : Object.entries(d));
/** Python's type(v) is int (a bool is not; a JSON number with a fraction or exponent read by
 * loadsJson is a Float; JSON.parse cannot tell 1.0 from 1). */
const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const optional = (v) => v === undefined || v === null;

function list(value, most, what) {
  if (!Array.isArray(value) || value.length > most) refuse(`${what} is not a list of at most ${most}`); // i18n: not shown
  return value;
}

/** Python's check_iss. */
export function isIssuer(iss) {
  return typeof iss === "string" && pyLen(iss) <= 1024 && ISS.test(iss) && !iss.endsWith("/");
}

async function key(iss, jwk) {
  let point;
  try {
    if (!isDict(jwk) || !has(jwk, "x") || !has(jwk, "y")) throw new KeyFormatError();
    const x = b64urlDecode(get(jwk, "x"));
    const y = b64urlDecode(get(jwk, "y"));
    if (x.length !== 32 || y.length !== 32) throw new KeyFormatError();
    point = { x, y, key: await crypto.subtle.importKey("raw", concat([4], x, y), P256, false, ["verify"]) };
  } catch {
    return refuse(`an shc key of ${iss} is not a point of P-256`); // i18n: not shown
  }
  const kid = b64url(await thumbprint({ kty: "EC", crv: "P-256", x: b64url(point.x), y: b64url(point.y) }));
  if (get(jwk, "kid") !== kid) refuse(`an shc kid of ${iss} is not its key's thumbprint`); // i18n: not shown
  const version = get(jwk, "crlVersion");
  if (!optional(version) && !(isInt(version) && version >= 1)) {
    refuse(`shc key ${kid}: crlVersion is not a positive integer`); // i18n: not shown
  }
  return { iss, kid, key: point.key, crlVersion: optional(version) ? null : version };
}

function revocations(crl, keys) {
  const kid = isDict(crl) ? get(crl, "kid") : undefined;
  if (typeof kid !== "string" || !keys.has(kid)) refuse("an shc revocation list is not for a key of its issuer"); // i18n: not shown
  const ctr = get(crl, "ctr");
  const rids = get(crl, "rids");
  if (!isInt(ctr) || ctr < 1 || ctr !== (keys.get(kid).crlVersion || ctr)) {
    refuse(`shc revocation list of ${kid}: ctr is not the key's crlVersion`); // i18n: not shown
  }
  const pairs = isDict(rids) ? entries(rids) : null;
  if (pairs === null || pairs.length > MAX_RIDS || !pairs.every(([rid, at]) => typeof rid === "string"
      && RID.test(rid) && (at === null || (isInt(at) && at >= 0 && at < MAX_STAMP)))) {
    refuse(`shc revocation list of ${kid}: rids is not {rid: epoch s | null}`); // i18n: not shown
  }
  return [kid, { ctr, rids: new Map(pairs) }];
}

/**
 * The issuers of a `foreign.shc` member: {issuers: Map(iss -> {keys: Map(kid -> {iss, kid,
 * key (CryptoKey), crlVersion}), crls: Map(kid -> {ctr, rids: Map(rid -> epoch s | null)})})}.
 * Throws TrustListError (trust_list_malformed).
 */
export async function loadKeys(member) {
  const issuers = new Map();
  let ridCount = 0;
  for (const entry of list(member, MAX_SHC_ISSUERS, "shc")) {
    if (!isDict(entry)) refuse("an shc entry is not an object"); // i18n: not shown
    const iss = get(entry, "iss");
    if (!isIssuer(iss)) refuse("shc: issuer URL is not https:// without a trailing /"); // i18n: not shown
    if (issuers.has(iss)) refuse(`shc issuer ${iss} is listed twice`); // i18n: not shown
    const keys = new Map();
    for (const jwk of list(get(entry, "keys"), MAX_KEYS, "shc keys")) {
      const held = await key(iss, jwk);
      keys.set(held.kid, held);
    }
    const crls = new Map();
    for (const crl of list(has(entry, "crls") ? get(entry, "crls") : [], MAX_KEYS, "shc crls")) {
      const [kid, parsed] = revocations(crl, keys);
      if (crls.has(kid)) refuse(`two shc revocation lists for key ${kid}`); // i18n: not shown
      ridCount += parsed.rids.size;
      crls.set(kid, parsed);
    }
    if (!keys.size || ridCount > MAX_RIDS) refuse(`shc issuer ${iss}: no key, or more than ${MAX_RIDS} revoked ids`); // i18n: not shown
    issuers.set(iss, { keys, crls });
  }
  return { issuers };
}
