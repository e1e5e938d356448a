/**
 * The values the verifier's Python sees after cbor2 (or json) decoding, and Python's equality
 * over them: what decides which map keys collide and which claim checks pass. The verifier's
 * JavaScript (pycbor.js, claims.js, ...) works on these so that it accepts and refuses
 * exactly what verifier/*.py does.
 *
 *   int -> bigint; bool -> boolean; None -> null; str -> string; bytes -> Uint8Array;
 *   list -> Array; tuple -> Tuple; dict -> PyDict (frozen: cbor2's FrozenDict, not a dict);
 *   float -> PyFloat; Decimal, Fraction, complex -> PyNumber; set/frozenset -> PySet;
 *   CBORTag -> Tag; CBORSimpleValue -> Simple; undefined, break_marker -> singletons;
 *   datetime, date, UUID, regex, MIME, IP address/network -> Opaque.
 */

export class Tuple { constructor(items) { this.items = items; } }
export class PyFloat { constructor(value) { this.value = value; } }
export class Tag { constructor(tag, value) { this.tag = tag; this.value = value; } }
export class Simple { constructor(value) { this.value = value; } }
export class PySet { constructor(items, frozen) { this.items = items; this.frozen = frozen; } }
/** A value of a semantic tag: `kind` names it, `key` is what Python's == compares. */
export class Opaque { constructor(kind, key) { this.kind = kind; this.key = key; } }
/**
 * Decimal, Fraction or complex. `exact` is [numerator, denominator] (bigints) when the value is
 * a finite real, else null; `special` is "nan", "snan", "inf", "-inf" or "complex".
 */
export class PyNumber {
  constructor(kind, exact, special = null, imag = 0) {
    this.kind = kind; this.exact = exact; this.special = special; this.imag = imag;
  }
}
export const UNDEFINED = Object.freeze({ repr: "undefined" });
export const BREAK = Object.freeze({ repr: "break_marker" });

/** A Python dict (or cbor2 FrozenDict when `frozen`): insertion-ordered, Python equality. */
export class PyDict {
  constructor(frozen = false) { this.keys = []; this.values = []; this.frozen = frozen; }

  get size() { return this.keys.length; }

  /** Python's d[key] = value: an equal key keeps its place and object, takes the value. */
  set(key, value) {
    const at = this.indexOf(key);
    if (at < 0) { this.keys.push(key); this.values.push(value); } else this.values[at] = value;
  }

  indexOf(key) {
    for (let i = 0; i < this.keys.length; i++) if (keyEq(this.keys[i], key)) return i;
    return -1;
  }

  has(key) { return this.indexOf(key) >= 0; }

  /** Python's d.get(key): the value, or undefined (never Python's None) when absent. */
  get(key) {
    const at = this.indexOf(key);
    return at < 0 ? undefined : this.values[at];
  }
}

/** Anything cbor2 (or verifier/cose.py's loads_strict) refuses. */
export class DecodeError extends Error {}

/** Raised where Python raises TypeError (an unhashable key). */
export class PyTypeError extends Error {}

function gcd(a, b) {
  if (a < 0n) a = -a;
  if (b < 0n) b = -b;
  while (b) [a, b] = [b, a % b];
  return a;
}

/** [n, d] in lowest terms with d > 0. */
export function ratio(n, d) {
  if (d < 0n) { n = -n; d = -d; }
  const g = gcd(n, d) || 1n;
  return [n / g, d / g];
}

/** The exact value of a finite double as [n, d]. */
export function floatExact(x) {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigUint64(0);
  const sign = bits >> 63n ? -1n : 1n;
  const exponent = Number((bits >> 52n) & 0x7ffn);
  let mantissa = bits & 0xfffffffffffffn;
  let e = exponent - 1075;
  if (exponent) mantissa |= 1n << 52n; else e = -1074;
  if (e >= 0) return [sign * (mantissa << BigInt(e)), 1n];
  return ratio(sign * mantissa, 1n << BigInt(-e));
}

/** The real number a value stands for in Python's ==: [n, d], "nan", "inf", "-inf", or null
 * when it is no number (or a complex with an imaginary part: then "complex"). */
export function numeric(v) {
  if (typeof v === "bigint") return [v, 1n];
  if (typeof v === "boolean") return [v ? 1n : 0n, 1n];
  if (v instanceof PyFloat) {
    if (Number.isNaN(v.value)) return "nan";
    if (!Number.isFinite(v.value)) return v.value > 0 ? "inf" : "-inf";
    return floatExact(v.value);
  }
  if (v instanceof PyNumber) return v.exact ?? v.special;
  return null;
}

