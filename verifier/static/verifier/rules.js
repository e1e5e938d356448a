/**
 * Checkpoint rules, as verifier/kiosk/rules.py: comma-separated terms, colours (green,
 * yellow, red: the code's colour must be one named; none named: any), score conditions
 * (score>=60, >, <=, <, =, ==: every one must hold) and foreign formats with the kinds they
 * admit (dcc:vaccination,recovery; shc:any; nzcp:pass: the terms after a format's continue
 * its list). A foreign code is admitted only by a term naming its format and kind; a rule of
 * foreign terms only keeps "green" for our codes. Rule.parse throws RuleError; decide returns
 * null to admit, else {code, values} for the app to word in the reader's language.
 */

import { PY_SPACE, pyLen, pyStrip } from "./text.js";

export const DEFAULT_RULE = "green"; // i18n: not shown
export const MAX_RULE_LENGTH = 200;
const COLOURS = ["green", "yellow", "red"]; // i18n: not shown
const SCORE_TERM = new RegExp(`^score[${PY_SPACE}]*(>=|<=|>|<|==|=)[${PY_SPACE}]*(\\p{Nd}{1,3})$`, "u"); // i18n: not shown
const COMPARE = {
  ">=": (a, b) => a >= b, "<=": (a, b) => a <= b, ">": (a, b) => a > b, "<": (a, b) => a < b,
  "=": (a, b) => a === b, "==": (a, b) => a === b,
};
const DIGIT = /\p{Nd}/u;
/** Each foreign format a rule may name and the kinds it may admit (ForeignCode.kind). */
export const FOREIGN_KINDS = {
  dcc: ["vaccination", "test", "recovery"], shc: ["immunization", "laboratory"], nzcp: ["pass"], // i18n: not shown
};
const ANY = "any"; // i18n: not shown
const FOREIGN_TERM = new RegExp(`^([a-z0-9]+)[${PY_SPACE}]*:[${PY_SPACE}]*([a-z-]*)$`); // i18n: not shown

/** The rule text does not parse; `code` says why ("long", "empty", "term", "range"). */
export class RuleError extends Error {
  constructor(code, term = null) {
    super(code);
    this.name = "RuleError"; // i18n: not shown
    this.code = code;
    this.term = term;
  }
}

// The value of a Unicode decimal digit, as Python's int() reads it: digits come in runs 0..9.
function digitValue(ch) {
  let cp = ch.codePointAt(0);
  let n = 0;
  while (DIGIT.test(String.fromCodePoint(cp - 1))) { cp--; n++; }
  return n % 10;
}

/** A foreign term's kind, checked against its format's. */
function foreignKind(name, kind, term) {
  if (!Object.hasOwn(FOREIGN_KINDS, name)) throw new RuleError("format", term);
  if (kind !== ANY && !FOREIGN_KINDS[name].includes(kind)) throw new RuleError("kind", term);
  return kind;
}

export class Rule {
  constructor(text, colours, scores, foreign = new Map()) {
    this.text = text;
    this.colours = colours;
    this.scores = scores;
    /** format -> the Set of kinds admitted ({"any"}: every kind). */
    this.foreign = foreign;
  }

  static parse(text) {
    if (pyLen(text) > MAX_RULE_LENGTH) throw new RuleError("long");
    const terms = text.split(",").map((term) => pyStrip(term).toLowerCase());
    if (!terms.some((term) => term)) throw new RuleError("empty");
    const colours = new Set();
    const scores = [];
    const named = new Map();
    let listing = null; // the format whose kinds the terms are continuing
    for (const term of terms) {
      if (COLOURS.includes(term)) { colours.add(term); listing = null; continue; }
      const foreign = FOREIGN_TERM.exec(term);
      if (foreign !== null || (listing !== null && !term.includes(":") && !SCORE_TERM.test(term))) {
        const kind = foreign ? foreign[2] : term;
        listing = foreign ? foreign[1] : listing;
        if (!named.has(listing)) named.set(listing, new Set());
        named.get(listing).add(foreignKind(listing, kind, term));
        continue;
      }
      listing = null;
      const match = SCORE_TERM.exec(term);
      if (match === null) throw new RuleError("term", term);
      const value = [...match[2]].reduce((n, ch) => n * 10 + digitValue(ch), 0);
      if (value < 0 || value > 100) throw new RuleError("range", term);
      scores.push([match[1], value]);
    }
    if (named.size && !colours.size && !scores.length) colours.add(DEFAULT_RULE);
    const foreign = new Map(Object.keys(FOREIGN_KINDS).filter((name) => named.has(name)).map(
      (name) => [name, named.get(name).has(ANY) ? new Set([ANY]) : named.get(name)]));
    const canonical = [...COLOURS.filter((c) => colours.has(c)),
      ...scores.map(([op, value]) => `score${op}${value}`),
      ...[...foreign].map(([name, admitted]) => `${name}:${[ANY, ...FOREIGN_KINDS[name]]
        .filter((k) => admitted.has(k)).join(",")}`)].join(",");
    return new Rule(canonical, colours, scores, foreign);
  }

  /** null if the rule admits this (valid) credential, else {code: "colour" | ">=" | "<=" |
   * ">" | "<" | "=", values: {colour} | {score, value}}; for a foreign code (a verifyForeign
   * result) {code: "format", values: {format}} (its format is not named) or {code:
   * "foreign_kind", values: {format, kind}}. */
  decide(credential) {
    if (credential.format) return this.decideForeign(credential);
    if (this.colours.size && !this.colours.has(credential.colour)) {
      return { code: "colour", values: { colour: credential.colour } };
    }
    for (const [op, value] of this.scores) {
      if (!COMPARE[op](credential.score, value)) {
        return { code: op === "==" ? "=" : op, values: { score: credential.score, value } };
      }
    }
    return null;
  }

  decideForeign(code) {
    const admitted = this.foreign.get(code.format);
    if (admitted === undefined) return { code: "format", values: { format: code.format } };
    if (admitted.has(ANY) || admitted.has(code.kind)) return null;
    return { code: "foreign_kind", values: { format: code.format, kind: code.kind } };
  }

  /** The formats this rule admits codes of, besides ours. */
  get foreignFormats() { return [...this.foreign.keys()]; }
}
