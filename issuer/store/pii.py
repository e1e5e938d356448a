"""Personal fields encrypted at rest (AES-256-GCM) and a keyed lookup of id numbers (HMAC).

Two random 256-bit data keys live in ``HOME/keys/data-keys.json``, themselves encrypted with a
key derived (scrypt) from the passphrase that protects the private signing keys. A field's
ciphertext is ``version byte || 12-byte random nonce || AES-GCM ciphertext and tag``, with the
version, the column and the person id as associated data: a value copied to another row or
another column fails to decrypt instead of showing the wrong person's data.

The database never sees the keys, so a copy of the database alone (a backup, a stolen disk)
reveals no name, id number or phone. Anyone running the service with the passphrase can read
everything; that is what the audit log is for.

Each person's fields (and their appeals' words and photos) are encrypted under a key of their
own (:class:`PersonKey`, ciphertext version 2), kept in the person's row wrapped under the data
key. Erasing a person deletes that key (crypto-shredding): every copy of their ciphertexts the
database still holds somewhere (a freed page, a dead row version, an export) is unreadable from
then on. Ciphertexts of version 1, under the data key itself, are from before per-person keys.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ..keys.home import Home, write_atomic
from .db import StoreError
from .phones import DEFAULT_REGION, normalise

CIPHERTEXT_VERSION = 1
#: A ciphertext under a person's own key (:class:`PersonKey`).
PERSON_CIPHERTEXT_VERSION = 2
_PERSON_KEY_COLUMN = "person.data_key"
NONCE_LENGTH = 12
KEY_LENGTH = 32
KEY_FILE_FORMAT = "healthcode-data-keys"
KEY_FILE_VERSION = 1
#: scrypt cost for wrapping the data keys (~0.13 s, 32 MiB here; run once per process start).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_N_RANGE = (2**10, 2**20)  # what a key file may ask for
_MAC_DOMAIN = b"healthcode/id-number/1\x00"
_PHONE_MAC_DOMAIN = b"healthcode/phone/1\x00"
_RECORD_MAC_DOMAIN = b"healthcode/audit-record/1\x00"
#: Hex digits of a record MAC kept in the audit log (128 bits).
RECORD_MAC_HEX = 32


class PiiError(StoreError):
    """Personal data could not be protected or recovered."""


class DataKeyError(PiiError):
    """The data-key file is missing, damaged, or the passphrase does not open it."""


class DecryptionError(PiiError):
    """A field's ciphertext is damaged or belongs to another column or person."""

    def __init__(self, column: str, person_id: str) -> None:
        super().__init__(f"cannot decrypt {column} of {person_id}: damaged or moved ciphertext")
        self.column = column
        self.person_id = person_id


def normalise_id_number(id_number: str) -> str:
    """Return the canonical form of an id number: NFKC (full-width digits become ASCII), no
    whitespace, upper case. Raises ``ValueError`` if nothing is left."""
    normal = "".join(unicodedata.normalize("NFKC", id_number).split()).upper()
    if not normal:
        raise ValueError("the id number is empty")
    return normal


def normalise_phone(phone: str, region: str = DEFAULT_REGION) -> str:
    """Return the canonical form of a phone number as typed: E.164, a number without a
    country code read in ``region`` (:mod:`.phones`). Raises :class:`.phones.PhoneError` (a
    ``ValueError``) with a reason for a number that cannot be valid."""
    return normalise(phone, region)


class _Fields:
    """Text fields over a key's :meth:`seal` and :meth:`unseal`."""

    __slots__ = ()

    def seal(self, column: str, row_id: str, data: bytes) -> bytes:
        raise NotImplementedError

    def unseal(self, column: str, row_id: str, blob: bytes) -> bytes:
        raise NotImplementedError

    def encrypt(self, column: str, person_id: str, value: str) -> bytes:
        """Return the ciphertext of ``value`` bound to ``column`` of ``person_id``."""
        return self.seal(column, person_id, value.encode())

    def decrypt(self, column: str, person_id: str, blob: bytes) -> str:
        """Return the plaintext; raises :class:`DecryptionError` if ``blob`` was altered or
        was not encrypted for this ``column`` of this ``person_id``."""
        try:
            return self.unseal(column, person_id, blob).decode()
        except UnicodeDecodeError:
            raise DecryptionError(column, person_id) from None


