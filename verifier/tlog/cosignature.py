"""C2SP tlog-cosignature (c2sp.org/tlog-cosignature), the Ed25519 ``cosignature/v1`` type.

A witness's cosignature is a note signature line on a checkpoint whose key ID is computed with
signature type 0x04, ``SHA-256(name || "\\n" || 0x04 || public key)[:4]``, and whose signature
bytes are a ``timestamped_signature``: an 8-byte big-endian POSIX timestamp, then the Ed25519
signature of

    cosignature/v1
    time <timestamp, decimal, no leading zeroes>
    <the whole checkpoint body, its final newline included>

It states that, at that time, this was the largest tree the witness had seen for the origin,
consistent with all it had seen before. (The ML-DSA-44 type, 0x06, is not implemented.)
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from .errors import TlogError, TlogReason
from .note import Signature, format_vkey, key_id, parse_vkey, valid_name

ALG_COSIGNATURE_V1 = 0x04
HEADER = "cosignature/v1"
MAX_TIMESTAMP = 2**63 - 1
_SIGNATURE_SIZE = 8 + 64


def cosigned_message(body: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs for checkpoint ``body`` at ``timestamp``.

    Raises :class:`TlogError` (``bad_cosignature``) for a timestamp outside 0..2⁶³-1 and a
    body of fewer than three lines (not a checkpoint)."""
    if type(timestamp) is not int or not 0 <= timestamp <= MAX_TIMESTAMP:
        raise TlogError(TlogReason.BAD_COSIGNATURE, "timestamp out of range",
                        timestamp=timestamp)
    if not isinstance(body, str) or not body.endswith("\n") or body.count("\n") < 3:
        raise TlogError(TlogReason.BAD_COSIGNATURE, "a cosignature signs a checkpoint")
    return f"{HEADER}\ntime {timestamp}\n{body}".encode()


def timestamp_of(signature: Signature | bytes) -> int:
    """The timestamp inside a cosignature/v1 signature (not verified: see the verifier).

    Raises :class:`TlogError` (``bad_cosignature``) if the signature has the wrong size."""
    raw = signature.signature if isinstance(signature, Signature) else signature
    if len(raw) != _SIGNATURE_SIZE:
        raise TlogError(TlogReason.BAD_COSIGNATURE, "not a cosignature/v1 signature")
    return int.from_bytes(raw[:8], "big")


class CosignatureVerifier:
    """Checks a witness's cosignature/v1 signatures; a note :class:`~.note.Verifier`.

    ``max_future``: seconds a timestamp may lie ahead of ``clock()`` (None: no limit)."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, public_key: bytes, *, max_future: int | None = None,
                 clock: Callable[[], float] = _time.time) -> None:
        if not valid_name(name) or len(public_key) != 32:
            raise TlogError(TlogReason.BAD_KEY, "a name and a 32-byte Ed25519 key", name=name)
        self.name = name
        self.raw = bytes(public_key)
        self.public_key = ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
        self.key_id = key_id(name, self.alg, self.raw)
        self.max_future, self.clock = max_future, clock

    @classmethod
    def from_vkey(cls, vkey: str, **options) -> CosignatureVerifier:
        """From a vkey of type 0x04 (raises :class:`TlogError`, ``bad_key``)."""
        return cls(*parse_vkey(vkey, cls.alg), **options)

    @property
    def vkey(self) -> str:
        return format_vkey(self.name, self.alg, self.raw)

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != _SIGNATURE_SIZE:
            return False
        timestamp = int.from_bytes(signature[:8], "big")
        if timestamp > MAX_TIMESTAMP:
            return False
        if self.max_future is not None and timestamp > self.clock() + self.max_future:
            return False
        try:
            body = message.decode("utf-8")
            self.public_key.verify(signature[8:], cosigned_message(body, timestamp))
        except (InvalidSignature, UnicodeDecodeError, TlogError):
            return False
        return True


class CosignatureSigner:
    """Cosigns checkpoints as a witness; a note :class:`~.note.Signer`.

    The timestamp is ``clock()`` at signing, as whole seconds (inject ``clock`` for fixed
    output: Ed25519 is deterministic, so a fixed time gives fixed bytes)."""

    alg = ALG_COSIGNATURE_V1

    def __init__(self, name: str, private_key: ed25519.Ed25519PrivateKey, *,
                 clock: Callable[[], float] = _time.time) -> None:
        self.private_key = private_key
        self.verifier = CosignatureVerifier(name, private_key.public_key().public_bytes_raw())
        self.name, self.key_id, self.clock = name, self.verifier.key_id, clock

    def sign(self, message: bytes) -> bytes:
        timestamp = int(self.clock())
        signed = cosigned_message(message.decode("utf-8"), timestamp)
        return timestamp.to_bytes(8, "big") + self.private_key.sign(signed)
