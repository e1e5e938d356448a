"""C2SP signed notes (c2sp.org/signed-note), as golang.org/x/mod/sumdb/note reads and writes them.

A note is UTF-8 text ending in a newline, a blank line, then one or more signature lines
``— <key name> <base64(key ID || signature)>``. A key is named by ``name`` and a 4-byte key
ID, ``SHA-256(name || "\\n" || type || public key)[:4]``; an Ed25519 key (type 0x01) is written
as a *vkey* ``<name>+<key ID, 8 hex>+<base64(0x01 || public key)>``.

:func:`open_note` is the only way to read a note's text: it checks the syntax, verifies every
signature by a known key (one that fails rejects the note), ignores signatures by unknown keys,
and requires at least one known signature. Limits, as the Go implementation's: 100 signature
lines; and, ours, 64 KiB per note. Base64 must be canonical (the Go reader accepts other
encodings of the same bytes; we do not).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import TlogError, TlogReason

#: Signature type bytes (c2sp.org/signed-note, "Signature types").
ALG_ED25519 = 0x01
MAX_SIGNATURES = 100
MAX_NOTE_BYTES = 65_536
_DASH = "\u2014 "


class Signer(Protocol):
    """Anything that signs note text under a key name and ID."""

    name: str
    key_id: int

    def sign(self, message: bytes) -> bytes: ...


class Verifier(Protocol):
    """Anything that checks a signature on note text under a key name and ID."""

    name: str
    key_id: int

    def verify(self, message: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True)
class Signature:
    """One signature line: the key's name and ID, and the signature bytes after the ID."""

    name: str
    key_id: int
    signature: bytes

    @property
    def line(self) -> str:
        blob = self.key_id.to_bytes(4, "big") + self.signature
        return f"{_DASH}{self.name} {base64.b64encode(blob).decode('ascii')}\n"


@dataclass(frozen=True)
class Note:
    """An opened note: its text, the signatures verified by known keys, and the others."""

    text: str
    signatures: tuple[Signature, ...]
    unverified: tuple[Signature, ...]


def key_id(name: str, alg: int, public_key: bytes) -> int:
    """The 32-bit key ID: ``SHA-256(name || 0x0A || alg || public_key)[:4]``, big-endian."""
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


def valid_name(name: object) -> bool:
    """A key name: non-empty, no Unicode space, no ``+``."""
    return (isinstance(name, str) and name != "" and "+" not in name
            and not any(ch.isspace() for ch in name))


def format_vkey(name: str, alg: int, public_key: bytes) -> str:
    """The verifier key text ``<name>+<key ID hex>+<base64(alg || public key)>``."""
    blob = base64.b64encode(bytes([alg]) + public_key).decode("ascii")
    return f"{name}+{key_id(name, alg, public_key):08x}+{blob}"


def parse_vkey(vkey: str, alg: int) -> tuple[str, bytes]:
    """The name and the 32-byte Ed25519 public key of a vkey of signature type ``alg``.

    Raises :class:`TlogError` (``bad_key``) for anything else, including a key ID that does
    not match the name and key."""
    name, _, rest = vkey.partition("+") if isinstance(vkey, str) else ("", "", "")
    hex_id, _, blob = rest.partition("+")
    raw = _b64decode(blob, TlogReason.BAD_KEY)
    if (not valid_name(name) or len(hex_id) != 8 or len(raw) != 33 or raw[0] != alg
            or hex_id != f"{key_id(name, alg, raw[1:]):08x}"):
        raise TlogError(TlogReason.BAD_KEY, f"not a vkey of type {alg:#04x}", vkey=vkey)
    return name, raw[1:]


class Ed25519Verifier:
    """Checks plain Ed25519 note signatures (type 0x01) by one key."""

    alg = ALG_ED25519

    def __init__(self, name: str, public_key: bytes) -> None:
        if not valid_name(name) or len(public_key) != 32:
            raise TlogError(TlogReason.BAD_KEY, "a name and a 32-byte Ed25519 key", name=name)
        self.name = name
        self.public_key = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
        self.raw = bytes(public_key)
        self.key_id = key_id(name, self.alg, self.raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> Ed25519Verifier:
        return cls(*parse_vkey(vkey, cls.alg))

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.alg, self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class Ed25519Signer:
    """Signs note text with an Ed25519 private key under ``name`` (type 0x01)."""

    alg = ALG_ED25519

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey) -> None:
        self.private_key = private_key
        self.verifier = Ed25519Verifier(name, private_key.public_key().public_bytes_raw())
        self.name, self.key_id = name, self.verifier.key_id

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


