/**
 * The CBOR and JSON a verifier reads (docs/FORMAT.md, "What a verifier reads"), exactly the
 * language verifier/cborscan.py and verifier/jws.py's loads_json accept, so that both verifiers
 * agree by construction rather than by modelling a general-purpose decoder.
 *
 * CBOR: integers (any head length) -> bigint; byte strings -> Uint8Array; text -> string
 * (definite or indefinite, chunks of the same type; each chunk UTF-8 on its own, as cbor2
 * reads them); arrays -> Array; maps -> Map (keys bigint or string, no two equal); false,
 * true, null; undefined -> UNDEFINED; floats -> Float; tag 18 (only as the outermost item,
 * only where the caller names it) -> Tagged; and, only where the caller lists them as
 * `innerTags` (a foreign payload's date tags, 0 and 1), those tags around any value that is not
 * a map key -> Tagged. At most MAX_DEPTH deep (a tag counts a level). Anything else:
 * DecodeError.
 *
 * JSON: RFC 8259, UTF-8 without a BOM, no NaN or Infinity, no key twice, integers within
 * +-(2^53 - 1) -> number, other numbers -> Float, objects -> Map, at most MAX_DEPTH deep.
 */

export const MAX_DEPTH = 16;
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Input outside the language (or invalid): the callers refuse it as malformed. */
export class DecodeError extends Error {}
/** A float (CBOR major type 7, or a JSON number that is no integer): never an integer. */
export class Float { constructor(value) { this.value = value; } }
/** A tag around a value (tag 18, COSE_Sign1; the `innerTags` a caller allows). */
export class Tagged { constructor(tag, value) { this.tag = tag; this.value = value; } }
export const UNDEFINED = Object.freeze({ undefined: true });

const fail = (message) => { throw new DecodeError(message); };

class Cbor {
  constructor(bytes, tag, innerTags) {
    this.bytes = bytes; this.pos = 0; this.tag = tag; this.innerTags = innerTags;
  }

  take(n) {
    if (n > BigInt(this.bytes.length - this.pos)) fail("truncated CBOR"); // i18n: not shown
    const start = this.pos;
    this.pos += Number(n);
    return this.bytes.subarray(start, this.pos);
  }

  /** [major, info, argument (bigint; null for an indefinite length)]. */
  head() {
    const initial = this.take(1n)[0];
    const info = initial & 0x1f;
    if (info < 24) return [initial >> 5, info, BigInt(info)];
    if (info < 28) {
      let n = 0n;
      for (const b of this.take(BigInt(1 << (info - 24)))) n = (n << 8n) | BigInt(b);
      return [initial >> 5, info, n];
    }
    if (info === 31) return [initial >> 5, info, null];
    return fail("reserved additional information"); // i18n: not shown
  }

  atBreak() {
    if (this.bytes[this.pos] !== 0xff) return false;
    this.pos++;
    return true;
  }

  item(depth) {
    if (depth > MAX_DEPTH) fail("nested too deeply"); // i18n: not shown
    const [major, info, n] = this.head();
    if (major < 2) {
      if (n === null) fail("indefinite integer"); // i18n: not shown
      return major === 0 ? n : -1n - n;
    }
    if (major < 4) return this.string(major, n);
    if (major === 4) {
      const items = [];
      while (n === null ? !this.atBreak() : BigInt(items.length) < n) items.push(this.item(depth + 1));
      return items;
    }
    if (major === 5) return this.map(n, depth);
    if (major === 6) {
      if (this.innerTags.includes(n)) return new Tagged(Number(n), this.item(depth + 1));
      if (depth !== 0 || this.tag === null || n !== BigInt(this.tag)) fail("a tag outside the format"); // i18n: not shown
      return new Tagged(this.tag, this.item(depth + 1));
    }
    if (info === 20 || info === 21) return info === 21;
    if (info === 22) return null;
    if (info === 23) return UNDEFINED;
    if (info === 25) return new Float(half(Number(n)));
    if (info === 26 || info === 27) {
      const view = new DataView(new ArrayBuffer(8));
      view.setBigUint64(0, n);
      return new Float(info === 26 ? view.getFloat32(4) : view.getFloat64(0));
    }
    return fail("a simple value outside the format"); // i18n: not shown
  }

