// What a checkpoint verdict says, in the reader's language: the kiosk page and the phone app
// (/checkpoint/) show the same words. The msgids are the Python ones (verifier/kiosk/
// verdicts.py, rules.py), so one Chinese catalog entry serves both; their %(name)s
// placeholders are filled here by fill().
import { _, locale, formatTime } from "/shared/i18n.js";

/** A Python-format msgid's %(name)s placeholders filled from params. */
export function fill(text, params) {
  return text.replace(/%\((\w+)\)[sd]/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

const UNITS = [["day", 86400], ["hour", 3600], ["minute", 60], ["second", 1]];  // i18n: not shown

/** A span in its two largest units, as the server writes it: "2d 0h", "2天0小时". */
export function humanize(seconds) {
  let rest = Math.abs(Math.floor(seconds || 0));
  let first = UNITS.findIndex(([, size]) => rest >= size);
  if (first < 0) first = UNITS.length - 1;
  const parts = UNITS.slice(first, first + 2).map(([unit, size]) => {
    const value = Math.floor(rest / size);
    rest %= size;
    return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "narrow" }).format(value);
  });
  return parts.join(locale.startsWith("zh") ? "" : " ");
}

export const WORDS = { idle: _("READY"), admit: _("ADMIT"), deny: _("DENY"), invalid: _("INVALID") };
export const COLOURS = { green: _("GREEN"), yellow: _("YELLOW"), red: _("RED") };
export const SPOKEN_COLOURS = { green: _("green"), yellow: _("yellow"), red: _("red") };

/** Plain words for the screen, by reason (verdicts.SCREEN_WORDS). */
export const SCREEN_WORDS = {
  malformed: _("Not a health code"),
  unsupported_algorithm: _("Signed in a way this checkpoint does not accept"),
  unknown_key: _("Not signed by a trusted issuer"),
  bad_signature: _("Tampered or forged code"),
  expired: _("Code expired"),
  not_yet_valid: _("Code not valid yet"),
  key_not_valid: _("Signed with a key not valid for this code"),
  invalid_claims: _("Code content is invalid"),
  no_code: _("No QR code found"),
  holder_proof_missing: _("Copy of a phone-bound code: show the live code"),
  revoked: _("Code revoked by the issuer"),
  stale_presentation: _("Old live code: a photo or a recording?"),
  bad_holder_signature: _("Live code not made by its own phone"),
  trust_list_malformed: _("Checkpoint has no valid trust list"),
  trust_list_bad_signature: _("Checkpoint has no valid trust list"),
  trust_list_expired: _("Checkpoint's trust list has expired"),
  trust_list_rollback: _("Checkpoint has no valid trust list"),
  revocation_list_malformed: _("Revocation list refused"),
  revocation_list_bad_signature: _("Revocation list refused"),
  revocation_list_rollback: _("Revocation list refused"),
};

/** The reason explained, the line under the screen words (verdicts.DETAILS). */
export const DETAILS = {
  malformed: _("this is not a readable health code"),
  unsupported_algorithm: _("signed with an algorithm this verifier does not accept"),
  unknown_key: _("not signed by a trusted issuer"),
  bad_signature: _("the signature does not match: the code was altered or forged"),
  expired: _("the code has expired"),
  not_yet_valid: _("the code is not valid yet (issued in the future)"),
  key_not_valid: _("signed with a key that was not valid for this code"),
  invalid_claims: _("the code's contents are invalid"),
  no_code: _("no QR code found in the image"),
  holder_proof_missing: _("this code is bound to a phone: show the live code, not a copy"),
  revoked: _("the issuer has revoked this code"),
  stale_presentation: _("this live code is not live: it was made too long ago (a photo or a recording?)"),
  bad_holder_signature: _("the live code was not made by the phone the code is bound to"),
  trust_list_malformed: _("the trust list is unreadable"),
  trust_list_bad_signature: _("the trust list is not signed by the pinned trust anchor"),
  trust_list_expired: _("the trust list has expired: fetch a fresh one"),
  trust_list_rollback: _("the trust list is older than the one this verifier already has"),
  revocation_list_malformed: _("the revocation list is unreadable"),
  revocation_list_bad_signature: _("the revocation list is not signed by a key of its issuer in the trust list"),
  revocation_list_rollback: _("the revocation list is older than the one this verifier already has"),
};

