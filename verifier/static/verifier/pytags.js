/**
 * cbor2's semantic tags (5.9, C decoder), as pycbor.js decodes them: each handler reads the
 * tag's content from the decoder and returns the value Python gets, or throws DecodeError
 * where cbor2 (or Python under it: datetime, Decimal, Fraction, re, uuid, ipaddress) raises.
 */

import {
  DecodeError, Opaque, PyDict, PyFloat, PyNumber, PySet, Simple, Tag, Tuple, checkHashable,
  floatExact, keyEq, numeric, ratio,
} from "./pyvalues.js";
import { PY_SPACE, decimalDigits, pyRegexOk } from "./pytext.js";

const fail = (message) => { throw new DecodeError(message); };
const isNumber = (v) => numeric(v) !== null || (v instanceof PyNumber);
const MIN_EPOCH = -62135596800;
const MAX_EPOCH = 253402300800;

function bignum(d) {
  const bytes = d.decode();
  if (!(bytes instanceof Uint8Array)) fail("invalid bignum value");
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function validDate(y, m, day) {
  if (y < 1 || y > 9999 || m < 1 || m > 12 || day < 1) return false;
  return day <= new Date(Date.UTC(2000, m, 0)).getUTCDate() - (m === 2 && !leap(y) ? 1 : 0);
}
const leap = (y) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

const DATETIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6})\d*)?(?:Z|([+-]\d\d):(\d\d))\n?$/;

function datetime(text) {
  const m = DATETIME.exec(text);
  if (!m) fail("invalid datetime string");
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const offset = m[8] === undefined ? 0 : Math.abs(Number(m[8])) * 60 + Number(m[9]);
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59 || offset >= 24 * 60) fail("invalid datetime");
  const sign = m[8]?.startsWith("-") ? 1 : -1;
  return new Opaque("datetime", Date.UTC(y, mo - 1, d, h, mi, s) / 1000 + sign * offset * 60
    + Number((m[7] ?? "").padEnd(6, "0")) / 1e6);
}

// Decimal((sign, digits, exp)) with the digits of Decimal(sig), as cbor2 builds tag 4; and
// sig * Decimal(2) ** exp for tag 5. Values past what equality here needs keep a textual key.
function decimal(d, bigfloat) {
  const t = d.decode(true, true);
  if (!(t instanceof Tuple) || t.items.length !== 2) fail(`Incorrect tag ${bigfloat ? 5 : 4} payload`); // i18n: not shown
  const [exp, given] = t.items;
  let sig = given;
  // cbor2 calls Decimal through PyObject_CallFunction(..., "O", sig): a tuple is taken as the
  // arguments, so () is Decimal() (0) and (x) or (x, None) is Decimal(x).
  if (sig instanceof Tuple && !bigfloat) {
    const items = sig.items;
    if (items.length === 0) sig = 0n;
    else if ((items.length === 1 || (items.length === 2 && items[1] === null)) && !(items[0] instanceof Tuple)) sig = items[0];
    else fail("Decimal arguments"); // i18n: not shown
  }
  const int = (v) => (typeof v === "bigint" || typeof v === "boolean" ? BigInt(v) : null);
  if (bigfloat) {
    const e = int(exp);
    const decimalSig = sig instanceof PyNumber && sig.kind === "decimal" && sig.special !== "snan";
    if (e !== null && decimalSig && e <= 3321928n) return new PyNumber("decimal", null, `bigfloat:${sig.exact ?? sig.special}:${e}`);
    const m = int(sig);
    if (e === null || m === null) fail("unsupported operand types for bigfloat");
    if (e > 3321928n) fail("overflow");
    if (e >= 0n && e <= 93n && (m * 2n ** e).toString().replace("-", "").length <= 28) {
      return new PyNumber("decimal", [m * 2n ** e, 1n]);
    }
    return new PyNumber("decimal", null, `bigfloat:${m}:${e}`);
  }
  let digits;
  if (sig instanceof Simple) digits = BigInt(sig.value);
  else if (int(sig) !== null) digits = int(sig);
  else if (sig instanceof PyFloat) {
    const x = sig.value;
    if (!Number.isFinite(x)) digits = 0n;
    else if (Number.isInteger(x)) digits = BigInt(x);
    else { const [n, k] = floatExact(x); digits = n * 5n ** BigInt(k.toString(2).length - 1); }
  } else if (typeof sig === "string") digits = decimalDigits(sig);
  else fail("conversion to Decimal"); // i18n: not shown
  if (digits === null) fail("invalid Decimal literal"); // i18n: not shown
  const e = int(exp);
  if (e !== null) {
    // Python builds it through its widest context: adjusted exponent <= 10**18 - 1, e >= Etiny.
    const adjusted = e + BigInt((digits < 0n ? -digits : digits).toString().length) - 1n;
    if (adjusted > 999999999999999999n || e < -1999999999999999997n) fail("InvalidOperation");
    if (e > 4000n || e < -4000n) return new PyNumber("decimal", null, `dec:${digits}e${e}`);
    return new PyNumber("decimal", e >= 0n ? [digits * 10n ** e, 1n] : ratio(digits, 10n ** -e));
  }
  if (exp === "F") return new PyNumber("decimal", null, "inf");
  if (exp === "n") return new PyNumber("decimal", null, "nan");
  if (exp === "N") return new PyNumber("decimal", null, "snan");
  return fail("bad decimal exponent");
}