class DataKeys(_Fields):
    """The unwrapped data keys: encrypt, decrypt and MAC personal fields."""

    __slots__ = ("_aead", "_enc_key", "_mac_key")

    def __init__(self, enc_key: bytes, mac_key: bytes) -> None:
        if len(enc_key) != KEY_LENGTH or len(mac_key) != KEY_LENGTH:
            raise ValueError("data keys are 32 bytes each")
        self._enc_key, self._mac_key = enc_key, mac_key
        self._aead = AESGCM(enc_key)

    def __repr__(self) -> str:
        return "DataKeys(<secret>)"

    @classmethod
    def generate(cls) -> DataKeys:
        """Return two fresh random keys."""
        return cls(secrets.token_bytes(KEY_LENGTH), secrets.token_bytes(KEY_LENGTH))

    def seal(self, column: str, row_id: str, data: bytes) -> bytes:
        """:meth:`encrypt` for bytes (an attachment): bound to ``column`` of row ``row_id``."""
        return _seal(self._aead, CIPHERTEXT_VERSION, column, row_id, data)

    def unseal(self, column: str, row_id: str, blob: bytes) -> bytes:
        """The bytes :meth:`seal` sealed; raises :class:`DecryptionError` as
        :meth:`decrypt`."""
        return _unseal(self._aead, CIPHERTEXT_VERSION, column, row_id, bytes(blob))

    def new_person_key(self, person_id: str) -> tuple[PersonKey, bytes]:
        """A fresh random key for ``person_id``, and what the database keeps of it: the key
        wrapped under the data key, bound to the person."""
        key = secrets.token_bytes(KEY_LENGTH)
        return PersonKey(key, self), self.seal(_PERSON_KEY_COLUMN, person_id, key)

    def person_key(self, person_id: str, wrapped: bytes | None) -> PersonKey:
        """The key of ``person_id`` from its wrapped form (:meth:`new_person_key`). None (a
        person from before per-person keys) gives a key that opens their version 1
        ciphertexts only. Raises :class:`DecryptionError` for a damaged or moved key."""
        if wrapped is None:
            return PersonKey(None, self)
        return PersonKey(self.unseal(_PERSON_KEY_COLUMN, person_id, wrapped), self)

    def derived(self, purpose: bytes) -> bytes:
        """A key for one other purpose (``purpose`` names it), derived from the MAC key:
        HMAC-SHA256(MAC key, ``"healthcode/derived/1" 0x00 purpose``)."""
        return hmac.new(self._mac_key, b"healthcode/derived/1\x00" + purpose,
                        hashlib.sha256).digest()

    def id_number_mac(self, id_number: str) -> bytes:
        """Return the lookup key of an id number: HMAC-SHA256 of its normalised form."""
        message = _MAC_DOMAIN + normalise_id_number(id_number).encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).digest()

    def phone_mac(self, phone: str, region: str = DEFAULT_REGION) -> bytes:
        """Return the lookup key of a phone number as typed: HMAC-SHA256 of its E.164 form,
        so that spacing, dashes, ``0086`` and a missing ``+86`` do not matter. Raises
        :class:`.phones.PhoneError` for a number that cannot be valid."""
        return self.phone_form_mac(normalise_phone(phone, region))

    def phone_form_mac(self, form: str) -> bytes:
        """Return the lookup key of a number already in its lookup form (E.164; for numbers
        stored earlier, what :func:`.phones.stored_form` gives)."""
        return hmac.new(self._mac_key, _PHONE_MAC_DOMAIN + form.encode(), hashlib.sha256).digest()

    def record_mac(self, record: dict[str, Any]) -> str:
        """Return the MAC the audit log keeps of a stored row (a dict of its columns): keyed,
        so that the log says whether a value changed without letting anyone guess it."""
        message = _RECORD_MAC_DOMAIN + _canon(record)
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()[:RECORD_MAC_HEX]

    def wrap(self, passphrase: bytes, *, n: int = SCRYPT_N, r: int = SCRYPT_R,
             p: int = SCRYPT_P) -> bytes:
        """Return the key-file document: these keys encrypted under ``passphrase``."""
        header = {"format": KEY_FILE_FORMAT, "version": KEY_FILE_VERSION, "kdf": {
            "name": "scrypt", "salt": _b64(secrets.token_bytes(16)), "n": n, "r": r, "p": p}}
        nonce = secrets.token_bytes(NONCE_LENGTH)
        secret = json.dumps({"enc": _b64(self._enc_key), "mac": _b64(self._mac_key)}).encode()
        sealed = AESGCM(_kek(passphrase, header["kdf"])).encrypt(nonce, secret, _canon(header))
        document = {**header, "nonce": _b64(nonce), "ciphertext": _b64(sealed)}
        return json.dumps(document, indent=1).encode() + b"\n"

    @classmethod
    def unwrap(cls, document: bytes, passphrase: bytes) -> DataKeys:
        """Return the keys in a key-file document; raises :class:`DataKeyError`."""
        try:
            parsed = json.loads(document)
            header = {k: parsed[k] for k in ("format", "version", "kdf")}
            if header["format"] != KEY_FILE_FORMAT or header["version"] != KEY_FILE_VERSION:
                raise DataKeyError("not a version 1 healthcode data-key file")
            nonce, sealed = _unb64(parsed["nonce"]), _unb64(parsed["ciphertext"])
            kek = _kek(passphrase, header["kdf"])
        except (ValueError, KeyError, TypeError) as exc:
            raise DataKeyError(f"damaged data-key file: {exc!r}") from None
        try:
            secret = json.loads(AESGCM(kek).decrypt(nonce, sealed, _canon(header)))
        except InvalidTag:
            raise DataKeyError("cannot open the data keys: wrong passphrase?") from None
        return cls(_unb64(secret["enc"]), _unb64(secret["mac"]))