function numEq(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) return a[0] === b[0] && a[1] === b[1];
  return typeof a === "string" && a === b && a !== "nan" && a !== "snan" && a !== "complex";
}

/** Whether Python's dict finds key `b` under key `a`: the same object, or equal with equal
 * hashes (a CBORSimpleValue equals its int but hashes as a tuple). */
export function keyEq(a, b) {
  if (a === b) return true;
  if ((a instanceof Simple && typeof b !== "object") || (b instanceof Simple && typeof a !== "object")) {
    return false;
  }
  return pyEq(a, b);
}

/** Python's a == b over decoded values. */
export function pyEq(a, b) {
  if (a === b) {
    return !(a instanceof PyFloat && Number.isNaN(a.value)); // a NaN key is found by identity
  }
  const na = numeric(a);
  if (na !== null) {
    const nb = numeric(b);
    if (na === "complex" || nb === "complex") return complexEq(a, b);
    return nb !== null && numEq(na, nb);
  }
  if (typeof a === "string" || typeof b === "string") return a === b;
  if (a instanceof Uint8Array) return b instanceof Uint8Array && bytesEqual(a, b);
  if (a instanceof Tuple || a instanceof Simple) return seqEq(a, b);
  if (a instanceof PyDict) {
    return b instanceof PyDict && a.size === b.size
      && a.keys.every((k, i) => b.has(k) && pyEq(a.values[i], b.get(k)));
  }
  if (a instanceof PySet) {
    return b instanceof PySet && a.items.length === b.items.length
      && a.items.every((x) => b.items.some((y) => pyEq(x, y)));
  }
  if (a instanceof Tag) return b instanceof Tag && a.tag === b.tag && pyEq(a.value, b.value);
  if (a instanceof Opaque) return b instanceof Opaque && a.kind === b.kind && a.key === b.key;
  return false;
}

function complexEq(a, b) {
  const parts = (v) => (v instanceof PyNumber && v.kind === "complex"
    ? [v.exact ?? v.special, v.imag] : [numeric(v), 0]);
  const [ra, ia] = parts(a);
  const [rb, ib] = parts(b);
  return ra !== null && rb !== null && ia === ib && numEq(ra, rb);
}

// A CBORSimpleValue is a one-item tuple in 5.9's C decoder, and equal to its value too.
function seqEq(a, b) {
  const items = (v) => (v instanceof Tuple ? v.items : v instanceof Simple ? [BigInt(v.value)] : null);
  if (a instanceof Simple && typeof b === "bigint") return BigInt(a.value) === b;
  const x = items(a);
  const y = items(b);
  return y !== null && x.length === y.length && x.every((v, i) => pyEq(v, y[i]));
}

export function bytesEqual(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws PyTypeError where hash(value) raises in Python. */
export function checkHashable(v) {
  if (Array.isArray(v) || (v instanceof PyDict && !v.frozen) || (v instanceof PySet && !v.frozen)) {
    throw new PyTypeError("unhashable type"); // i18n: not shown
  }
  if (v instanceof PyNumber && v.special === "snan") {
    throw new PyTypeError("Cannot hash a signaling NaN value"); // i18n: not shown
  }
  if (v instanceof Tuple) v.items.forEach(checkHashable);
  if (v instanceof Tag) checkHashable(v.value);
  if (v instanceof PyDict) v.values.forEach(checkHashable);
}

/** Python's type(v) is int. */
export const isInt = (v) => typeof v === "bigint";
/** Python's isinstance(v, dict) (a FrozenDict is not one). */
export const isDict = (v) => v instanceof PyDict && !v.frozen;
/** Python's len(s) of a str: code points. */
export function pyLen(s) {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) i++;
    }
    n++;
  }
  return n;
}

/** A bigint as a Number when that is exact, else the bigint (both compare with < and >). */
export const num = (v) => (v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER
  ? Number(v) : v);

/** A plain JavaScript value (JSON.parse's, or a literal) as the value Python's json gives. */
export function fromJs(v) {
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : new PyFloat(v);
  if (Array.isArray(v)) return v.map(fromJs);
  if (v !== null && typeof v === "object" && !(v instanceof Uint8Array) && !(v instanceof PyDict)) {
    const d = new PyDict();
    for (const [k, x] of Object.entries(v)) d.set(k, fromJs(x));
    return d;
  }
  return v;
}

export const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
