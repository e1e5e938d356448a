/**
 * Python's text rules where the verifier relies on them: str.isspace / strip, isprintable,
 * Decimal's literals, re.compile's verdict, and Python's JSON (json.loads: big integers stay
 * exact, 1.0 is a float, NaN and Infinity are read, the last of duplicate keys wins).
 */

import { PyDict, PyFloat } from "./pyvalues.js";

/** The characters Python's str.isspace() (and a str pattern's \s) calls whitespace. */
export const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"; // i18n: not shown
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's str.strip(). */
export const pyStrip = (s) => s.replace(EDGE_SPACE, "");

/** Python's c.isprintable() and not c.isspace(), for one code point. */
export const visible = (c) => c !== " " && !NOT_PRINTABLE.test(c);

/** The significand digits of Decimal(text) as a bigint (0 for NaN and infinities with no
 * payload), or null where Python raises InvalidOperation. */
export function decimalDigits(text) {
  const t = pyStrip(text).replace(/(?<=\d)_(?=\d)/g, "");
  const special = /^([+-]?)(?:inf|infinity|(s?nan)(\d*))$/i.exec(t);
  if (special) return BigInt(`${special[1]}${special[3] || "0"}`.replace("+", ""));
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:e[+-]?\d+)?$/i.exec(t);
  if (!m || (m[2] + (m[3] ?? "")) === "") return null;
  return BigInt(`${m[1] === "-" ? "-" : ""}${m[2]}${m[3] ?? ""}`);
}

/** Whether Python's re.compile accepts a pattern (approximated by JavaScript's own parser,
 * with Python's named groups and inline flags translated). */
export function pyRegexOk(pattern) {
  try {
    new RegExp(pattern.replace(/\(\?P</g, "(?<").replace(/^\(\?[aiLmsux]+\)/, ""));
    return true;
  } catch {
    return false;
  }
}

/** Python's str() of a JSON value (what the trust list's issuer "name" becomes). */
export function pyStr(v) {
  if (typeof v === "string") return v;
  return pyRepr(v);
}

function pyRepr(v) {
  if (v === null) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return floatRepr(v.value);
  if (typeof v === "string") return `'${v.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(", ")}]`;
  if (v instanceof PyDict) return `{${v.keys.map((k, i) => `${pyRepr(k)}: ${pyRepr(v.values[i])}`).join(", ")}}`; // i18n: not shown
  return String(v);
}

function floatRepr(x) {
  if (Number.isNaN(x)) return "nan";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${x.toFixed(0)}.0`.replace(/^-0\.0$/, Object.is(x, -0) ? "-0.0" : "0.0");
  const [mantissa, exp] = x.toExponential().split("e");
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  return String(x);
}

/** Python's json.loads failed (JSONDecodeError, RecursionError, UnicodeDecodeError). */
export class JsonError extends Error {}

/** Python's json.detect_encoding and decode for bytes; text passes through. UTF-32 (which
 * TextDecoder lacks) and UTF-8-encoded surrogates (Python's "surrogatepass") are refused. */
export function jsonText(data) {
  if (typeof data === "string") return data;
  const b = data;
  const starts = (...bytes) => bytes.every((x, i) => b[i] === x);
  let encoding = "utf-8";
  let start = 0;
  if (starts(0xff, 0xfe, 0, 0) || starts(0, 0, 0xfe, 0xff)) throw new JsonError("utf-32"); // i18n: not shown
  if (starts(0xff, 0xfe) || starts(0xfe, 0xff)) { encoding = b[0] === 0xff ? "utf-16le" : "utf-16be"; start = 2; }
  else if (starts(0xef, 0xbb, 0xbf)) start = 3;
  else if (b.length >= 4) {
    if (!b[0]) encoding = b[1] ? "utf-16be" : "utf-32";
    else if (!b[1]) encoding = b[2] || b[3] ? "utf-16le" : "utf-32";
  } else if (b.length === 2) {
    if (!b[0]) encoding = "utf-16be";
    else if (!b[1]) encoding = "utf-16le";
  }
  if (encoding === "utf-32") throw new JsonError("utf-32"); // i18n: not shown
  try {
    return new TextDecoder(encoding, { fatal: true, ignoreBOM: true }).decode(b.subarray(start));
  } catch {
    throw new JsonError("undecodable text"); // i18n: not shown
  }
}

const MAX_JSON_DEPTH = 900;
const MAX_INT_DIGITS = 4300;
const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
const STRING_CHUNK = /[^"\\\x00-\x1f]*/y;
const ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

/** Python's json.loads(data): objects as PyDict, ints as bigint, floats as PyFloat. */
export function pyJson(data) {
  const text = jsonText(data);
  if (text.charCodeAt(0) === 0xfeff) throw new JsonError("Unexpected UTF-8 BOM"); // i18n: not shown
  let pos = 0;
  const ws = () => { while (" \t\n\r".includes(text[pos]) && pos < text.length) pos++; };
  const bad = () => { throw new JsonError(`bad JSON at ${pos}`); }; // i18n: not shown
  function string() {
    let out = "";
    pos++;
    for (;;) {
      STRING_CHUNK.lastIndex = pos;
      out += STRING_CHUNK.exec(text)[0];
      pos = STRING_CHUNK.lastIndex;
      const c = text[pos++];
      if (c === '"') return out;
      if (c !== "\\") bad();
      const e = text[pos++];
      if (e in ESCAPES) out += ESCAPES[e];
      else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(pos, pos + 4))) {
        out += String.fromCharCode(parseInt(text.slice(pos, pos + 4), 16));
        pos += 4;
      } else bad();
    }
  }
  function value(depth) {
    if (depth > MAX_JSON_DEPTH) throw new JsonError("maximum recursion depth exceeded"); // i18n: not shown
    ws();
    const c = text[pos];
    if (c === '"') return string();
    if (c === "{") {
      const obj = new PyDict();
      pos++; ws();
      if (text[pos] === "}") { pos++; return obj; }
      for (;;) {
        ws();
        if (text[pos] !== '"') bad();
        const key = string();
        ws();
        if (text[pos++] !== ":") bad();
        obj.set(key, value(depth + 1));
        ws();
        const sep = text[pos++];
        if (sep === "}") return obj;
        if (sep !== ",") bad();
      }
    }
    if (c === "[") {
      const arr = [];
      pos++; ws();
      if (text[pos] === "]") { pos++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        const sep = text[pos++];
        if (sep === "]") return arr;
        if (sep !== ",") bad();
      }
    }
    for (const [word, v] of [["null", null], ["true", true], ["false", false],
      ["NaN", new PyFloat(NaN)], ["Infinity", new PyFloat(Infinity)], ["-Infinity", new PyFloat(-Infinity)]]) { // i18n: not shown
      if (text.startsWith(word, pos)) { pos += word.length; return v; }
    }
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (!m) bad();
    pos = NUMBER.lastIndex;
    if (m[1] || m[2]) return new PyFloat(Number(m[0]));
    // Python refuses to read an int of more than 4300 digits (sys.get_int_max_str_digits).
    if (m[0].replace("-", "").length > MAX_INT_DIGITS) throw new JsonError("int too long"); // i18n: not shown
    return BigInt(m[0]);
  }
  const result = value(0);
  ws();
  if (pos !== text.length) bad();
  return result;
}
