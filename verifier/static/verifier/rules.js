/**
 * Checkpoint rules, as verifier/kiosk/rules.py: comma-separated terms, colours (green,
 * yellow, red: the code's colour must be one named; none named: any) and score conditions
 * (score>=60, >, <=, <, =, ==: every one must hold). Rule.parse throws RuleError; decide
 * returns null to admit, else {code, values} for the app to word in the reader's language.
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

export class Rule {
  constructor(text, colours, scores) {
    this.text = text;
    this.colours = colours;
    this.scores = scores;
  }

  static parse(text) {
    if (pyLen(text) > MAX_RULE_LENGTH) throw new RuleError("long");
    const terms = text.split(",").map((term) => pyStrip(term).toLowerCase());
    if (!terms.some((term) => term)) throw new RuleError("empty");
    const colours = new Set();
    const scores = [];
    for (const term of terms) {
      if (COLOURS.includes(term)) { colours.add(term); continue; }
      const match = SCORE_TERM.exec(term);
      if (match === null) throw new RuleError("term", term);
      const value = [...match[2]].reduce((n, ch) => n * 10 + digitValue(ch), 0);
      if (value < 0 || value > 100) throw new RuleError("range", term);
      scores.push([match[1], value]);
    }
    const canonical = [...COLOURS.filter((c) => colours.has(c)),
      ...scores.map(([op, value]) => `score${op}${value}`)].join(",");
    return new Rule(canonical, colours, scores);
  }

  /** null if the rule admits this (valid) credential, else {code: "colour" | ">=" | "<=" |
   * ">" | "<" | "=", values: {colour} | {score, value}}. */
  decide(credential) {
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
}
