/**
 * CBOR decoded as the verifier's Python decodes it (cbor2 5.9, its C decoder, through
 * verifier/cose.py's loads_strict): the same inputs accepted, the same refused, the same
 * values (pyvalues.js). cbor2 accepts far more than our issuer writes: non-shortest heads,
 * indefinite lengths, floats, simple values, a bare break code, and decodes semantic tags
 * (bignums, decimals, dates, shared and string references, ...); a code carrying them is then
 * judged on the values, as Python judges it. cbor.js stays the small strict codec of the phone.
 */

import { SEMANTIC } from "./pytags.js";
import {
  BREAK, DecodeError, PyDict, PyFloat, PySet, PyTypeError, Simple, Tag, Tuple, UNDEFINED,
  checkHashable,
} from "./pyvalues.js";

export { DecodeError };

/** cbor2's default nesting limit. */
export const MAX_DEPTH = 400;
const UTF8 = new TextDecoder("utf-8", { fatal: true });

class Decoder {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
    this.depth = 0;
    this.immutable = false;
    this.shareables = [];
    this.sharedIndex = -1;
    this.stringrefs = null;
  }

  take(n) {
    if (n > BigInt(this.bytes.length - this.pos)) throw new DecodeError("premature end of stream");
    const start = this.pos;
    this.pos += Number(n);
    return this.bytes.subarray(start, this.pos);
  }

  uint(size) {
    let n = 0n;
    for (const b of this.take(BigInt(size))) n = (n << 8n) | BigInt(b);
    return n;
  }

  /** The argument of a head; null for an indefinite length where `indefinite` allows one. */
  length(info, indefinite) {
    if (info < 24) return BigInt(info);
    if (info < 28) return this.uint(1 << (info - 24));
    if (info === 31 && indefinite) return null;
    throw new DecodeError(`unknown unsigned integer subtype 0x${info.toString(16)}`);
  }

  share(value) {
    if (this.sharedIndex !== -1) this.shareables[this.sharedIndex] = value;
    return value;
  }

  /** cbor2's decode(): one item; `immutable` as DECODE_IMMUTABLE; `unshared` as DECODE_UNSHARED. */
  decode(immutable = false, unshared = false) {
    const oldImmutable = this.immutable;
    const oldIndex = this.sharedIndex;
    if (immutable) this.immutable = true;
    if (unshared) this.sharedIndex = -1;
    if (this.depth === MAX_DEPTH) throw new DecodeError("maximum container nesting depth exceeded");
    this.depth++;
    const lead = this.take(1n)[0];
    const value = this.item(lead >> 5, lead & 0x1f);
    this.depth--;
    this.immutable = oldImmutable;
    this.sharedIndex = oldIndex;
    return value;
  }

  item(major, info) {
    switch (major) {
      case 0: return this.share(this.length(info, false));
      case 1: return this.share(-1n - this.length(info, false));
      case 2: return this.share(this.string(info, 2));
      case 3: return this.share(this.string(info, 3));
      case 4: return this.array(info);
      case 5: return this.map(info);
      case 6: return this.semantic(this.length(info, false));
      default: return this.special(info);
    }
  }

  string(info, major) {
    const n = this.length(info, true);
    if (n === null) {
      const chunks = [];
      for (;;) {
        const lead = this.take(1n)[0];
        if (lead === 0xff) break;
        if (lead >> 5 !== major || (lead & 0x1f) === 31) {
          throw new DecodeError(major === 2 ? "non-bytestring found in indefinite length bytestring"
            : "non-string found in indefinite length string");
        }
        chunks.push(this.string(lead & 0x1f, major));
      }
      if (major === 3) return chunks.join("");
      const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
      let at = 0;
      for (const c of chunks) { out.set(c, at); at += c.length; }
      return out;
    }
    const raw = this.take(n);
    let value;
    if (major === 2) value = raw.slice();
    else {
      try { value = UTF8.decode(raw); } catch { throw new DecodeError("error decoding unicode string"); }
    }
    this.addStringref(value, n);
    return value;
  }

  addStringref(value, length) {
    const ns = this.stringrefs;
    if (ns === null) return;
    const next = ns.length;
    const min = next < 24 ? 3n : next < 256 ? 4n : next < 65536 ? 5n : 7n;
    if (length >= min) ns.push(value);
  }

  array(info) {
    const n = this.length(info, true);
    const items = [];
    const shared = this.immutable ? null : this.share(items);
    if (n === null) {
      for (;;) {
        const item = this.decode(false, true);
        if (item === BREAK) break;
        items.push(item);
      }
    } else {
      for (let i = 0n; i < n; i++) items.push(this.decode(false, true));
    }
    return shared ?? this.share(new Tuple(items));
  }

  map(info) {
    const dict = new PyDict();
    this.share(dict);
    const n = this.length(info, true);
    for (let i = 0n; n === null || i < n; i++) {
      const key = this.decode(true, true);
      if (n === null && key === BREAK) break;
      const value = this.decode(false, true);
      try { checkHashable(key); } catch (e) { throw new DecodeError(e.message); }
      dict.set(key, value);
    }
    if (!this.immutable) return dict;
    dict.frozen = true;
    return this.share(dict);
  }

  special(info) {
    if (info < 20) return new Simple(info);
    switch (info) {
      case 20: return false;
      case 21: return true;
      case 22: return null;
      case 23: return UNDEFINED;
      case 24: return new Simple(this.take(1n)[0]);
      case 25: return this.share(new PyFloat(half(Number(this.uint(2)))));
      case 26: return this.share(new PyFloat(new DataView(this.take(4n).slice().buffer).getFloat32(0)));
      case 27: return this.share(new PyFloat(new DataView(this.take(8n).slice().buffer).getFloat64(0)));
      case 31: return BREAK;
      default: throw new DecodeError(`Undefined Reserved major type 7 subtype 0x${info.toString(16)}`); // i18n: not shown
    }
  }

  semantic(tag) {
    const handler = SEMANTIC.get(tag);
    if (handler) return handler(this);
    const value = new Tag(tag, undefined);
    this.share(value);
    value.value = this.decode(false, true);
    // verifier/cose.py refuses a tag that contains itself (through shared references).
    if (reaches(value.value, value)) throw new DecodeError("a tag that contains itself"); // i18n: not shown
    return value;
  }
}

function reaches(value, target) {
  const seen = new Set();
  const stack = [value];
  while (stack.length) {
    const item = stack.pop();
    if (item === target) return true;
    if (item === null || typeof item !== "object" || seen.has(item)) continue;
    seen.add(item);
    if (Array.isArray(item)) stack.push(...item);
    else if (item instanceof Tuple || item instanceof PySet) stack.push(...item.items);
    else if (item instanceof PyDict) stack.push(...item.keys, ...item.values);
    else if (item instanceof Tag) stack.push(item.value);
  }
  return false;
}

function half(bits) {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1024 + fraction) * 2 ** (exponent - 25);
}

/**
 * Decode exactly one item filling `bytes`, as loads_strict does: throws DecodeError for what
 * cbor2 refuses, for trailing bytes, and where Python would raise TypeError (unhashable keys).
 */
export function loads(bytes) {
  const d = new Decoder(bytes);
  let value;
  try {
    value = d.decode();
  } catch (error) {
    if (error instanceof DecodeError || error instanceof PyTypeError) throw new DecodeError(error.message);
    if (error instanceof RangeError) throw new DecodeError("nested too deeply"); // i18n: not shown
    throw error;
  }
  if (d.pos !== bytes.length) throw new DecodeError("trailing bytes after CBOR item"); // i18n: not shown
  return value;
}
