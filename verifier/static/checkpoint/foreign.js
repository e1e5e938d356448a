// A verdict on a code of a foreign format (an EU certificate, a SMART Health Card, an NZ COVID
// Pass: verifier/formats), as a kiosk's server gives it: which format, from which country,
// what it certifies, and the holder's name and date of birth for staff to compare with an
// identity document. The holder's name, and the code's own values, are the person's and the
// issuer's words, not the page's: they are set as text in translate="no" elements, never as
// markup. Nothing here is kept: the page forgets the verdict when the next one comes.
import { _, locale } from "/shared/i18n.js";
import { fill, humanize } from "/shared/checkpoint/words.js";
import { FOREIGN_KINDS } from "/shared/verifier/rules.js";

/** The format names, as verifier/kiosk/verdicts.py FORMAT_NAMES (one catalog entry each). */
export const FORMATS = {
  dcc: _("EU Digital COVID Certificate"),
  shc: _("SMART Health Card"),
  nzcp: _("NZ COVID Pass"),
};
/** What a code certifies (verdicts.KIND_WORDS); another kind is shown as the code has it. */
const KINDS = {
  vaccination: _("vaccination"), test: _("test"), recovery: _("recovery"),
  immunization: _("immunization"), laboratory: _("laboratory result"), pass: _("pass"),
};
/** The names of what a code shows (ForeignCode.shows); others are left out. */
const SHOWN = {
  dose: _("dose"), doses: _("doses"), product: _("product"), vaccine: _("vaccine"),
  date: _("date"), country: _("country"), issued_by: _("issued by"), test_type: _("test type"),
  test_result: _("result"), result: _("result"), results: _("results"), sample_time: _("sample taken"),
  first_positive: _("first positive test"), valid_from: _("valid from"),
  valid_until: _("valid until"), pass_type: _("pass type"),
};
const RESULTS = { not_detected: _("not detected"), detected: _("detected") };
/** The formats' plural names and the rule's refusals (kiosk/rules.py, verdicts.py). */
const PLURALS = {
  dcc: _("EU certificates"), shc: _("SMART Health Cards"), nzcp: _("NZ COVID Passes"),
};
const NOT_ACCEPTED = {
  dcc: _("this checkpoint does not accept EU certificates"),
  shc: _("this checkpoint does not accept SMART Health Cards"),
  nzcp: _("this checkpoint does not accept NZ COVID Passes"),
};

/** Whether a verdict is on a foreign code. */
export const isForeign = (v) => !!v.format && v.format !== "healthcode";  // i18n: not shown

/** An element holding someone else's words: a name, a code's value. */
function kept(text) {
  const span = document.createElement("span");
  span.setAttribute("translate", "no");
  span.textContent = text;
  return span;
}

/** A translated template's {placeholders} replaced by `params` (text or nodes): nodes. */
function compose(template, params) {
  const parts = [];
  let last = 0;
  for (const match of template.matchAll(/\{(\w+)\}/g)) {
    parts.push(template.slice(last, match.index), match[1] in params ? params[match[1]] : match[0]);
    last = match.index + match[0].length;
  }
  parts.push(template.slice(last));
  return parts.filter((part) => part !== "");
}

function region(code) {
  try {
    return new Intl.DisplayNames([locale], { type: "region" }).of(code);  // i18n: not shown
  } catch (e) {
    return null;
  }
}

/** Where the code comes from: the country's name in the reader's language, else the
 * issuer's address (a SMART card names no country). */
function origin(v) {
  const country = v.country && region(v.country);
  if (country && country !== v.country) return country;
  if (v.country) return kept(v.country);
  try { return kept(new URL(v.issuer).host); } catch (e) { return kept(v.issuer || "?"); }
}

const kind = (v) => KINDS[v.kind] || kept(v.kind);

/** The verdict's line: the format and where it is from (and a refusal's reason). */
export function foreignLine(v) {
  const line = compose(_("{format} from {origin}"), { format: FORMATS[v.format], origin: origin(v) });
  return v.state === "deny" ? [...line, ` · ${v.message}`] : line;
}

/** The line under it: what the code certifies and shows, and when it expires. */
export function foreignDetail(v, secondsLeft) {
  const parts = [compose(_("certifies: {kind}"), { kind: kind(v) })];
  for (const [name, value] of Object.entries(v.shows || {})) {
    if (!(name in SHOWN)) continue;
    const shown = name === "test_result" && value in RESULTS ? RESULTS[value] : kept(value);
    parts.push(compose(_("{name}: {value}"), { name: SHOWN[name], value: shown }));
  }
  parts.push([secondsLeft === null || secondsLeft === undefined ? _("no expiry date")
    : _("expires in {time}", { time: humanize(secondsLeft) })]);
  return parts.flatMap((part, i) => (i ? [" · ", ...part] : part));
}

/** The note staff act on: the name and date of birth to compare with an identity document. */
export function checkId(v) {
  return compose(_("Check ID: {name}, born {date}"),
                 { name: kept(v.name), date: v.birth_date || "?" });
}

/** The verdict as a screen reader says it, as nodes (the name in its own element). */
export function spokenForeign(v) {
  const format = FORMATS[v.format];
  if (v.state === "deny") return [_("Deny, {format}: {why}", { format, why: v.message })];
  return compose(_("Admit, {format}, {kind}. Check ID: {name}, born {date}"),
                 { format, kind: kind(v), name: kept(v.name), date: v.birth_date || "?" });
}

/** Why the rule refused a valid foreign code, from Rule.decide's {code, values}. */
export function foreignRefusal(refusal) {
  const { format, kind: code } = refusal.values || {};
  if (refusal.code === "format") return NOT_ACCEPTED[format] || String(format);
  return fill(_("%(format)s of this kind (%(kind)s) are not accepted here"),
              { format: PLURALS[format] || format, kind: KINDS[code] || code });
}

/** The foreign formats a rule admits (its `foreign`: format -> Set of kinds), in words
 * (rules.Rule.describe). */
export function describeForeign(foreign) {
  const or = new Intl.ListFormat(locale, { type: "disjunction" });
  return [...foreign].map(([name, kinds]) => (kinds.has("any")
    ? fill(_("%(format)s of any kind"), { format: PLURALS[name] })
    : fill(_("%(format)s for %(kinds)s"), {
      format: PLURALS[name],
      kinds: or.format(FOREIGN_KINDS[name].filter((k) => kinds.has(k)).map((k) => KINDS[k])),
    })));
}
