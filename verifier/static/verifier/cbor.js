/**
 * Minimal deterministic CBOR (RFC 8949) for the holder's phone: enough to build and read a
 * COSE_Sign1, nothing more. No floats, no indefinite lengths, no big integers.
 *
 * Values, both ways:
 *   integer Number (|n| <= 2^53)  <-> major types 0 and 1
 *   Uint8Array                    <-> byte string
 *   string                        <-> text string (UTF-8)
 *   Array                         <-> array
 *   CborMap (see cborMap)         <-> map; keys are written in the order given, so the caller
 *                                     gives them in deterministic order (RFC 8949 4.2.1:
 *                                     bytewise order of the encoded keys)
 *   Tagged (see tag)              <-> tag
 *   false, true, null             <-> simple values 20, 21, 22
 *
 * Encoding always uses the shortest head (preferred serialization). Decoding reads exactly one
 * item filling the input and throws CborError on anything truncated, malformed, nested deeper
 * than MAX_DEPTH or outside the list above.
 */

/** Nesting deeper than this is refused when decoding (a COSE_Sign1 needs three). */
export const MAX_DEPTH = 16;
const MAX_INT = 2 ** 53;
const TWO_32 = 2 ** 32;
const UTF8 = new TextEncoder();

/** Invalid or unsupported CBOR, on either side. */
export class CborError extends Error {
  constructor(message) {
    super(message);
    this.name = "CborError";
  }
}

/** A CBOR map: its [key, value] pairs, in the order they are written. */
export class CborMap {
  constructor(entries) {
    this.entries = entries;
  }

  /** The value under a primitive key (number or string), or undefined. */
  get(key) {
    const entry = this.entries.find(([k]) => k === key);
    return entry === undefined ? undefined : entry[1];
  }
}

/** A CBOR tag around a value. */
export class Tagged {
  constructor(tag, value) {
    this.tag = tag;
    this.value = value;
  }
}

/** Return a CborMap of `pairs` ([key, value] arrays, written in this order). */
export function cborMap(pairs) {
  return new CborMap(pairs);
}

/** Return `value` wrapped in CBOR tag number `number`. */
export function tag(number, value) {
  return new Tagged(number, value);
}

// ---- encoding ----

function head(out, major, n) {
  if (!Number.isInteger(n) || n < 0 || n > MAX_INT) {
    throw new CborError(`argument out of range: ${n}`);
  }
  const m = major << 5;
  if (n < 24) {
    out.push(m | n);
  } else if (n < 0x100) {
    out.push(m | 24, n);
  } else if (n < 0x10000) {
    out.push(m | 25, n >> 8, n & 0xff);
  } else if (n < TWO_32) {
    out.push(m | 26);
    head32(out, n);
  } else {
    out.push(m | 27);
    head32(out, Math.floor(n / TWO_32));
    head32(out, n % TWO_32);
  }
}

function head32(out, n) {
  // >> works on int32, so bits above 31 come out negative; the masks keep the right byte.
  out.push(n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
}

function bytesInto(out, major, bytes) {
  head(out, major, bytes.length);
  for (const b of bytes) out.push(b);
}

function encodeInto(out, value) {
  if (typeof value === "number") {
    if (!Number.isInteger(value)) throw new CborError(`not an integer: ${value}`);
    if (value >= 0) head(out, 0, value);
    else head(out, 1, -1 - value);
  } else if (value instanceof Uint8Array) {
    bytesInto(out, 2, value);
  } else if (typeof value === "string") {
    bytesInto(out, 3, UTF8.encode(value));
  } else if (Array.isArray(value)) {
    head(out, 4, value.length);
    for (const item of value) encodeInto(out, item);
  } else if (value instanceof CborMap) {
    head(out, 5, value.entries.length);
    for (const [k, v] of value.entries) {
      encodeInto(out, k);
      encodeInto(out, v);
    }
  } else if (value instanceof Tagged) {
    head(out, 6, value.tag);
    encodeInto(out, value.value);
  } else if (value === false || value === true || value === null) {
    out.push(value === null ? 0xf6 : value ? 0xf5 : 0xf4);
  } else {
    throw new CborError(`cannot encode ${Object.prototype.toString.call(value)}`);
  }
}

/** Return the CBOR encoding of `value` (a Uint8Array). Throws CborError for other values. */
export function encode(value) {
  const out = [];
  encodeInto(out, value);
  return Uint8Array.from(out);
}

// ---- decoding ----

class Reader {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  take(n) {
    if (n > this.bytes.length - this.pos) throw new CborError("truncated CBOR"); // i18n: not shown
    const slice = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return slice;
  }

  uint(size) {
    let n = 0;
    for (const b of this.take(size)) n = n * 256 + b;
    return n;
  }
}

function argument(reader, info) {
  if (info < 24) return info;
  if (info === 24) return reader.uint(1);
  if (info === 25) return reader.uint(2);
  if (info === 26) return reader.uint(4);
  if (info === 27) {
    const high = reader.uint(4);
    const low = reader.uint(4);
    // Compare the halves: high * 2^32 + low rounds for values just above 2^53.
    if (high > MAX_INT / TWO_32 || (high === MAX_INT / TWO_32 && low !== 0)) {
      throw new CborError("integer above 2^53"); // i18n: not shown
    }
    return high * TWO_32 + low;
  }
  throw new CborError(info === 31 ? "indefinite length" : `reserved additional info ${info}`);
}

function decodeItem(reader, depth) {
  if (depth > MAX_DEPTH) throw new CborError("CBOR nested too deeply"); // i18n: not shown
  const initial = reader.take(1)[0];
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (major === 7) {
    const simple = { 20: false, 21: true, 22: null }[info];
    if (simple === undefined) throw new CborError(`unsupported simple value or float ${info}`);
    return simple;
  }
  const n = argument(reader, info);
  switch (major) {
    case 0: return n;
    case 1:
      // -1 - 2^53 is not a safe integer (it would round to -2^53).
      if (n === MAX_INT) throw new CborError("integer below -2^53"); // i18n: not shown
      return -1 - n;
    case 2: return reader.take(n).slice();
    case 3:
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(reader.take(n));
      } catch (error) {
        if (error instanceof CborError) throw error;
        throw new CborError("text string is not UTF-8"); // i18n: not shown
      }
    case 4:
    case 5: {
      // Every item takes at least a byte: refuse counts the input cannot hold before looping.
      const items = major === 4 ? n : 2 * n;
      if (items > reader.bytes.length - reader.pos) throw new CborError("truncated CBOR"); // i18n: not shown
      const values = [];
      for (let i = 0; i < items; i++) values.push(decodeItem(reader, depth + 1));
      if (major === 4) return values;
      const entries = [];
      for (let i = 0; i < n; i++) entries.push([values[2 * i], values[2 * i + 1]]);
      return new CborMap(entries);
    }
    default:
      return new Tagged(n, decodeItem(reader, depth + 1));
  }
}

/**
 * Return the value of the one CBOR item that fills `bytes` (a Uint8Array).
 * Throws CborError for truncated, malformed or unsupported input and for trailing bytes.
 */
export function decode(bytes) {
  if (!(bytes instanceof Uint8Array)) throw new CborError("CBOR input is not a Uint8Array"); // i18n: not shown
  const reader = new Reader(bytes);
  const value = decodeItem(reader, 0);
  if (reader.pos !== bytes.length) throw new CborError("trailing bytes after CBOR item"); // i18n: not shown
  return value;
}