export const screenWords = (reason) => SCREEN_WORDS[reason] || SCREEN_WORDS.malformed;
export const detailWords = (reason) => DETAILS[reason] || DETAILS.malformed;

/** When a code refused for its time was (or will be) valid (verdicts.time_detail).
 * `claims`: the code's unverified {iat, exp}, or null; `made`: a stale live code's time. */
export function timeDetail(reason, { claims = null, made = null, now, window }) {
  if (reason === "stale_presentation") {
    if (!Number.isInteger(made)) return null;
    if (made <= now) {
      return fill(_("made %(age)s ago; a live code is at most %(window)s old"),
                  { age: humanize(now - made), window: humanize(window) });
    }
    return fill(_("dated %(ahead)s in the future: the phone's clock is wrong"), { ahead: humanize(made - now) });
  }
  if (!claims) return null;
  if (reason === "expired") {
    return fill(_("expired %(age)s ago (%(when)s)"), { age: humanize(now - claims.exp), when: formatTime(claims.exp) });
  }
  if (reason === "not_yet_valid") {
    return fill(_("valid only from %(when)s, in %(wait)s: check the clock"),
                { when: formatTime(claims.iat), wait: humanize(claims.iat - now) });
  }
  return null;
}

export const ADMIT_MESSAGE = () => _("ADMIT");
export const STATIC_REFUSED = () => _("static (printed or copied) codes are not accepted here");

const RULE_COLOURS = { green: () => _("green"), yellow: () => _("yellow"), red: () => _("red") };
const CONDITIONS = {
  ">=": () => _("score at least %(value)s"), "<=": () => _("score at most %(value)s"),
  ">": () => _("score above %(value)s"), "<": () => _("score below %(value)s"),
  "=": () => _("score exactly %(value)s"), "==": () => _("score exactly %(value)s"),
};
const REFUSALS = {
  ">=": () => _("score %(score)s is not at least %(value)s"),
  "<=": () => _("score %(score)s is not at most %(value)s"),
  ">": () => _("score %(score)s is not above %(value)s"),
  "<": () => _("score %(score)s is not below %(value)s"),
  "=": () => _("score %(score)s is not exactly %(value)s"),
  "==": () => _("score %(score)s is not exactly %(value)s"),
};

/** Why the rule refused a valid code, from Rule.decide's {code, values} (rules.Rule.decide). */
export function refusalWords(refusal, credential) {
  const values = refusal.values || {};
  if (refusal.code === "colour") {
    const colour = RULE_COLOURS[values.colour || credential.colour];
    return fill(_("%(colour)s is not admitted here"), { colour: colour ? colour() : credential.colour });
  }
  const words = REFUSALS[refusal.code];
  const score = values.score ?? credential.score;
  return words ? fill(words(), { score, value: values.value }) : String(refusal.code);
}

const TERM = /^score(>=|<=|==|>|<|=)(\d+)$/;

/** A rule's canonical text in plain words (rules.Rule.describe): "Admits green codes";
 * `others`: its foreign formats' words (foreign.js describeForeign). */
export function describeRule(text, others = []) {
  const colours = [], parts = [];
  for (const term of String(text).split(",")) {
    if (RULE_COLOURS[term]) colours.push(RULE_COLOURS[term]());
    const match = TERM.exec(term);
    if (match && CONDITIONS[match[1]]) parts.push(fill(CONDITIONS[match[1]](), { value: match[2] }));
  }
  const list = new Intl.ListFormat(locale, { type: "disjunction" }).format(colours);
  parts.unshift(colours.length ? fill(_("%(colours)s codes"), { colours: list }) : _("codes of any colour"));
  const zh = locale.startsWith("zh");
  return fill(_("Admits %(what)s"),
              { what: [parts.join(zh ? "，" : ", "), ...others].join(zh ? "；" : "; ") });
}
