/**
 * The credential's claims, parsed strictly as verifier/claims.py parses them: a map
 * (malformed otherwise) whose iss, iat, exp, cti, health claim (colour, score, policy,
 * check-ID fields, family mark) and cnf have the types and ranges of docs/FORMAT.md (invalid_claims
 * otherwise). Times are not checked here (verify.js does).
 */

import { loadsStrict } from "./cose.js";
import { reject } from "./errors.js";
import { isInt } from "./decode.js";
import { pyLen, visible } from "./text.js";

export const SCORE_MIN = 0;
export const SCORE_MAX = 100;
export const CTI_LENGTH = 12;
export const POLICY_DIGEST_LENGTH = 8;
export const MAX_ISS_LENGTH = 32;
export const MAX_MASKED_NAME = 8;
export const COLOURS = Object.freeze(["green", "yellow", "red"]); // i18n: not shown
const Claim = Object.freeze({ ISS: 1n, EXP: 4n, IAT: 6n, CTI: 7n, CNF: 8n, HEALTH: -65537n });
const Health = Object.freeze({ COLOUR: 1n, SCORE: 2n, POLICY: 3n, ID_CHECK: 4n, FAMILY: 5n });
const ID_TAIL = /^[0-9A-Z]{1,4}$/;

/** A key id for display (verifier.keys.kid_text): its characters, or hex if not printable ASCII. */
export function kidText(kid) {
  if (kid.every((b) => b >= 0x20 && b < 0x7f)) return String.fromCharCode(...kid);
  return Array.from(kid, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Python's `value is not None`: neither absent (undefined) nor CBOR null (CBOR undefined
// is UNDEFINED: present).
const present = (v) => v !== undefined && v !== null;
const isDict = (v) => v instanceof Map;

function readIdCheck(fields) {
  const name = isDict(fields) ? fields.get(1n) : undefined;
  const tail = isDict(fields) ? fields.get(2n) : undefined;
  const len = typeof name === "string" ? pyLen(name) : 0;
  if (!(typeof name === "string" && len >= 2 && len <= MAX_MASKED_NAME && name.endsWith("*")
        && visible(String.fromCodePoint(name.codePointAt(0))))) return null;
  if (!(typeof tail === "string" && ID_TAIL.test(tail))) return null;
  return { name, idTail: tail };
}

function checkClaims(claims) {
  const [iss, iat, exp, cti] = [Claim.ISS, Claim.IAT, Claim.EXP, Claim.CTI].map((k) => claims.get(k));
  const health = claims.get(Claim.HEALTH);
  if (!(typeof iss === "string" && iss.length > 0 && pyLen(iss) <= MAX_ISS_LENGTH)) return false;
  if (!(isInt(iat) && isInt(exp) && iat >= 0n && iat < exp && exp < 2n ** 32n)) return false;
  if (!(cti instanceof Uint8Array && cti.length === CTI_LENGTH)) return false;
  if (!isDict(health)) return false;
  const colour = health.get(Health.COLOUR);
  const score = health.get(Health.SCORE);
  if (!(isInt(colour) && colour >= 0n && colour <= 2n)) return false;
  if (!(isInt(score) && score >= BigInt(SCORE_MIN) && score <= BigInt(SCORE_MAX))) return false;
  const policy = health.get(Health.POLICY);
  if (present(policy) && !(policy instanceof Uint8Array && policy.length === POLICY_DIGEST_LENGTH)) return false;
  const cnf = claims.get(Claim.CNF);
  if (present(cnf) && !(isDict(cnf) && cnf.size > 0)) return false;
  const idCheck = health.get(Health.ID_CHECK);
  if (present(idCheck) && (present(cnf) || readIdCheck(idCheck) === null)) return false;
  const family = health.get(Health.FAMILY);
  if (present(family) && (family !== true || !present(cnf))) return false;
  return true;
}

/**
 * The Credential in a COSE payload: {iss, iat, exp, cti, colour, score, policy, cnf, kid,
 * alg, idCheck, family, presentedAt: null, static: true}. Throws VerificationError: malformed when
 * the payload is not a CBOR map, invalid_claims when a claim is missing or out of range.
 */
export function parseClaims(payload, kid = new Uint8Array(0), alg = "ES256") {
  const claims = loadsStrict(payload);
  if (!isDict(claims)) reject("malformed");
  if (!checkClaims(claims)) reject("invalid_claims", { kid: kidText(kid) });
  const health = claims.get(Claim.HEALTH);
  const idCheck = health.get(Health.ID_CHECK);
  const policy = health.get(Health.POLICY);
  const cnf = claims.get(Claim.CNF);
  return {
    iss: claims.get(Claim.ISS), iat: Number(claims.get(Claim.IAT)), exp: Number(claims.get(Claim.EXP)),
    cti: claims.get(Claim.CTI), colour: COLOURS[Number(health.get(Health.COLOUR))],
    score: Number(health.get(Health.SCORE)), policy: policy ?? null, cnf: cnf ?? null,
    kid: kidText(kid), kidBytes: kid, alg,
    idCheck: present(idCheck) ? readIdCheck(idCheck) : null,
    family: health.get(Health.FAMILY) === true, presentedAt: null, static: true,
  };
}
