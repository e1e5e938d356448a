/**
 * The phone's device key and its last credential, kept in IndexedDB so the page works offline.
 *
 * The key is an ECDSA P-256 pair made by WebCrypto with the private half non-extractable:
 * script can sign with it but never read it, so a copied page or a screenshot cannot present
 * the credential. CryptoKey objects are structured-clonable, so IndexedDB stores the pair
 * itself. Only the public key leaves the phone, as a JWK, at enrolment.
 *
 * Database "healthcode" (version 1): store "keys" holds the pair under "device", store
 * "credentials" the last credential (a JSON-like object from the issuer) under "current", and
 * a family member's last code (on a guardian's phone) under "family:<link id>".
 */

const DB_NAME = "healthcode";
const DB_VERSION = 1;
const KEYS = "keys";
const DEVICE = "device";
const CREDENTIALS = "credentials";
const CURRENT = "current";
const P256 = Object.freeze({ name: "ECDSA", namedCurve: "P-256" });

function settle(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

function openDb() {
  const request = indexedDB.open(DB_NAME, DB_VERSION);
  request.onupgradeneeded = () => {
    request.result.createObjectStore(KEYS);
    request.result.createObjectStore(CREDENTIALS);
  };
  return settle(request);
}

/**
 * Run `work(stores)` in one transaction over `names` (`stores` maps a name to its object
 * store) and resolve with what its last request gave, once the transaction has committed.
 */
async function transact(names, mode, work) {
  const db = await openDb();
  try {
    const tx = db.transaction(names, mode);
    const done = new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted")); // i18n: not shown
    });
    done.catch(() => {}); // awaited below; if work() throws first, its error is the one told
    const stores = Object.fromEntries(names.map((name) => [name, tx.objectStore(name)]));
    const result = await work(stores);
    await done;
    return result;
  } finally {
    db.close();
  }
}

/**
 * Return the phone's key pair ({privateKey, publicKey} CryptoKeys), creating and storing it
 * on first use. Two pages racing to create it end up with the same pair: the one stored first.
 */
export async function deviceKey() {
  const stored = await transact([KEYS], "readonly", (s) => settle(s[KEYS].get(DEVICE)));
  if (stored) return stored;
  const made = await crypto.subtle.generateKey(P256, false, ["sign", "verify"]);
  const fresh = { privateKey: made.privateKey, publicKey: made.publicKey };
  // Read again and write in one readwrite transaction: such transactions on a store run one
  // at a time, so a pair another page stored meanwhile is kept, not overwritten.
  return transact([KEYS], "readwrite", async (s) => {
    const winner = await settle(s[KEYS].get(DEVICE));
    if (winner) return winner;
    await settle(s[KEYS].put(fresh, DEVICE));
    return fresh;
  });
}

/** Return the public JWK {kty, crv, x, y} of `pair` (as from deviceKey()). */
export async function publicKeyJwk(pair) {
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return { kty, crv, x, y };
}

/**
 * Delete the device key, and the saved credential with it: a credential is bound to the key
 * and cannot be presented without it. The next deviceKey() makes a new pair.
 */
export async function forgetDeviceKey() {
  await transact([KEYS, CREDENTIALS], "readwrite", async (s) => {
    await settle(s[KEYS].delete(DEVICE));
    await settle(s[CREDENTIALS].delete(CURRENT));
  });
}

/** Store `credential` (a structured-clonable object, e.g. parsed JSON) as the current one
 * (`name`: whose, "current" for the phone's holder). */
export async function saveCredential(credential, name = CURRENT) {
  await transact([CREDENTIALS], "readwrite",
                 (s) => settle(s[CREDENTIALS].put(credential, name)));
}

/** Return the stored credential object (`name`: whose), or null when there is none. */
export async function loadCredential(name = CURRENT) {
  const stored = await transact([CREDENTIALS], "readonly",
                                (s) => settle(s[CREDENTIALS].get(name)));
  return stored ?? null;
}
