/**
 * The transparency log, as verifier/tlog/ reads it: C2SP signed notes (note.py), checkpoints
 * (checkpoint.py) and cosignature/v1 witness cosignatures (cosignature.py), with WebCrypto
 * (SHA-256, Ed25519), and the Merkle proofs of merkle.js re-exported. The holder's phone checks
 * with it that its entries are in the issuer's public log and that each checkpoint it sees
 * extends the last one it saw.
 *
 * Every refusal is a TlogError whose `reason` is the Python TlogReason value for the same input,
 * but where a JS number is exact only to 2^53-1: a checkpoint of more than 2^53-1 leaves is
 * bad_checkpoint, and a cosignature dated after 2^53-1 does not verify (Python: after 2^63-1);
 * merkle.js says the same of sizes and indexes.
 */

import { concat, hex, sha256 } from "./keys.js";
import { HASH_SIZE, TlogError, fail } from "./merkle.js";

export {
  HASH_SIZE, TlogError, leafHash, nodeHash, rootFromInclusionProof, verifyConsistency,
  verifyInclusion,
} from "./merkle.js";

export const MAX_SIGNATURES = 100;
export const MAX_NOTE_BYTES = 65536;
export const ALG_ED25519 = 0x01;
export const ALG_COSIGNATURE_V1 = 0x04;
const COSIGNATURE_SIZE = 8 + 64;
const MAX_TIMESTAMP = BigInt(Number.MAX_SAFE_INTEGER);
const DASH = "\u2014 ";
const ED25519 = Object.freeze({ name: "Ed25519" }); // i18n: not shown
const UTF8 = new TextEncoder();
const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }); // i18n: not shown
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// What Python's str.isspace() calls space (JS's \s differs: it has U+FEFF, lacks U+001C-U+001F, U+0085).
const SPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;
// In a /u pattern a surrogate pair is one character: these match lone surrogates only.
const LONE_SURROGATE = /[\ud800-\udfff]/u;
const CONTROL = /[\x00-\x09\x0b-\x1f]|[\ud800-\udfff]/u;

/** Standard padded base64 of `bytes`. */
export function b64encode(bytes) {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The bytes of standard padded base64 `text`, canonical only (re-encoding gives `text`);
 * throws TlogError(`reason`) for anything else. */
export function b64decode(text, reason = "bad_note") {
  if (typeof text !== "string" || !BASE64.test(text)) fail(reason, "invalid base64"); // i18n: not shown
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (b64encode(bytes) !== text) fail(reason, "non-canonical base64"); // i18n: not shown
  return bytes;
}

// ---- signed notes (note.py) ----

/** A key name: non-empty, no Unicode space, no "+" (and, in JS, no lone surrogate). */
function validName(name) {
  return typeof name === "string" && name !== "" && !name.includes("+") && !SPACE.test(name)
    && !LONE_SURROGATE.test(name);
}

const uint32 = (b) => ((b[0] * 256 + b[1]) * 256 + b[2]) * 256 + b[3];
const hex8 = (n) => n.toString(16).padStart(8, "0");

/** [before, after] the first `separator` (after is "" when there is none), as str.partition. */
function partition(text, separator) {
  const at = text.indexOf(separator);
  return at < 0 ? [text, ""] : [text.slice(0, at), text.slice(at + separator.length)];
}

/** The 32-bit key ID: SHA-256(name || 0x0A || alg || publicKey)[:4], big-endian. */
async function keyId(name, alg, publicKey) {
  return uint32(await sha256(concat(UTF8.encode(name), [0x0a, alg], publicKey)));
}

/** Resolves to {name, keyId, publicKey (32 bytes), alg} of a vkey of signature type `alg`
 * (`<name>+<key ID, 8 hex>+<base64(alg || key)>`, the key ID checked); rejects with bad_key. */
export async function parseVkey(vkey, alg) {
  const [name, rest] = typeof vkey === "string" ? partition(vkey, "+") : ["", ""];
  const [hexId, blob] = partition(rest, "+");
  const raw = b64decode(blob, "bad_key");
  const publicKey = raw.slice(1);
  const id = raw.length === 33 && validName(name) ? await keyId(name, alg, publicKey) : null;
  if (id === null || hexId.length !== 8 || raw[0] !== alg || hexId !== hex8(id)) {
    fail("bad_key", `not a vkey of type ${alg}`, { vkey }); // i18n: not shown
  }
  return { name, keyId: id, publicKey, alg };
}

async function ed25519Verify(key, signature, message) {
  try {
    return await crypto.subtle.verify(ED25519, await key(), signature, message);
  } catch {
    return false;
  }
}

function importOnce(publicKey) {
  let key;
  return () => (key ??= crypto.subtle.importKey("raw", publicKey, ED25519, false, ["verify"]));
}

/** A verifier of plain Ed25519 note signatures (type 0x01) by the key of `vkey`:
 * {name, keyId, verify(message, signature) -> Promise<boolean>}. Rejects with bad_key. */
export async function noteVerifier(vkey) {
  const { name, keyId: id, publicKey } = await parseVkey(vkey, ALG_ED25519);
  const key = importOnce(publicKey);
  return { name, keyId: id, verify: (message, signature) => ed25519Verify(key, signature, message) };
}

/** The text and the signature lines ({name, keyId, signature}) of a note (a string, or UTF-8
 * bytes), **none of them verified**. Throws bad_note for malformed syntax or size. */
export function splitNote(note) {
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) fail("bad_note", "note too large", { size: note.length }); // i18n: not shown
    try {
      note = STRICT_UTF8.decode(note);
    } catch {
      fail("bad_note", "not UTF-8"); // i18n: not shown
    }
  }
  // A string's UTF-8 is at least as long as its UTF-16 (a lone surrogate counts 3 bytes, as in
  // Python's "surrogatepass"): the first test bounds the cost of the second.
  if (typeof note !== "string" || note.length > MAX_NOTE_BYTES || UTF8.encode(note).length > MAX_NOTE_BYTES) {
    fail("bad_note", "not a note of at most 64 KiB"); // i18n: not shown
  }
  if (CONTROL.test(note)) fail("bad_note", "control character in a note"); // i18n: not shown
  const at = note.lastIndexOf("\n\n");
  if (at < 0 || !note.endsWith("\n")) fail("bad_note", "no blank line before the signatures"); // i18n: not shown
  const text = note.slice(0, at + 1);
  const block = note.slice(at + 2);
  const lines = block ? block.slice(0, -1).split("\n") : [];
  if (!lines.length) fail("bad_note", "no signature lines"); // i18n: not shown
  if (lines.length > MAX_SIGNATURES) fail("bad_note", `more than ${MAX_SIGNATURES} signatures`); // i18n: not shown
  return { text, signatures: lines.map(parseLine) };
}

