/**
 * What an EU Digital COVID Certificate says, as verifier/formats/dccclaims.py reads it: its CWT
 * claims (`iss`, `iat`, `exp`: integers, or floats taken to the second) and the health
 * certificate inside (`hcert`, -260, version 1): the holder's name and date of birth, exactly
 * one of `v`, `t`, `r`, a list whose last entry is shown. Texts are at most MAX_FIELD
 * characters; dates may be tags 0 and 1 (read as cbor2 reads them: pydate.js). Every refusal
 * is a VerificationError naming the format and its step.
 */

import { DecodeError, Float, Tagged, loadsCbor } from "../decode.js";
import { VerificationError } from "../errors.js";
import { pyLen, pyStrip } from "../text.js";
import { DateError, PyDatetime, fromIsoformat, tag0, tag1 } from "./pydate.js";

export const MAX_FIELD = 256;
const ISS = 1n;
const EXP = 4n;
const IAT = 6n;
const HCERT = -260n;
const HCERT_V1 = 1n;
const TIME_LIMIT = 2n ** 40n;
const DATE_TAGS = [0, 1];
const KINDS = [["v", "vaccination"], ["t", "test"], ["r", "recovery"]];
export const POSITIVE = "260373001"; // SNOMED CT "detected"
const WORDS = new Map([
  ["tr", new Map([["260415000", "not_detected"], [POSITIVE, "detected"]])], // i18n: not shown
  ["tt", new Map([["LP6464-4", "naat"], ["LP217198-3", "rapid_antigen"]])], // i18n: not shown
]);
/** What a checkpoint shows of each kind of certificate: [the entry's field, shown as]. */
const SHOWN = {
  vaccination: [["dn/sd", "dose"], ["mp", "product"], ["dt", "date"], ["co", "country"],
    ["is", "issued_by"]],
  test: [["tt", "test_type"], ["tr", "test_result"], ["sc", "sample_time"], ["co", "country"],
    ["is", "issued_by"]],
  recovery: [["fr", "first_positive"], ["df", "valid_from"], ["du", "valid_until"],
    ["co", "country"], ["is", "issued_by"]],
};
const BIRTH_DATE = /^\p{Nd}{4}(?:-\p{Nd}{2}){0,2}$/u;
const COUNTRY = /^[A-Z]{2}$/;

/** Refuse a certificate: a VerificationError naming the format and `step`. */
export function fail(reason, step, context = {}) {
  throw new VerificationError(reason, { format: "dcc", step, ...context }); // i18n: not shown
}

const invalid = () => fail("invalid_claims", "claims");
/** Python's `value is not None` over decoded CBOR (cbor2's undefined is not None). */
const present = (value) => value !== undefined && value !== null;

// cbor2's value of a decoded item: tags 0 and 1 become moments (or the decoding fails).
function dates(value) {
  if (Array.isArray(value)) return value.map(dates);
  if (value instanceof Map) return new Map([...value].map(([k, v]) => [k, dates(v)]));
  if (!(value instanceof Tagged)) return value;
  const inner = dates(value.value);
  if (value.tag === 0) return tag0(inner);
  if (value.tag === 1) {
    if (inner instanceof Float) return tag1(inner.value);
    if (typeof inner === "bigint" || typeof inner === "boolean") return tag1(inner);
    throw new DateError("tag 1 around no number"); // i18n: not shown
  }
  return new Tagged(value.tag, inner);
}

/** One CBOR item of the language verifier/cborscan.py accepts (as cbor2 builds it), or a
 * `malformed` refusal at `step`. */
export function loads(bytes, step, { tag = null, innerTags = [] } = {}) {
  try {
    return dates(loadsCbor(bytes, tag, innerTags));
  } catch (error) {
    if (error instanceof DecodeError || error instanceof DateError) fail("malformed", step);
    throw error;
  }
}

function epoch(value) {
  let v = value;
  if (v instanceof Float && Number.isFinite(v.value)) v = BigInt(Math.floor(v.value));
  if (typeof v !== "bigint" || v < 0n || v >= TIME_LIMIT) invalid();
  return Number(v);
}

/** A date and time (tagged, or ISO 8601 text; without a zone: UTC), in UTC. */
function moment(value) {
  try {
    return (value instanceof PyDatetime ? value : fromIsoformat(text(value))).utc();
  } catch (error) {
    if (error instanceof DateError) invalid();
    throw error;
  }
}

function text(value) {
  if (value instanceof PyDatetime) return moment(value).isoZ();
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "string" || pyLen(value) > MAX_FIELD) invalid();
  return value;
}

function holder(certificate) {
  const nam = certificate.get("nam");
  if (!(nam instanceof Map)) invalid();
  const parts = new Map();
  for (const key of ["gn", "fn", "gnt", "fnt"]) {
    if (present(nam.get(key))) parts.set(key, text(nam.get(key)));
  }
  const name = ["gn", "fn"].map((k) => parts.get(k)).filter(Boolean).join(" ")
    || ["gnt", "fnt"].map((k) => parts.get(k)).filter(Boolean)
      .map((t) => t.replaceAll("<", " ")).join(" ");
  const dob = certificate.has("dob") ? certificate.get("dob") : "";
  const birthDate = dob === null ? "" : text(dob).split("T")[0];
  if (!pyStrip(name) || (birthDate && !BIRTH_DATE.test(birthDate))) invalid();
  return { name: pyStrip(name), birth_date: birthDate };
}

function shows(kind, entry) {
  const shown = {};
  for (const [field, label] of SHOWN[kind]) {
    if (field === "dn/sd") {
      if (present(entry.get("dn")) && present(entry.get("sd"))) {
        shown[label] = `${text(entry.get("dn"))}/${text(entry.get("sd"))}`;
      }
    } else if (present(entry.get(field))) {
      const value = text(entry.get(field));
      shown[label] = WORDS.get(field)?.get(value) ?? value;
    }
  }
  return shown;
}

/**
 * The claims and the health certificate of a payload (step `claims`), NOT verified:
 * {iss, country, iat, exp, kind, holder, shows, sampledAt, entry}. Throws VerificationError
 * (`malformed`, `invalid_claims`).
 */
export function readClaims(payload) {
  const claims = loads(payload, "claims", { innerTags: DATE_TAGS });
  if (!(claims instanceof Map)) invalid();
  const iss = present(claims.get(ISS)) ? text(claims.get(ISS)) : null;
  const iat = epoch(claims.get(IAT));
  const exp = epoch(claims.get(EXP));
  const hcert = claims.get(HCERT);
  const certificate = hcert instanceof Map ? hcert.get(HCERT_V1) : null;
  if (!(certificate instanceof Map)) invalid();
  const found = KINDS.filter(([key]) => present(certificate.get(key)));
  if (found.length !== 1) invalid();
  const [[key, kind]] = found;
  const entries = certificate.get(key);
  if (!(Array.isArray(entries) && entries.length && entries.every((e) => e instanceof Map))) {
    invalid();
  }
  const entry = entries[entries.length - 1];
  const country = iss && COUNTRY.test(iss) ? iss : null;
  const sc = entry.get("sc");
  return {
    iss, country, iat, exp, kind, holder: holder(certificate), shows: shows(kind, entry),
    sampledAt: kind === "test" && present(sc) ? moment(sc).epochSeconds() : null, entry,
  };
}
