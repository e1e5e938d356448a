/**
 * RFC 9162 (RFC 6962) Merkle tree proofs, as verifier/tlog/merkle.py checks them: leaf and
 * node hashes (SHA-256, WebCrypto), inclusion and consistency proofs verified step by step
 * (§2.1.3.2, §2.1.4.2) after checking every input. Also TlogError, the one exception of the
 * transparency-log modules (errors.py). Import them from tlog.js, which re-exports this API.
 *
 * Tree sizes and indexes are JS numbers and must be safe non-negative integers (bad_index
 * otherwise; Python takes any uint64); the arithmetic on them is BigInt. Every proof of a tree
 * of up to 2^53-1 leaves has fewer than 64 hashes, and a proof's length is checked against the
 * path before any hashing: time and memory stay bounded whatever the input.
 */

import { concat, sha256 } from "./keys.js";

export const HASH_SIZE = 32;

/** A proof, note, key or checkpoint was refused: `reason` is the stable code (errors.py). */
export class TlogError extends Error {
  constructor(reason, message = reason, context = {}) {
    super(message);
    this.name = "TlogError";
    this.reason = reason;
    this.context = context;
  }
}

/** Throw a TlogError (for tlog.js; not part of the API). */
export function fail(reason, message, context = {}) {
  throw new TlogError(reason, message, context);
}

function checkBytes(value) {
  if (!(value instanceof Uint8Array)) fail("bad_hash", "bytes are a Uint8Array"); // i18n: not shown
  return value;
}

/** The leaf hash of an entry: SHA-256(0x00 || data). */
export async function leafHash(data) {
  return sha256(concat([0], checkBytes(data)));
}

/** The hash of an inner node: SHA-256(0x01 || left || right). */
export async function nodeHash(left, right) {
  return sha256(concat([1], checkBytes(left), checkBytes(right)));
}

function checkCount(value, what) {
  if (!Number.isSafeInteger(value) || value < 0) {
    fail("bad_index", `${what} is not a safe non-negative integer`, { [what]: value }); // i18n: not shown
  }
  return BigInt(value);
}

function checkHash(value) {
  if (!(value instanceof Uint8Array) || value.length !== HASH_SIZE) fail("bad_hash", "a hash is not 32 bytes"); // i18n: not shown
}

/** The proof's hashes, each checked; its length is checked against the path before any
 * hashing (a proof of a tree of up to 2^53-1 leaves has fewer than 64 hashes). */
function checkProof(proof) {
  if (!Array.isArray(proof)) fail("bad_proof", "a proof is a list of hashes"); // i18n: not shown
  for (const hash of proof) checkHash(hash);
  return [...proof];
}

function checkSizes(oldSize, newSize) {
  const m = checkCount(oldSize, "old_size");
  const n = checkCount(newSize, "new_size");
  if (!(m > 0n && m <= n)) {
    fail("bad_index", `no consistency proof from ${oldSize} to ${newSize}`, { old_size: oldSize, new_size: newSize }); // i18n: not shown
  }
  return [m, n];
}

const bitLength = (n) => (n === 0n ? 0 : n.toString(2).length);
const bitCount = (n) => n.toString(2).replaceAll("0", "").length;
// The largest power of two smaller than n (n > 1): where MTH splits.
const split = (n) => 1n << BigInt(bitLength(n - 1n) - 1);

/** How many hashes the inclusion proof of `index` in a tree of `size` holds (BigInts). */
function inclusionProofSize(index, size) {
  const inner = bitLength(index ^ (size - 1n));
  return inner + bitCount(index >> BigInt(inner));
}

/** How many hashes the consistency proof from `m` to `n` leaves holds (0 < m < n, BigInts). */
function consistencyProofSize(m, n) {
  let count = 0;
  let lo = 0n;
  let hi = n;
  let whole = true;
  while (m !== hi - lo) {
    const k = split(hi - lo);
    count += 1;
    if (m <= k) {
      hi = lo + k;
    } else {
      lo += k;
      m -= k;
      whole = false;
    }
  }
  return whole ? count : count + 1;
}

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The root that `proof` leads to from leaf hash `leaf` at `index` in a tree of `size`
 * (RFC 9162 §2.1.3.2). Rejects: bad_index, bad_hash, bad_proof. */
export async function rootFromInclusionProof(index, size, leaf, proof) {
  const i = checkCount(index, "index");
  const n = checkCount(size, "size");
  if (i >= n) fail("bad_index", `index ${index} is not in a tree of ${size}`, { index, size }); // i18n: not shown
  checkHash(leaf);
  const hashes = checkProof(proof);
  const want = inclusionProofSize(i, n);
  if (hashes.length !== want) {
    fail("bad_proof", `${hashes.length} hashes where the proof of ${index} in ${size} has ${want}`, { index, size }); // i18n: not shown
  }
  let fn = i;
  let sn = n - 1n;
  let r = leaf;
  for (const p of hashes) {
    if (sn === 0n) fail("bad_proof", "proof longer than the path", { index }); // i18n: not shown
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail("bad_proof", "proof shorter than the path", { index }); // i18n: not shown
  return r;
}

/** Resolves (to undefined) if `leaf` is at `index` in the tree of `size` leaves whose root is
 * `root`; rejects with bad_proof when the proof leads elsewhere, and as rootFromInclusionProof. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  checkHash(root);
  if (!equal(await rootFromInclusionProof(index, size, leaf, proof), root)) {
    fail("bad_proof", "the proof does not lead to the root", { index, size }); // i18n: not shown
  }
}

/** Resolves (to undefined) if the tree of `newSize` leaves with root `newRoot` extends the one
 * of `oldSize` with `oldRoot` (RFC 9162 §2.1.4.2). Rejects: bad_index (oldSize 0 or above
 * newSize), bad_hash, bad_proof (wrong length), inconsistent (the proof does not join them). */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const [m, n] = checkSizes(oldSize, newSize);
  checkHash(oldRoot);
  checkHash(newRoot);
  const hashes = checkProof(proof);
  const context = { old_size: oldSize, new_size: newSize };
  if (m === n) {
    if (hashes.length) fail("bad_proof", "a proof between equal sizes is empty", context); // i18n: not shown
    if (!equal(oldRoot, newRoot)) fail("inconsistent", "two roots for one tree size", context); // i18n: not shown
    return;
  }
  const expected = consistencyProofSize(m, n);
  if (hashes.length !== expected) fail("bad_proof", `${hashes.length} hashes where the proof has ${expected}`, context); // i18n: not shown
  const path = (m & (m - 1n)) === 0n ? [oldRoot, ...hashes] : hashes;
  let fn = m - 1n;
  let sn = n - 1n;
  while (fn & 1n) { fn >>= 1n; sn >>= 1n; }
  let fr = path[0];
  let sr = path[0];
  for (const c of path.slice(1)) {
    if (sn === 0n) fail("bad_proof", "proof longer than the path", context); // i18n: not shown
    if (fn & 1n || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) fail("bad_proof", "proof shorter than the path", context); // i18n: not shown
  if (!equal(fr, oldRoot) || !equal(sr, newRoot)) fail("inconsistent", "the proof does not join the roots", context); // i18n: not shown
}
