/**
 * Codes of other formats in the browser, the twin of verifier/formats/ (Python): the EU Digital
 * COVID Certificate (`HC1:`, dcc.js), SMART Health Cards (`shc:/`, shc.js) and the NZ COVID
 * Pass (`NZCP:/`, nzcp.js), with the same verdicts as Python on the public corpora
 * (tests/test_formats_js_*.py).
 *
 * One interface for the three, as Python's: `detect(text)` names a text's format by its prefix;
 * `verifyForeign(text, trust, now)` returns the code as Python's `ForeignCode.as_dict()` has it
 * ({format, issuer, country, kind, holder: {name, birth_date}, issued_at, not_before,
 * expires_at, kid, alg, shows}), or throws a VerificationError whose reason is Python's and
 * whose context names the `format` and the `step` that refused it. `loadForeign(member)` reads
 * the `foreign` member of our signed trust list (verifier/formats/published.py) into the keys
 * the three verify with, importing each key once; a malformed member is a TrustListError
 * (`trust_list_malformed`), as in Python.
 *
 * Each format module exports `PREFIXES`, `loadKeys(member)` (its part of the `foreign` member;
 * the keys it verifies with) and `verify(text, keys, now)` (keys null: none held).
 */

import { TrustListError, VerificationError } from "../errors.js";
import { pyStrip } from "../text.js";
import * as dcc from "./dcc.js";
import * as nzcp from "./nzcp.js";
import * as shc from "./shc.js";

/** Each format's module, in the order their prefixes are tried (as Python's FORMATS). */
export const FORMATS = { dcc, shc, nzcp };

/** The format of `text` by its prefix ("dcc", "shc", "nzcp"), or null (ours, or no code). */
export function detect(text) {
  if (typeof text !== "string") return null;
  const stripped = pyStrip(text);
  for (const [name, module] of Object.entries(FORMATS)) {
    if (module.PREFIXES.some((prefix) => stripped.startsWith(prefix))) return name;
  }
  return null;
}

/** The keys held for foreign codes, from a trust list's `foreign` member (undefined: the list
 * has none): {dcc, shc, nzcp}, each null when the member has none of that format. */
export async function loadForeign(member) {
  const trust = { dcc: null, shc: null, nzcp: null };
  if (member === undefined) return trust;
  if (member === null || typeof member !== "object" || Array.isArray(member)
      || !Object.keys(member).every((name) => Object.hasOwn(FORMATS, name))) {
    throw new TrustListError("trust_list_malformed",
                             { detail: 'foreign keys: not an object of "dcc", "shc" and "nzcp"' });
  }
  for (const [name, module] of Object.entries(FORMATS)) {
    if (name in member) trust[name] = await module.loadKeys(member[name]);
  }
  return trust;
}

/** Verify a foreign code at `now` (epoch seconds) with the keys of `loadForeign`. */
export async function verifyForeign(text, trust, now) {
  const name = detect(text);
  if (name === null) {
    throw new VerificationError("malformed", { format: null, step: "detect" });
  }
  return FORMATS[name].verify(pyStrip(text), (trust || {})[name] ?? null, now);
}
