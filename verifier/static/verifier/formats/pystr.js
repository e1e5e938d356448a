/**
 * Python's str() and str semantics over the values loadsJson (../decode.js) returns, where a
 * SMART Health Card's screen shows them (shcshow.js): what `f"{value}"` writes for a JSON
 * value, slices and order by code point. Python writes these; the browser must write the same.
 */

import { Float } from "../decode.js";

const PRINTABLE_NOT = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** s[:n] of a Python str (code points; a lone surrogate is one). */
export function pySlice(s, n) {
  if (s.length <= n) return s;
  return Array.from(s).slice(0, n).join("");
}

/** Python's order of two str (by code point, not by UTF-16 unit): -1, 0 or 1. */
export function pyCompare(a, b) {
  if (a === b) return 0;
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return x.length < y.length ? -1 : x.length > y.length ? 1 : 0;
}

/** repr(float) (the shortest text that reads back the same, Python's layout). */
export function floatRepr(x) {
  if (Number.isNaN(x)) return "nan"; // i18n: not shown
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf"; // i18n: not shown
  const sign = x < 0 || Object.is(x, -0) ? "-" : "";
  if (x === 0) return `${sign}0.0`;
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const exp = Number(exponent);
  const point = exp + 1; // the decimal point's place after the first digit's
  if (point > -4 && point <= 16) {
    if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
    if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
    return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
  }
  const head = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  return `${sign}${head}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

const hex = (n, width) => n.toString(16).padStart(width, "0");

/** repr(str). */
export function strRepr(s) {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of s) {
    const n = c.codePointAt(0);
    if (c === quote || c === "\\") out += `\\${c}`;
    else if (c === "\t") out += "\\t"; // i18n: not shown
    else if (c === "\n") out += "\\n"; // i18n: not shown
    else if (c === "\r") out += "\\r"; // i18n: not shown
    else if (n < 0x20 || n === 0x7f) out += `\\x${hex(n, 2)}`;
    else if (n < 0x7f || !PRINTABLE_NOT.test(c)) out += c;
    else if (n <= 0xff) out += `\\x${hex(n, 2)}`;
    else if (n <= 0xffff) out += `\\u${hex(n, 4)}`;
    else out += `\\U${hex(n, 8)}`;
  }
  return out + quote;
}

/** repr() of a JSON value as loadsJson returns it. */
export function pyRepr(value) {
  if (typeof value === "string") return strRepr(value);
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(", ")}]`;
  if (value instanceof Map) {
    return `{${[...value].map(([k, v]) => `${strRepr(k)}: ${pyRepr(v)}`).join(", ")}}`;
  }
  return pyStr(value);
}

/** str() of a JSON value as loadsJson returns it (undefined: a member absent, None). */
export function pyStr(value) {
  if (value === undefined || value === null) return "None"; // i18n: not shown
  if (value === true) return "True"; // i18n: not shown
  if (value === false) return "False"; // i18n: not shown
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value === 0 ? 0 : value);
  if (value instanceof Float) return floatRepr(value.value);
  return pyRepr(value);
}
