/**
 * The page's language for its scripts: the translations of the strings they show, the locale
 * and the deployment's time zone, read from the page's data block
 * (<script type="application/json" id="i18n">, written by the server: verifier/webui.py).
 *
 * Every string a person sees goes through _("..."), with {name} placeholders filled from
 * params: _("Valid until {until}", { until }). The catalog extractor finds these calls, so the
 * string literal must be the call's first argument, as written here.
 */

const block = typeof document !== "undefined" && document.getElementById("i18n");
const data = block ? JSON.parse(block.textContent) : {};
const messages = data.messages || {};

/** The page's language tag: "zh-CN" or "en". */
export const locale = data.locale || document.documentElement.lang || "en";
/** The deployment's IANA time zone: every time shown is in it, its offset written out. */
export const timeZone = data.zone || "Asia/Shanghai"; // i18n: not shown

/** The translation of `msgid`, its {placeholders} filled from `params`. */
export function _(msgid, params) {
  const text = messages[msgid] || msgid;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

function offset(date) {
  const part = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
    .formatToParts(date).find((p) => p.type === "timeZoneName");
  const text = part ? part.value.replace("GMT", "") : "";
  return `UTC${text || "+00:00"}`; // i18n: not shown (the offset, as the server writes it)
}

/** An instant (epoch seconds) as the server writes it: "2026年12月5日 08:00 (UTC+08:00)". */
export function formatTime(epochSeconds, { seconds = false } = {}) {
  const date = new Date(epochSeconds * 1000);
  const day = new Intl.DateTimeFormat(locale, { timeZone, dateStyle: "medium" }).format(date);
  const clock = new Intl.DateTimeFormat(locale, {
    timeZone, hour: "2-digit", minute: "2-digit", second: seconds ? "2-digit" : undefined,
    hourCycle: "h23",
  }).format(date);
  return `${day} ${clock} (${offset(date)})`;
}

/** The time of day of an instant in the deployment's zone, e.g. for a live clock. */
export function formatClock(epochSeconds) {
  return new Intl.DateTimeFormat(locale, {
    timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23",
  }).format(new Date(epochSeconds * 1000));
}

/** The day of an instant in the deployment's zone, weekday included. */
export function formatDay(epochSeconds) {
  return new Intl.DateTimeFormat(locale, {
    timeZone, weekday: "long", year: "numeric", month: "long", day: "numeric",
  }).format(new Date(epochSeconds * 1000));
}

/** A number rounded to `places` and grouped as the locale groups digits. */
export function formatNumber(value, places = 0) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: places }).format(value);
}