function parseLine(line) {
  if (!line.startsWith(DASH)) fail("bad_note", "a signature line starts with an em dash"); // i18n: not shown
  const [name, blob] = partition(line.slice(DASH.length), " ");
  const raw = b64decode(blob, "bad_note");
  if (!validName(name) || raw.length < 5) fail("bad_note", "malformed signature line"); // i18n: not shown
  return { name, keyId: uint32(raw), signature: raw.slice(4) };
}

const keyOf = (s) => `${s.name}\n${s.keyId}`;

/** Parse `note` and verify its signatures by the known `verifiers` (vkey strings of type 0x01,
 * or verifier objects such as noteVerifier's and cosignatureVerifier's). Resolves to {text,
 * signatures (verified, one per key), unverified (by unknown keys, repeats dropped)}. Rejects:
 * bad_note, bad_key (a bad vkey, two verifiers with one name and key ID), bad_signature (a
 * known key's signature fails: the whole note is refused), unknown_key (no known signature). */
export async function openNote(note, verifiers) {
  const known = new Map();
  for (const given of verifiers) {
    const verifier = typeof given === "string" ? await noteVerifier(given) : given;
    if (known.has(keyOf(verifier))) {
      fail("bad_key", "ambiguous key", { name: verifier.name, key_id: hex8(verifier.keyId) }); // i18n: not shown
    }
    known.set(keyOf(verifier), verifier);
  }
  const { text, signatures } = splitNote(note);
  const message = UTF8.encode(text);
  const verified = new Map();
  const unverified = new Map();
  for (const sig of signatures) {
    const verifier = known.get(keyOf(sig));
    if (verifier === undefined) {
      unverified.set(`${keyOf(sig)}\n${hex(sig.signature)}`, sig);
    } else if (!verified.has(keyOf(sig))) {
      if (!(await verifier.verify(message, sig.signature))) {
        fail("bad_signature", "a known key's signature does not verify", { name: sig.name, key_id: hex8(sig.keyId) }); // i18n: not shown
      }
      verified.set(keyOf(sig), sig);
    }
  }
  if (!verified.size) {
    fail("unknown_key", "no signature by a known key", { names: [...new Set(signatures.map((s) => s.name))].sort() }); // i18n: not shown
  }
  return { text, signatures: [...verified.values()], unverified: [...unverified.values()] };
}

