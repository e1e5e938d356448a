/**
 * The keys of NZ COVID Pass issuers in the browser, the twin of verifier/formats/nzcpdid.py:
 * the `nzcp` part of our signed trust list's `foreign` member (verifier/formats/published.py),
 * a list of at most MAX_DOCUMENTS did:web DID documents as their issuers publish them, never
 * fetched. An issuer is trusted because its document is in the list, nothing else.
 *
 * Each document is checked whole, as DidDocument.parse checks it: a did:web id;
 * `verificationMethod` entries (at most MAX_METHODS) with distinct ids of this DID; every entry
 * its `assertionMethod` lists (by reference: the ones allowed to sign passes) of type
 * JsonWebKey2020 with a public EC P-256 `publicKeyJwk` (no private member, a point on the
 * curve). Entries it does not list are kept by id only: a pass signed with one is
 * `key_not_valid`, not `unknown_key`. Anything else refuses the whole trust list
 * (TrustListError, `trust_list_malformed`). The documents may come from JSON.parse (plain
 * objects) or from decode.js's loadsJson (Maps); each key is imported once with WebCrypto.
 */

import { TrustListError, VerificationError } from "../errors.js";
import { b64urlDecode, concat } from "../keys.js";

/** Most documents the member holds (published.py reads it with MAX_SHC_ISSUERS). */
export const MAX_DOCUMENTS = 1000;
/** Most verification methods (and most assertionMethod entries) of one document. */
export const MAX_METHODS = 64;
/** JWK members that are private key material (the IANA "JSON Web Key Parameters" registry). */
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]; // i18n: not shown
const P256_COORD = 32;
// did:web: a host (a port as %3A), then path segments, each after a colon.
const DID_WEB = /^did:web:[A-Za-z0-9.%-]+(?::[A-Za-z0-9._%~-]+)*$/;
const ECDSA = Object.freeze({ name: "ECDSA", namedCurve: "P-256" }); // i18n: not shown

function refuse(detail) {
  throw new TrustListError("trust_list_malformed",
    { detail: `foreign keys: nzcp: DID document: ${detail}` }); // i18n: not shown
}

/** A JSON object as a Map (a Map from loadsJson, or a plain object from JSON.parse); null for
 * anything else (Python's isinstance(value, dict)). */
function asMap(value) {
  if (value instanceof Map) return value;
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null ? new Map(Object.entries(value)) : null;
}

/** `ref` (`did#fragment` or `#fragment`) as an absolute key id of `did`; refuses anything else. */
function absolute(did, ref, what) {
  const abs = typeof ref === "string" && ref.startsWith("#") ? did + ref : ref;
  if (!(typeof abs === "string" && abs.startsWith(`${did}#`) && abs !== `${did}#`)) { // i18n: not shown
    refuse(`${what} is not the id of a key of ${did}`); // i18n: not shown
  }
  return abs;
}

/** The raw point (0x04 || x || y) of a JsonWebKey2020 method's P-256 key; refuses others. */
function p256Point(method, ref) {
  if (method.get("type") !== "JsonWebKey2020") refuse(`${ref} is not of type JsonWebKey2020`); // i18n: not shown
  const jwk = asMap(method.get("publicKeyJwk"));
  if (jwk === null) refuse(`${ref} has no publicKeyJwk`); // i18n: not shown
  if (PRIVATE_JWK_MEMBERS.some((name) => jwk.has(name))) refuse(`${ref} publishes private key material`); // i18n: not shown
  if (jwk.get("kty") !== "EC" || jwk.get("crv") !== "P-256") refuse(`${ref} is not an EC P-256 key`); // i18n: not shown
  const named = (name, otherwise) => (jwk.has(name) ? jwk.get(name) : otherwise);
  if (named("alg", "ES256") !== "ES256" || named("use", "sig") !== "sig") {
    refuse(`${ref} is not a key for ES256 signatures`); // i18n: not shown
  }
  let x;
  let y;
  try {
    x = b64urlDecode(jwk.get("x"));
    y = b64urlDecode(jwk.get("y"));
  } catch {
    refuse(`${ref} is not a point of P-256`); // i18n: not shown
  }
  if (x.length !== P256_COORD || y.length !== P256_COORD) refuse(`${ref} is not a point of P-256`); // i18n: not shown
  return concat([4], x, y);
}