class PersonKey(_Fields):
    """One person's own key: encrypts their fields as version 2 ciphertexts, and opens those
    and (through the data keys) the version 1 ones written before they had a key."""

    __slots__ = ("_aead", "_keys")

    def __init__(self, key: bytes | None, keys: DataKeys) -> None:
        self._aead = AESGCM(key) if key is not None else None
        self._keys = keys

    def __repr__(self) -> str:
        return "PersonKey(<secret>)"

    def seal(self, column: str, row_id: str, data: bytes) -> bytes:
        if self._aead is None:
            return self._keys.seal(column, row_id, data)
        return _seal(self._aead, PERSON_CIPHERTEXT_VERSION, column, row_id, data)

    def unseal(self, column: str, row_id: str, blob: bytes) -> bytes:
        blob = bytes(blob)
        if blob[:1] == bytes([CIPHERTEXT_VERSION]) or self._aead is None:
            return self._keys.unseal(column, row_id, blob)
        return _unseal(self._aead, PERSON_CIPHERTEXT_VERSION, column, row_id, blob)


def load_data_keys(home: Home, *, create: bool = True) -> DataKeys:
    """Return the data keys of ``home``, creating ``keys/data-keys.json`` (0600) on first use.

    Raises :class:`DataKeyError` if the file is missing and ``create`` is false, damaged, or
    the passphrase (``Home.passphrase``) does not open it.
    """
    path = home.data_keys
    if path.exists():
        return _read(home, path)
    if not create:
        raise DataKeyError(f"{path} is missing")
    home.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    # Two processes starting at once must not each make (and one overwrite) a key.
    with _exclusive(home.keys / ".data-keys.lock"):
        if path.exists():
            return _read(home, path)
        keys = DataKeys.generate()
        write_atomic(path, keys.wrap(home.passphrase(create=True)))
        return keys


def _read(home: Home, path: Path) -> DataKeys:
    return DataKeys.unwrap(path.read_bytes(), home.passphrase())


@contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a") as lock:
        lock_path.chmod(0o600)
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _kek(passphrase: bytes, kdf: dict[str, Any]) -> bytes:
    n, r, p = int(kdf["n"]), int(kdf["r"]), int(kdf["p"])
    if (kdf["name"] != "scrypt" or not _SCRYPT_N_RANGE[0] <= n <= _SCRYPT_N_RANGE[1]
            or not 1 <= r <= 32 or not 1 <= p <= 16):
        raise ValueError(f"unsupported key derivation {kdf}")
    return Scrypt(salt=_unb64(kdf["salt"]), length=KEY_LENGTH, n=n, r=r, p=p).derive(passphrase)


def _aad(version: int, column: str, row_id: str) -> bytes:
    return bytes([version]) + f"{column}\x00{row_id}".encode()


def _seal(aead: AESGCM, version: int, column: str, row_id: str, data: bytes) -> bytes:
    """``version || nonce || AES-GCM(data)``, bound to the version, column and row."""
    nonce = secrets.token_bytes(NONCE_LENGTH)
    return bytes([version]) + nonce + aead.encrypt(nonce, data, _aad(version, column, row_id))


def _unseal(aead: AESGCM, version: int, column: str, row_id: str, blob: bytes) -> bytes:
    """What :func:`_seal` sealed; :class:`DecryptionError` for anything else."""
    if len(blob) < 1 + NONCE_LENGTH + 16 or blob[0] != version:
        raise DecryptionError(column, row_id)
    try:
        return aead.decrypt(blob[1:1 + NONCE_LENGTH], blob[1 + NONCE_LENGTH:],
                            _aad(version, column, row_id))
    except InvalidTag:
        raise DecryptionError(column, row_id) from None


def _canon(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