// Fraction(*items), as cbor2 builds tag 30: () is 0; (x) takes an int, a float, a Fraction, a
// finite Decimal or a numeric text; (n, d) takes two rationals (ints or Fractions), d != 0.
function rational(d) {
  const t = d.decode(true, true);
  if (!(t instanceof Tuple)) fail("error decoding rational: input value was not a tuple");
  const rationalOf = (v) => (typeof v === "bigint" || typeof v === "boolean" ? [BigInt(v), 1n]
    : v instanceof PyNumber && v.kind === "fraction" ? v.exact : null);
  if (t.items.length === 0) return new PyNumber("fraction", [0n, 1n]);
  if (t.items.length === 2 && t.items[1] !== null) {
    const [a, b] = t.items.map(rationalOf);
    if (a === null || b === null || b[0] === 0n) fail("error decoding rational");
    return new PyNumber("fraction", ratio(a[0] * b[1], a[1] * b[0]));
  }
  if (t.items.length > 2) fail("error decoding rational"); // (x, None) is (x)
  const [x] = t.items;
  const exact = rationalOf(x) ?? (x instanceof PyFloat && Number.isFinite(x.value) ? floatExact(x.value)
    : x instanceof PyNumber && x.kind === "decimal" ? x.exact
      : typeof x === "string" ? fractionFromText(x) : null);
  if (exact === null) fail("error decoding rational");
  return new PyNumber("fraction", exact);
}

const SPACE = `[${PY_SPACE}]*`;
const FRACTION_TEXT = new RegExp(`^${SPACE}([-+]?)(?=\\d|\\.\\d)(\\d*|\\d+(?:_\\d+)*)(?:(?:/(\\d+(?:_\\d+)*))?|(?:\\.(d*|\\d+(?:_\\d+)*))?(?:[eE]([-+]?\\d+(?:_\\d+)*))?)${SPACE}$`); // i18n: not shown

// Fraction(text), ASCII digits (Python's regular expression, its `d*` slip included).
function fractionFromText(text) {
  const m = FRACTION_TEXT.exec(text);
  if (!m || (m[4] ?? "").includes("d")) return null;
  const int = (digits) => BigInt(digits.replaceAll("_", "") || "0");
  const sign = m[1] === "-" ? -1n : 1n;
  if (m[3] !== undefined) {
    const den = int(m[3]);
    return den === 0n ? null : ratio(sign * int(m[2]), den);
  }
  const decimals = (m[4] ?? "").replaceAll("_", "");
  let n = int(m[2] + decimals);
  let den = 10n ** BigInt(decimals.length);
  const exp = m[5] === undefined ? 0n : BigInt(m[5].replaceAll("_", ""));
  if (exp > 100000n || exp < -100000n) return null;
  if (exp >= 0n) n *= 10n ** exp; else den *= 10n ** -exp;
  return ratio(sign * n, den);
}