def sign_note(text: str, signers: Iterable[Signer], keep: Iterable[Signature] = ()) -> str:
    """The signed note: ``text``, a blank line, the signatures in ``keep`` that no signer
    replaces (same name and key ID), then one signature line per signer.

    Raises :class:`TlogError` (``bad_note``) if ``text`` is not a valid note text (UTF-8
    without control characters but newlines, ending in a newline), ``bad_key`` for a signer
    with an invalid name."""
    _check_text(text)
    message = text.encode("utf-8")
    fresh = []
    for signer in signers:
        if not valid_name(signer.name):
            raise TlogError(TlogReason.BAD_KEY, "invalid key name", name=signer.name)
        fresh.append(Signature(signer.name, signer.key_id, signer.sign(message)))
    replaced = {(s.name, s.key_id) for s in fresh}
    kept = [s for s in keep if (s.name, s.key_id) not in replaced]
    return text + "\n" + "".join(s.line for s in kept + fresh)


def append_signatures(note: str, signers: Iterable[Signer]) -> str:
    """``note`` with signatures by ``signers`` added (replacing their earlier ones), its
    other signature lines kept as they are. Checks the syntax only: open the note with the
    keys you trust before you sign what it says."""
    text, lines = split_note(note)
    return sign_note(text, signers, keep=lines)


def split_note(note: str | bytes) -> tuple[str, list[Signature]]:
    """The text and the signature lines of a note, **none of them verified**.

    Raises :class:`TlogError` (``bad_note``) for malformed syntax or too many signatures."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise TlogError(TlogReason.BAD_NOTE, "note too large", size=len(note))
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError:
            raise TlogError(TlogReason.BAD_NOTE, "not UTF-8") from None
    if not isinstance(note, str) or len(note.encode("utf-8", "surrogatepass")) > MAX_NOTE_BYTES:
        raise TlogError(TlogReason.BAD_NOTE, "not a note of at most 64 KiB")
    _check_chars(note)
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        raise TlogError(TlogReason.BAD_NOTE, "no blank line before the signatures")
    text, block = note[:split + 1], note[split + 2:]
    lines = block[:-1].split("\n") if block else []
    if not lines:
        raise TlogError(TlogReason.BAD_NOTE, "no signature lines")
    if len(lines) > MAX_SIGNATURES:
        raise TlogError(TlogReason.BAD_NOTE, f"more than {MAX_SIGNATURES} signatures")
    return text, [_parse_line(line) for line in lines]


def open_note(note: str | bytes, verifiers: Iterable[Verifier]) -> Note:
    """Parse ``note`` and verify its signatures by the known ``verifiers``.

    Returns the :class:`Note`. Raises :class:`TlogError`: ``bad_note`` (syntax, size, too
    many signatures), ``bad_key`` (two verifiers with the same name and key ID),
    ``bad_signature`` (a known key's signature fails: the whole note is refused),
    ``unknown_key`` (no signature by a known key)."""
    known: dict[tuple[str, int], Verifier] = {}
    for verifier in verifiers:
        if (verifier.name, verifier.key_id) in known:
            raise TlogError(TlogReason.BAD_KEY, "ambiguous key", name=verifier.name,
                            key_id=f"{verifier.key_id:08x}")
        known[(verifier.name, verifier.key_id)] = verifier
    text, lines = split_note(note)
    message = text.encode("utf-8")
    verified: dict[tuple[str, int], Signature] = {}
    unverified: dict[Signature, None] = {}
    for sig in lines:
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.setdefault(sig)
        elif (sig.name, sig.key_id) not in verified:
            if not verifier.verify(message, sig.signature):
                raise TlogError(TlogReason.BAD_SIGNATURE, name=sig.name,
                                key_id=f"{sig.key_id:08x}")
            verified[(sig.name, sig.key_id)] = sig
    if not verified:
        raise TlogError(TlogReason.UNKNOWN_KEY, names=sorted({s.name for s in lines}))
    return Note(text, tuple(verified.values()), tuple(unverified))


def _parse_line(line: str) -> Signature:
    if not line.startswith(_DASH):
        raise TlogError(TlogReason.BAD_NOTE, "a signature line starts with an em dash")
    name, _, blob = line[len(_DASH):].partition(" ")
    raw = _b64decode(blob, TlogReason.BAD_NOTE)
    if not valid_name(name) or len(raw) < 5:
        raise TlogError(TlogReason.BAD_NOTE, "malformed signature line")
    return Signature(name, int.from_bytes(raw[:4], "big"), raw[4:])


def _b64decode(text: str, reason: TlogReason) -> bytes:
    """Standard base64, padded and canonical (re-encoding gives the same text)."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise TlogError(reason, "invalid base64") from None
    if not text or base64.b64encode(raw).decode("ascii") != text:
        raise TlogError(reason, "non-canonical base64")
    return raw


def _check_chars(text: str) -> None:
    for ch in text:
        if (ch < " " and ch != "\n") or "\ud800" <= ch <= "\udfff":
            raise TlogError(TlogReason.BAD_NOTE, "control character in a note")


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise TlogError(TlogReason.BAD_NOTE, "note text must end in a newline")
    _check_chars(text)
    if len(text.encode("utf-8")) > MAX_NOTE_BYTES:
        raise TlogError(TlogReason.BAD_NOTE, "note too large")
