/**
 * What a checkpoint shows of a verified SMART Health Card (the twin of verifier/formats/shc.py's
 * _result, _holder, _code and _kind_and_shows): who the Bundle's Patient is, what the card
 * certifies (its resources' kinds) and, for immunizations and laboratory results, the last one.
 * FHIR is not validated: anything unexpected reads as "" (and "" is not shown), as in Python.
 */

import { VerificationError } from "../errors.js";
import { pyStrip } from "../text.js";
import { pyCompare, pySlice, pyStr } from "./pystr.js";

const TEXT_MAX = 100; // longest text shown from a card
const KIND_MAX = 40;
const BIRTH_DATE = /^[0-9]{4}(?:-[0-9]{2}(?:-[0-9]{2})?)?$/;
/** What a card certifies, by the resources it holds, else by its (deprecated) extra types. */
const KINDS = [["Immunization", "immunization"], ["Observation", "laboratory"]];
const TYPE_KINDS = [["https://smarthealth.cards#immunization", "immunization"], // i18n: not shown
  ["https://smarthealth.cards#laboratory", "laboratory"]]; // i18n: not shown
const SYSTEMS = new Map([["http://hl7.org/fhir/sid/cvx", "cvx"], // i18n: not shown
  ["http://snomed.info/sct", "snomed"], ["http://loinc.org", "loinc"]]); // i18n: not shown

const isObject = (v) => v instanceof Map;
/** Python's d.get(name) of a dict (undefined: absent). */
const get = (d, name) => (isObject(d) ? d.get(name) : undefined);
const text = (v) => (typeof v === "string" ? pySlice(v, TEXT_MAX) : "");

/** `system:code` of a CodeableConcept's first coding with a code (`cvx:207`), or "". */
function code(concept) {
  const codings = get(concept, "coding");
  for (const coding of Array.isArray(codings) ? codings : []) {
    if (isObject(coding) && typeof coding.get("code") === "string") {
      const system = text(coding.get("system"));
      return text(`${SYSTEMS.get(system) ?? system}:${coding.get("code")}`);
    }
  }
  return "";
}

/** The Patient's first name as written and birth date (each "" when unreadable). */
function holder(patient) {
  const names = patient.get("name");
  let first = Array.isArray(names) && names.length ? names[0] : null;
  first = isObject(first) ? first : new Map();
  const given = Array.isArray(first.get("given")) ? first.get("given") : [];
  const name = text(first.get("text")) || pyStrip(
    [...given.filter((g) => typeof g === "string"), text(first.get("family"))].join(" "));
  const birth = patient.get("birthDate");
  return { name: pySlice(name, TEXT_MAX),
    birth_date: typeof birth === "string" && BIRTH_DATE.test(birth) ? birth : "" };
}

/** Python's max(items, key=...): the first of the greatest, or an empty dict. */
function last(items, name) {
  let best = null;
  for (const item of items) {
    if (best === null || pyCompare(text(item.get(name)), text(best.get(name))) > 0) best = item;
  }
  return best ?? new Map();
}

function kindAndShows(resources, types) {
  const present = new Set(resources.map((r) => r.get("resourceType")));
  const kinds = [...KINDS.filter(([name]) => present.has(name)),
    ...TYPE_KINDS.filter(([name]) => types.includes(name))].map(([, kind]) => kind);
  const others = [...present].filter((t) => t !== "Patient").sort(pyCompare);
  const kind = kinds.length ? kinds[0]
    : others.length ? pySlice(others[0].toLowerCase(), KIND_MAX) : "health-card"; // i18n: not shown
  let shows = [];
  if (kind === "immunization") {
    const items = resources.filter((r) => r.get("resourceType") === "Immunization"
      && (r.has("status") ? r.get("status") : "completed") === "completed");
    const shot = last(items, "occurrenceDateTime");
    shows = [["doses", String(items.length)], ["vaccine", code(shot.get("vaccineCode"))],
      ["date", text(shot.get("occurrenceDateTime"))]];
  } else if (kind === "laboratory") {
    const items = resources.filter((r) => r.get("resourceType") === "Observation");
    const result = last(items, "effectiveDateTime");
    const quantity = result.get("valueQuantity");
    const value = code(result.get("valueCodeableConcept")) || text(result.get("valueString"))
      || (isObject(quantity)
        ? text(pyStrip(`${pyStr(quantity.get("value"))} ${text(quantity.get("unit"))}`)) : "");
    shows = [["results", String(items.length)], ["test", code(result.get("code"))],
      ["result", value], ["date", text(result.get("effectiveDateTime"))]];
  }
  return [kind, shows.filter(([, v]) => v)];
}

/**
 * The code as Python's ForeignCode.as_dict() has it, for a card whose claims were checked
 * (card: {iss, nbf, exp, types, bundle}) signed with `key` ({kid}); `revocationList` is what
 * the screen says of the issuer's list. Throws VerificationError (invalid_claims) for a Bundle
 * naming two Patients.
 */
export function result(card, key, revocationList) {
  const resources = card.bundle.get("entry").map((entry) => entry.get("resource"));
  const patients = resources.filter((r) => r.get("resourceType") === "Patient");
  if (patients.length > 1) {
    throw new VerificationError("invalid_claims", { format: "shc", step: "claims", kid: key.kid });
  }
  const [kind, shows] = kindAndShows(resources, card.types);
  const nbf = Math.floor(card.nbf);
  return {
    format: "shc", issuer: card.iss, country: null, kind, // i18n: not shown
    holder: patients.length ? holder(patients[0]) : { name: "", birth_date: "" },
    issued_at: nbf, not_before: nbf,
    expires_at: card.exp === null ? null : Math.floor(card.exp),
    kid: key.kid, alg: "ES256", // i18n: not shown
    shows: Object.fromEntries([...shows, ["revocation_list", revocationList]]),
  };
}