/** Tag number (bigint) -> handler(decoder). */
export const SEMANTIC = new Map([
  [0n, (d) => {
    const s = d.decode();
    if (typeof s !== "string") fail("invalid datetime value");
    return d.share(datetime(s));
  }],
  [1n, (d) => {
    const n = d.decode();
    const v = numeric(n);
    if (!isNumber(n)) fail("invalid timestamp value");
    // datetime.fromtimestamp takes an int or a float: a Decimal or Fraction is a TypeError.
    if (n instanceof PyNumber || !Array.isArray(v)) fail("error decoding datetime from epoch");
    const seconds = Number(v[0]) / Number(v[1]);
    if (!(seconds >= MIN_EPOCH && seconds < MAX_EPOCH)) fail("error decoding datetime from epoch");
    return d.share(new Opaque("datetime", seconds));
  }],
  [2n, (d) => d.share(bignum(d))],
  [3n, (d) => d.share(-1n - bignum(d))],
  [4n, (d) => d.share(decimal(d, false))],
  [5n, (d) => d.share(decimal(d, true))],
  [25n, (d) => {
    if (d.stringrefs === null) fail("string reference outside of namespace");
    const index = d.decode(false, true);
    if (typeof index !== "bigint") fail("invalid string reference");
    if (index < 0n || index >= BigInt(d.stringrefs.length)) fail("string reference not found");
    return d.stringrefs[Number(index)];
  }],
  [28n, (d) => {
    const old = d.sharedIndex;
    d.sharedIndex = d.shareables.length;
    d.shareables.push(null);
    const value = d.decode();
    d.sharedIndex = old;
    return value;
  }],
  [29n, (d) => {
    const index = d.decode(false, true);
    if (typeof index !== "bigint") fail("invalid shared reference");
    if (index < 0n || index >= BigInt(d.shareables.length)) fail("shared reference not found");
    const value = d.shareables[Number(index)];
    if (value === null) fail("shared value has not been initialized");
    return value;
  }],
  [30n, (d) => d.share(rational(d))],
  [35n, (d) => {
    const p = d.decode(false, true);
    if (p instanceof Opaque && p.kind === "regex") return d.share(p); // re.compile(a pattern) is it
    const text = p instanceof Uint8Array ? String.fromCharCode(...p) : p;
    if (typeof text !== "string" || !pyRegexOk(text)) fail("error decoding regular expression");
    return d.share(new Opaque("regex", `${typeof p}:${text}`));
  }],
  [36n, (d) => {
    const m = d.decode(false, true);
    if (typeof m !== "string" && m !== null) fail("error decoding MIME message"); // StringIO(None) is empty // i18n: not shown
    return d.share(new Opaque("mime", {}));
  }],
  [37n, (d) => {
    const b = d.decode(false, true);
    if (!(b instanceof Uint8Array) || b.length !== 16) fail("error decoding UUID value"); // i18n: not shown
    return d.share(new Opaque("uuid", Array.from(b).join()));
  }],
  [100n, (d) => {
    const n = d.decode();
    if (!isNumber(n)) fail("invalid timestamp value");
    if (typeof n !== "bigint" && typeof n !== "boolean") fail("fromordinal needs an int");
    const ordinal = BigInt(n) + 719163n;
    if (ordinal < 1n || ordinal > 3652059n) fail("ordinal out of range");
    return d.share(new Opaque("date", Number(ordinal)));
  }],
  [256n, (d) => {
    const old = d.stringrefs;
    d.stringrefs = [];
    try { return d.decode(); } finally { d.stringrefs = old; }
  }],
  [258n, (d) => {
    const a = d.decode(true);
    const items = a instanceof Tuple ? a.items : Array.isArray(a) ? a : fail("invalid set array");
    try { items.forEach(checkHashable); } catch (e) { throw new DecodeError(e.message); }
    const unique = [];
    for (const x of items) if (!unique.some((y) => keyEq(y, x))) unique.push(x);
    return d.share(new PySet(unique, d.immutable));
  }],
  [260n, (d) => {
    const b = d.decode(false, true);
    if (!(b instanceof Uint8Array) || ![4, 6, 16].includes(b.length)) fail("invalid ipaddress value");
    return d.share(b.length === 6 ? new Tag(260n, b) : new Opaque("ip", Array.from(b).join()));
  }],
  [261n, (d) => {
    const m = d.decode(false, true);
    if (!(m instanceof PyDict) || m.frozen || m.size !== 1) fail("invalid ipnetwork value");
    const [b, prefix] = [m.keys[0], m.values[0]];
    if (!(b instanceof Uint8Array) || typeof prefix !== "bigint" || ![4, 16].includes(b.length)) {
      fail("invalid ipnetwork value");
    }
    if (prefix < 0n || prefix > BigInt(b.length * 8)) fail("invalid prefix length");
    return d.share(new Opaque("ipnet", `${Array.from(b).join()}/${prefix}`));
  }],
  [1004n, (d) => {
    const s = d.decode();
    if (typeof s !== "string") fail("invalid date value");
    const m = /^(\d{4})-(\d\d)-(\d\d)/.exec(s);
    if (!m || !validDate(Number(m[1]), Number(m[2]), Number(m[3]))) fail("invalid date string");
    return d.share(new Opaque("date", s.slice(0, 10)));
  }],
  [43000n, (d) => {
    const t = d.decode(true, true);
    if (!(t instanceof Tuple) || t.items.length !== 2) fail("Incorrect tag 43000 payload"); // i18n: not shown
    const [re, im] = t.items;
    if (!(re instanceof PyFloat && im instanceof PyFloat)) fail("Incorrect tag 43000 payload"); // i18n: not shown
    const real = numeric(re);
    return d.share(new PyNumber("complex", Array.isArray(real) ? real : null,
      im.value === 0 ? (Array.isArray(real) ? null : real) : "complex", im.value));
  }],
  [55799n, (d) => d.decode()],
]);