/** {did, methodIds (Set), points (Map absolute id -> raw point)} of one document, checked. */
function parseDocument(value) {
  const doc = asMap(value);
  if (doc === null) refuse("not a JSON object"); // i18n: not shown
  const did = doc.get("id");
  if (typeof did !== "string" || !DID_WEB.test(did)) refuse("its id is not a did:web DID"); // i18n: not shown
  const methods = doc.has("verificationMethod") ? doc.get("verificationMethod") : [];
  const listed = doc.has("assertionMethod") ? doc.get("assertionMethod") : [];
  if (!Array.isArray(methods) || methods.length > MAX_METHODS) refuse("verificationMethod is not a short list"); // i18n: not shown
  if (!Array.isArray(listed) || listed.length > MAX_METHODS) refuse("assertionMethod is not a short list"); // i18n: not shown
  const byId = new Map();
  for (const entry of methods) {
    const method = asMap(entry);
    if (method === null) refuse("a verificationMethod entry is not an object"); // i18n: not shown
    const ref = absolute(did, method.get("id"), "verificationMethod");
    if (byId.has(ref)) refuse(`${ref} is defined twice`); // i18n: not shown
    byId.set(ref, method);
  }
  const points = new Map();
  for (const entry of listed) {
    const ref = absolute(did, entry, "assertionMethod (references only)"); // i18n: not shown
    if (!byId.has(ref)) refuse(`assertionMethod lists ${ref}, which the document does not define`); // i18n: not shown
    if (!points.has(ref)) points.set(ref, p256Point(byId.get(ref), ref));
  }
  return { did, methodIds: new Set(byId.keys()), points };
}

async function importPoint(point, ref) {
  try {
    return await crypto.subtle.importKey("raw", point, ECDSA, false, ["verify"]);
  } catch {
    return refuse(`${ref} is not a point of P-256`); // i18n: not shown
  }
}

/** The NZ COVID Pass issuers a checkpoint trusts: one checked DID document each. */
export class NzcpIssuers {
  constructor(documents) {
    this.documents = documents; // Map did -> {methodIds, keys (Map absolute id -> CryptoKey)}
    Object.freeze(this);
  }

  /** Whether `did` is a trusted issuer. */
  has(did) {
    return this.documents.has(did);
  }

  /** The key `iss#kid` that signs passes; throws VerificationError (step `key`):
   * `unknown_key` when the issuer's document has no such key, `key_not_valid` when it has
   * it but not under assertionMethod. */
  key(iss, kid) {
    const document = this.documents.get(iss);
    const ref = `${iss}#${kid}`; // i18n: not shown
    if (document === undefined || !document.methodIds.has(ref)) {
      throw new VerificationError("unknown_key", { format: "nzcp", step: "key", kid }); // i18n: not shown
    }
    const key = document.keys.get(ref);
    if (key === undefined) {
      throw new VerificationError("key_not_valid", { format: "nzcp", step: "key", kid }); // i18n: not shown
    }
    return key;
  }
}

/** The issuers of the `nzcp` part of a trust list's `foreign` member (a list of DID
 * documents, distinct DIDs), as published.py's from_published reads it. Rejects with
 * TrustListError (`trust_list_malformed`) for anything it refuses. */
export async function loadIssuers(member) {
  if (!Array.isArray(member) || member.length > MAX_DOCUMENTS) {
    throw new TrustListError("trust_list_malformed",
      { detail: `foreign keys: nzcp is not a list of at most ${MAX_DOCUMENTS}` }); // i18n: not shown
  }
  const parsed = member.map(parseDocument);
  if (new Set(parsed.map((document) => document.did)).size !== parsed.length) {
    refuse("two documents of one DID"); // i18n: not shown
  }
  // Every check above is synchronous: the imports start only once nothing else can refuse.
  const documents = new Map();
  await Promise.all(parsed.map(async ({ did, methodIds, points }) => {
    const keys = new Map();
    documents.set(did, { methodIds, keys });
    for (const [ref, key] of await Promise.all(
      [...points].map(async ([ref, point]) => [ref, await importPoint(point, ref)]))) {
      keys.set(ref, key);
    }
  }));
  return new NzcpIssuers(documents);
}
