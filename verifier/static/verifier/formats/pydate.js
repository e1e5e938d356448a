/**
 * Python's datetime where the EU certificate's reader (verifier/formats/dccclaims.py) relies on
 * it, so that the browser reads a date exactly when Python does and as the same instant:
 * `datetime.fromisoformat` (CPython 3.11's C parser, byte for byte: any separator, week dates,
 * basic formats, `Z`), cbor2's tags 0 (date/time text, by its regular expression and its C
 * parser) and 1 (epoch seconds, as `datetime.fromtimestamp(v, UTC)` rounds them),
 * `astimezone(UTC)`, `isoformat()` and `int(timestamp())`.
 *
 * A moment is a PyDatetime: days since 0001-01-01 (`ord`, from 1), microseconds into the day
 * and the zone's offset in microseconds (null: naive). Where Python raises ValueError or
 * OverflowError these throw DateError.
 */

export class DateError extends Error {}

const MAX_ORDINAL = 3652059; // date(9999, 12, 31).toordinal()
const US_DAY = 86_400_000_000;
const BIG_US_DAY = 86_400_000_000n;
const EPOCH_US = 719_163n * BIG_US_DAY - BIG_US_DAY; // 1970-01-01T00:00, from 0001-01-01T00:00
const DIM = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const DBM = [0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
const UTF8 = new TextEncoder();
const bad = () => { throw new DateError("not a date"); }; // i18n: not shown

const isLeap = (y) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y, m) => (m === 2 && isLeap(y) ? 29 : DIM[m]);
const daysBeforeYear = (y) => (y - 1) * 365 + Math.trunc((y - 1) / 4)
  - Math.trunc((y - 1) / 100) + Math.trunc((y - 1) / 400);
const ymdToOrd = (y, m, d) => daysBeforeYear(y) + DBM[m] + (m > 2 && isLeap(y) ? 1 : 0) + d;

function ordToYmd(ordinal) {
  let n = ordinal - 1;
  const n400 = Math.floor(n / 146097);
  n -= n400 * 146097;
  const n100 = Math.floor(n / 36524);
  n %= 36524;
  const n4 = Math.floor(n / 1461);
  n %= 1461;
  const n1 = Math.floor(n / 365);
  n %= 365;
  const year = n400 * 400 + 1 + n100 * 100 + n4 * 4 + n1;
  if (n1 === 4 || n100 === 4) return [year - 1, 12, 31];
  let month = (n + 50) >> 5;
  let preceding = DBM[month] + (month > 2 && isLeap(year) ? 1 : 0);
  if (preceding > n) {
    month -= 1;
    preceding -= daysIn(year, month);
  }
  return [year, month, n - preceding + 1];
}

export class PyDatetime {
  constructor(ord, dayUs, offUs) { this.ord = ord; this.dayUs = dayUs; this.offUs = offUs; }

  /** datetime(y, m, d, H, M, S, us, tzinfo): ValueError (DateError) for a field out of range. */
  static of(y, m, d, hh, mm, ss, us, offUs) {
    if (!(y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
          && hh >= 0 && hh <= 23 && mm >= 0 && mm <= 59 && ss >= 0 && ss <= 59
          && us >= 0 && us <= 999999)) bad();
    return new PyDatetime(ymdToOrd(y, m, d), ((hh * 60 + mm) * 60 + ss) * 1e6 + us, offUs);
  }

  /** astimezone(UTC), a naive moment taken as UTC (OverflowError: DateError). */
  utc() {
    const total = BigInt(this.ord) * BIG_US_DAY + BigInt(this.dayUs) - BigInt(this.offUs ?? 0);
    const ord = Number(total / BIG_US_DAY);
    if (ord < 1 || ord > MAX_ORDINAL) bad();
    return new PyDatetime(ord, Number(total % BIG_US_DAY), 0);
  }

