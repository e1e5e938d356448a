/**
 * Python's str semantics where the verifier's checks rely on them: len() counts code points,
 * str.strip() and str.isspace() know Unicode whitespace, str.isprintable(). These are what
 * the checks mean (an issuer id of at most 32 characters), not decoder quirks.
 */

/** The characters Python's str.isspace() (and a str pattern's \s) calls whitespace. */
export const PY_SPACE = "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000"; // i18n: not shown
const EDGE_SPACE = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "gu");
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u;

/** Python's str.strip(). */
export const pyStrip = (s) => s.replace(EDGE_SPACE, "");

/** Python's c.isprintable() and not c.isspace(), for one code point. */
export const visible = (c) => c !== " " && !NOT_PRINTABLE.test(c);

/** Python's len(s) of a str: code points (a lone surrogate counts one). */
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