// ---- checkpoints and cosignatures (checkpoint.py, cosignature.py) ----

/** The {origin, size, root, extensions} of checkpoint note text (**signatures are not
 * checked**: use openCheckpoint). Throws bad_checkpoint. */
export function parseCheckpoint(text) {
  if (typeof text !== "string" || !text.endsWith("\n")) fail("bad_checkpoint", "a checkpoint ends in a newline"); // i18n: not shown
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3 || lines.includes("")) fail("bad_checkpoint", "three or more non-empty lines"); // i18n: not shown
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) fail("bad_checkpoint", "tree size not a plain decimal number"); // i18n: not shown
  const size = Number(sizeText); // past 2^53-1 it rounds to 2^53 or more: not a safe integer
  if (!Number.isSafeInteger(size)) fail("bad_checkpoint", "tree size above 2^53-1"); // i18n: not shown
  const root = b64decode(rootText, "bad_checkpoint");
  if (root.length !== HASH_SIZE) fail("bad_checkpoint", "root hash not 32 bytes in base64"); // i18n: not shown
  return { origin, size, root, extensions };
}

/** The timestamp of a cosignature/v1 signature (8 bytes big-endian, then Ed25519), a BigInt. */
function timestampOf(signature) {
  if (signature.length !== COSIGNATURE_SIZE) fail("bad_cosignature", "not a cosignature/v1 signature"); // i18n: not shown
  return new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
}

/** A verifier of a witness's cosignature/v1 signatures (type 0x04) by the key of `vkey`.
 * `maxFuture`: seconds a timestamp may lie ahead of `clock()` (null: no limit). */
export async function cosignatureVerifier(vkey, { maxFuture = null, clock = () => Date.now() / 1000 } = {}) {
  const { name, keyId: id, publicKey } = await parseVkey(vkey, ALG_COSIGNATURE_V1);
  const key = importOnce(publicKey);
  async function verify(message, signature) {
    if (signature.length !== COSIGNATURE_SIZE) return false;
    const timestamp = timestampOf(signature);
    if (timestamp > MAX_TIMESTAMP) return false;
    if (maxFuture !== null && Number(timestamp) > clock() + maxFuture) return false;
    let body;
    try {
      body = STRICT_UTF8.decode(message);
    } catch {
      return false;
    }
    if (!body.endsWith("\n") || body.split("\n").length < 4) return false;
    const signed = UTF8.encode(`cosignature/v1\ntime ${timestamp}\n${body}`); // i18n: not shown
    return ed25519Verify(key, signature.subarray(8), signed);
  }
  return { name, keyId: id, verify };
}

async function verifiersOf(keys, make) {
  const out = [];
  for (const key of keys) out.push(typeof key === "string" ? await make(key) : key);
  return out;
}

/** Verify a checkpoint note from log `origin`: signed by one of `logVkeys` (type 0x01), and
 * cosigned by at least `quorum` of `witnessVkeys` (type 0x04 vkeys, or cosignatureVerifier
 * objects). Resolves to {checkpoint, note, logKeys (names), witnesses ({name: timestamp})}.
 * Rejects: openNote's reasons; unknown_key (no log key signed it: cosignatures alone do not
 * do); bad_checkpoint (malformed, another origin); too_few_cosignatures. */
export async function openCheckpoint(note, origin, logVkeys, witnessVkeys = [], quorum = 0) {
  const logs = await verifiersOf(logVkeys, noteVerifier);
  const witnesses = await verifiersOf(witnessVkeys, cosignatureVerifier);
  const opened = await openNote(note, [...logs, ...witnesses]);
  const by = (keys) => (s) => keys.some((k) => k.name === s.name && k.keyId === s.keyId);
  const logKeys = opened.signatures.filter(by(logs)).map((s) => s.name);
  if (!logKeys.length) fail("unknown_key", "not signed by the log"); // i18n: not shown
  const checkpoint = parseCheckpoint(opened.text);
  if (checkpoint.origin !== origin) {
    fail("bad_checkpoint", "checkpoint of another log", { origin: checkpoint.origin, expected: origin }); // i18n: not shown
  }
  const cosigned = Object.fromEntries(opened.signatures.filter(by(witnesses))
    .map((s) => [s.name, Number(timestampOf(s.signature))]));
  if (Object.keys(cosigned).length < quorum) {
    fail("too_few_cosignatures", "too few witness cosignatures", { have: Object.keys(cosigned).length, quorum }); // i18n: not shown
  }
  const text = note instanceof Uint8Array ? STRICT_UTF8.decode(note) : note;
  return { checkpoint, note: text, logKeys, witnesses: cosigned };
}