  string(major, n) {
    const chunks = [];
    if (n !== null) chunks.push(this.take(n));
    else {
      while (!this.atBreak()) {
        const [chunkMajor, , length] = this.head();
        if (chunkMajor !== major || length === null) fail("a chunk of another kind"); // i18n: not shown
        chunks.push(this.take(length));
      }
    }
    if (major === 3) {
      try {
        return chunks.map((c) => UTF8.decode(c)).join("");
      } catch {
        return fail("text is not UTF-8"); // i18n: not shown
      }
    }
    const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let at = 0;
    for (const c of chunks) { out.set(c, at); at += c.length; }
    return out;
  }

  map(n, depth) {
    const map = new Map();
    for (let i = 0n; n === null ? !this.atBreak() : i < n; i++) {
      if (this.pos < this.bytes.length && ![0, 1, 3].includes(this.bytes[this.pos] >> 5)) {
        fail("a map key that is neither an integer nor a text"); // i18n: not shown
      }
      const key = this.item(depth + 1);
      if (map.has(key)) fail("a map key twice"); // i18n: not shown
      map.set(key, this.item(depth + 1));
    }
    return map;
  }
}

function half(bits) {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/** The one CBOR item filling `bytes`; `tag` (a number) may wrap the outermost item, and the
 * tags of `innerTags` (numbers) any value that is not a map key. */
export function loadsCbor(bytes, tag = null, innerTags = []) {
  const reader = new Cbor(bytes, tag, innerTags.map(BigInt));
  const value = reader.item(0);
  if (reader.pos !== bytes.length) fail("trailing bytes after CBOR item"); // i18n: not shown
  return value;
}

const JSON_TOKEN = /[ \t\n\r]*(?:([{}[\],:])|"((?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*)"|(-?(?:0|[1-9]\d*))((?:\.\d+)?(?:[eE][-+]?\d+)?)|(true|false|null))/y;

/** A value of loadsJson with its objects as plain objects (as JSON.parse gives them; own
 * properties, so a member named __proto__ stays a member), its Floats left as they are: a
 * reader that wants an integer refuses 1.0, as Python does. */
export function plainJson(value) {
  if (value instanceof Map) {
    return Object.fromEntries([...value].map(([k, v]) => [k, plainJson(v)]));
  }
  return Array.isArray(value) ? value.map(plainJson) : value;
}

/** The value of strict JSON `data` (text, or bytes that must be UTF-8). */
export function loadsJson(data) {
  let text = data;
  if (typeof data !== "string") {
    try { text = UTF8.decode(data); } catch { fail("JSON is not UTF-8"); } // i18n: not shown
  }
  let pos = 0;
  const next = () => {
    JSON_TOKEN.lastIndex = pos;
    const m = JSON_TOKEN.exec(text);
    if (m === null) fail("bad JSON"); // i18n: not shown
    pos = JSON_TOKEN.lastIndex;
    return m;
  };
  const value = (depth, m = next()) => {
    if (m[2] !== undefined) return JSON.parse(`"${m[2]}"`);
    if (m[3] !== undefined) {
      if (m[4]) return new Float(Number(m[3] + m[4]));
      const n = Number(m[3]);
      if (m[3].length > 17 || !Number.isSafeInteger(n)) fail("an integer beyond 2^53"); // i18n: not shown
      return n;
    }
    if (m[5] !== undefined) return { true: true, false: false, null: null }[m[5]];
    if (depth >= MAX_DEPTH) fail("nested too deeply"); // i18n: not shown
    if (m[1] === "[") {
      const items = [];
      let t = next();
      if (t[1] === "]") return items;
      for (;;) {
        items.push(value(depth + 1, t));
        t = next();
        if (t[1] === "]") return items;
        if (t[1] !== ",") fail("bad JSON"); // i18n: not shown
        t = next();
      }
    }
    if (m[1] !== "{") fail("bad JSON"); // i18n: not shown
    const map = new Map();
    let t = next();
    if (t[1] === "}") return map;
    for (;;) {
      if (t[2] === undefined) fail("bad JSON"); // i18n: not shown
      const key = value(depth + 1, t);
      if (map.has(key)) fail("a key twice"); // i18n: not shown
      if (next()[1] !== ":") fail("bad JSON"); // i18n: not shown
      map.set(key, value(depth + 1));
      t = next();
      if (t[1] === "}") return map;
      if (t[1] !== ",") fail("bad JSON"); // i18n: not shown
      t = next();
    }
  };
  const result = value(0);
  if (!/^[ \t\n\r]*$/.test(text.slice(pos))) fail("bad JSON"); // i18n: not shown
  return result;
}

/** Python's type(v) is int, over decoded values. */
export const isInt = (v) => typeof v === "bigint";
/** A bigint as a Number when that is exact, else the bigint (both compare with < and >). */
export const num = (v) => (v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER
  ? Number(v) : v);