  /** isoformat() of a UTC moment, "+00:00" written "Z" (dccclaims._text). */
  isoZ() {
    const [y, m, d] = ordToYmd(this.ord);
    const pad = (v, n) => String(v).padStart(n, "0");
    const us = this.dayUs % 1e6;
    const s = Math.floor(this.dayUs / 1e6);
    return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}T${pad(Math.floor(s / 3600), 2)}:`
      + `${pad(Math.floor(s / 60) % 60, 2)}:${pad(s % 60, 2)}${us ? `.${pad(us, 6)}` : ""}Z`;
  }

  /** int(timestamp()) of a UTC moment: the seconds as a float, truncated toward zero. */
  epochSeconds() {
    const us = BigInt(this.ord) * BIG_US_DAY + BigInt(this.dayUs) - EPOCH_US - BIG_US_DAY;
    if (us >= -(2n ** 53n) && us <= 2n ** 53n) return Math.trunc(Number(us) / 1e6);
    return Number(us / 1_000_000n); // beyond 2^53 us (before 1685 or after 2255): to the second
  }
}

// ---- datetime.fromisoformat (CPython 3.11, Modules/_datetimemodule.c) ----

const at = (buf, i) => (i < buf.length ? buf[i] : 0);
const isDigit = (c) => c >= 0x30 && c <= 0x39;
const ch = (s) => s.charCodeAt(0);

function digits(buf, p, n) {
  let value = 0;
  for (let i = 0; i < n; i++) {
    const c = at(buf, p + i);
    if (!isDigit(c)) return null;
    value = value * 10 + (c - 0x30);
  }
  return [value, p + n];
}

function separatorAt(buf, len) {
  if (len === 7) return 7;
  if (buf[4] === ch("-")) {
    if (buf[5] !== ch("W")) return 10;
    if (len > 8 && buf[8] === ch("-")) {
      if (len === 9) return -1;
      return len > 10 && isDigit(buf[10]) ? 8 : 10;
    }
    return 8;
  }
  if (buf[4] !== ch("W")) return 8;
  let idx = 7;
  while (idx < len && isDigit(buf[idx])) idx++;
  if (idx < 9) return idx;
  return idx % 2 === 0 ? 7 : 8;
}

function isoWeekToOrd(year, week, day) {
  const first = ymdToOrd(year, 1, 1);
  const weekday = (first + 6) % 7;
  if (week <= 0 || week >= 53) {
    if (!(week === 53 && (weekday === 3 || (weekday === 2 && isLeap(year))))) bad();
  }
  if (day <= 0 || day >= 8) bad();
  return first - weekday + (weekday > 3 ? 7 : 0) + (week - 1) * 7 + day - 1;
}

function parseDate(buf, len) {
  let r = digits(buf, 0, 4) ?? bad();
  const year = r[0];
  let p = r[1];
  const dash = buf[p] === ch("-");
  if (dash) p++;
  if (buf[p] === ch("W")) {
    r = digits(buf, p + 1, 2) ?? bad();
    const week = r[0];
    p = r[1];
    let day = 1;
    if (len < 0 || p < len) {
      if (dash && at(buf, p++) !== ch("-")) bad();
      day = (digits(buf, p, 1) ?? bad())[0];
    }
    if (year === 0) bad(); // CPython reaches an ordinal before 0001-01-01: out of range
    const ordinal = isoWeekToOrd(year, week, day);
    if (ordinal < 1 || ordinal > MAX_ORDINAL) bad();
    return ordToYmd(ordinal);
  }
  r = digits(buf, p, 2) ?? bad();
  const month = r[0];
  p = r[1];
  if (dash && at(buf, p++) !== ch("-")) bad();
  return [year, month, (digits(buf, p, 2) ?? bad())[0]];
}

/** [h, m, s, us, rest]: rest 1 when something follows (CPython's return value). */
function parseClock(buf, start, end) {
  const vals = [0, 0, 0];
  let p = start;
  let sep = true;
  for (let i = 0; i < 3; i++) {
    const r = digits(buf, p, 2) ?? bad();
    vals[i] = r[0];
    p = r[1];
    const c = at(buf, p++);
    if (i === 0) sep = c === ch(":");
    if (p >= end) return [...vals, 0, c !== 0 ? 1 : 0];
    if (sep && c === ch(":")) {
      if (i === 2) bad();
      continue;
    }
    if (c === ch(".") || c === ch(",")) break; // 3.11: a fraction after the hour or minute too
    if (sep) bad();
    p--;
  }
  const take = Math.min(end - p, 6);
  let us = (digits(buf, p, take) ?? bad())[0];
  p += take;
  if (take < 6) us *= 10 ** (6 - take);
  while (isDigit(at(buf, p))) p++;
  return [...vals, us, at(buf, p) !== 0 ? 1 : 0];
}

function parseTime(buf, start, len) {
  const end = start + len;
  let tz = start;
  do {
    const c = at(buf, tz);
    if (c === ch("Z") || c === ch("+") || c === ch("-")) break;
  } while (++tz < end);
  const [hh, mm, ss, us, rest] = parseClock(buf, start, tz);
  if (tz === end) {
    if (rest) bad();
    return [hh, mm, ss, us, null];
  }
  if (at(buf, tz) === ch("Z")) {
    if (at(buf, tz + 1) !== 0) bad();
    return [hh, mm, ss, us, 0];
  }
  const sign = at(buf, tz) === ch("-") ? -1 : 1;
  const [oh, om, os, ous, orest] = parseClock(buf, tz + 1, end);
  if (orest) bad();
  const seconds = sign * (oh * 3600 + om * 60 + os);
  if (seconds === 0) return [hh, mm, ss, us, 0];
  const offUs = seconds * 1e6 + sign * ous;
  if (offUs <= -US_DAY || offUs >= US_DAY) bad();
  return [hh, mm, ss, us, offUs];
}

/** datetime.fromisoformat(text) (Python 3.11); DateError where it raises ValueError. */
export function fromIsoformat(text) {
  if ([...text].length < 7) bad();
  const bytes = UTF8.encode(text);
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes);
  const len = bytes.length;
  const sep = separatorAt(buf, len);
  const [y, m, d] = parseDate(buf, sep);
  let time = [0, 0, 0, 0, null];
  if (len > sep) {
    const lead = buf[sep];
    const skip = (lead & 0x80) === 0 ? 1 : (lead & 0xf0) === 0xe0 ? 3 : (lead & 0xf0) === 0xf0 ? 4 : 2;
    time = parseTime(buf, sep + skip, len - sep - skip);
  }
  return PyDatetime.of(y, m, d, ...time);
}

// ---- cbor2's date tags (cbor2 5.9, its C decoder) ----

const TAG0 = /^\p{Nd}{4}-\p{Nd}{2}-\p{Nd}{2}T\p{Nd}{2}:\p{Nd}{2}:\p{Nd}{2}(?:\.\p{Nd}{1,6}\p{Nd}*)?(?:Z|[+-]\p{Nd}{2}:\p{Nd}{2})\n?$/u;

function strtoul(buf, start) {
  let p = start;
  while (p < buf.length && (buf[p] === 0x20 || (buf[p] >= 0x09 && buf[p] <= 0x0d))) p++;
  const negative = buf[p] === ch("-");
  if (negative || buf[p] === ch("+")) p++;
  let value = 0;
  const first = p;
  while (isDigit(at(buf, p))) value = value * 10 + (buf[p++] - 0x30);
  if (p === first) return [0, start];
  return [negative ? -value : value, p];
}

/** cbor2's tag 0 around `value`: a PyDatetime, or DateError (its CBORDecodeValueError). */
export function tag0(value) {
  if (typeof value !== "string" || !TAG0.test(value)) bad();
  const bytes = UTF8.encode(value);
  const buf = new Uint8Array(bytes.length + 1);
  buf.set(bytes);
  if (bytes.length < 20 || buf[4] !== ch("-") || buf[7] !== ch("-") || buf[10] !== ch("T")
      || buf[13] !== ch(":") || buf[16] !== ch(":")) bad();
  const field = (i) => strtoul(buf, i)[0];
  const [ss, p0] = strtoul(buf, 17);
  let p = p0;
  let us = 0;
  if (buf[p] === ch(".")) {
    p++;
    for (let scale = 100000; isDigit(buf[p]); scale = Math.floor(scale / 10)) us += (buf[p++] - 0x30) * scale;
  }
  let offUs = 0;
  if (buf[p] !== ch("Z")) {
    if (buf[p] !== ch("+") && buf[p] !== ch("-")) bad();
    const sign = buf[p] === ch("-") ? -1 : 1;
    const [oh, q] = strtoul(buf, p + 1);
    const [om] = strtoul(buf, q + 1);
    offUs = sign * (oh * 3600 + om * 60) * 1e6;
    if (offUs <= -US_DAY || offUs >= US_DAY) bad();
  }
  return PyDatetime.of(field(0), field(5), field(8), field(11), field(14), ss, us, offUs);
}

// C's round() (halves away from zero), and CPython's _PyTime_RoundHalfEven over it.
const cRound = (x) => {
  const r = Math.trunc(x);
  return Math.abs(x - r) >= 0.5 ? r + Math.sign(x) : r;
};
const roundHalfEven = (x) => (Math.abs(x - cRound(x)) === 0.5 ? 2 * cRound(x / 2) : cRound(x));

/** cbor2's tag 1 around `seconds` (a bigint, a float's value, or a boolean): the UTC moment
 * datetime.fromtimestamp(seconds, UTC) gives, or DateError. */
export function tag1(seconds) {
  let whole;
  let us = 0;
  if (typeof seconds === "bigint") whole = seconds;
  else if (typeof seconds === "boolean") whole = seconds ? 1n : 0n;
  else {
    if (!Number.isFinite(seconds)) bad();
    let int = Math.trunc(seconds);
    let frac = roundHalfEven((seconds - int) * 1e6);
    if (frac >= 1e6) { frac -= 1e6; int += 1; } else if (frac < 0) { frac += 1e6; int -= 1; }
    if (Math.abs(int) >= 2 ** 63) bad();
    whole = BigInt(int);
    us = frac;
  }
  const total = whole * 1_000_000n + BigInt(us) + EPOCH_US + BIG_US_DAY;
  const ord = total / BIG_US_DAY;
  if (total < BIG_US_DAY || ord > BigInt(MAX_ORDINAL)) bad();
  return new PyDatetime(Number(ord), Number(total % BIG_US_DAY), 0);
}
