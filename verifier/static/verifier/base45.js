/**
 * Base45 (RFC 9285): bytes <-> text in the QR code's alphanumeric character set, as the
 * verifier's verifier/base45.py does it. Every two bytes become three characters (least
 * significant first), a last odd byte two.
 */

export const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"; // i18n: not shown
const VALUES = new Map([...ALPHABET].map((c, i) => [c, i]));

/** The text is not Base45: a character outside the alphabet, a length of 3k+1, or a group
 * whose value does not fit its bytes. */
export class Base45Error extends Error {
  constructor(message) {
    super(message);
    this.name = "Base45Error";
  }
}

/** Return the Base45 text of `bytes` (a Uint8Array). */
export function encode(bytes) {
  let text = "";
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    const n = bytes[i] * 256 + bytes[i + 1];
    text += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45) % 45] + ALPHABET[Math.floor(n / 2025)];
  }
  if (bytes.length % 2) {
    const n = bytes[bytes.length - 1];
    text += ALPHABET[n % 45] + ALPHABET[Math.floor(n / 45)];
  }
  return text;
}

/** Return the bytes (a Uint8Array) that `text` encodes. Throws Base45Error for invalid text. */
export function decode(text) {
  if (text.length % 3 === 1) throw new Base45Error("length is 3k+1");
  const digits = [...text].map((c) => {
    const value = VALUES.get(c);
    if (value === undefined) throw new Base45Error("character outside the Base45 alphabet"); // i18n: not shown
    return value;
  });
  const out = new Uint8Array(Math.floor(digits.length / 3) * 2 + (digits.length % 3 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < digits.length; i += 3) {
    if (i + 2 < digits.length) {
      const n = digits[i] + 45 * digits[i + 1] + 2025 * digits[i + 2];
      if (n > 0xffff) throw new Base45Error("group value out of range");
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      const n = digits[i] + 45 * digits[i + 1];
      if (n > 0xff) throw new Base45Error("group value out of range");
      out[o++] = n;
    }
  }
  return out;
}
