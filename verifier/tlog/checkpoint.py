"""C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): a log's signed tree head, as a signed note.

The note text is at least three non-empty lines: the **origin** (the log's name), the **tree
size** in decimal without leading zeroes, the **root hash** in base64 (32 bytes), then optional
non-empty **extension lines**. The log signs it with its note key (:mod:`.note`); witnesses add
cosignatures (:mod:`.cosignature`) to the same note.

:func:`open_checkpoint` is how a client reads one: the log's own signature must verify (a
witness's alone is not enough), the origin must be the expected one, and witness cosignatures
are verified and counted against a quorum.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from dataclasses import dataclass

from .cosignature import CosignatureVerifier, timestamp_of
from .errors import TlogError, TlogReason
from .merkle import HASH_SIZE, MAX_TREE_SIZE
from .note import Signer, Verifier, open_note, sign_note


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: the log's origin, its size, its root hash, and extension lines."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The checkpoint as note text (ends in a newline). Raises :class:`TlogError`
        (``bad_checkpoint``) for a field that cannot be written."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii"),
                 *self.extensions]
        text = "".join(line + "\n" for line in lines)
        if parse_checkpoint(text) != self:
            raise TlogError(TlogReason.BAD_CHECKPOINT, "cannot write this checkpoint")
        return text


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint opened with its signatures: which log keys and which witnesses (with the
    time each cosigned) vouch for it, and the note itself."""

    checkpoint: Checkpoint
    note: str
    log_keys: tuple[str, ...]
    witnesses: dict[str, int]


def parse_checkpoint(text: str) -> Checkpoint:
    """The :class:`Checkpoint` in note text ``text`` (**signatures are not checked**: use
    :func:`open_checkpoint` on notes from elsewhere). Raises :class:`TlogError`
    (``bad_checkpoint``)."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise TlogError(TlogReason.BAD_CHECKPOINT, "a checkpoint ends in a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(line == "" for line in lines):
        raise TlogError(TlogReason.BAD_CHECKPOINT, "three or more non-empty lines")
    origin, size_text, root_text, *extensions = lines
    if not (size_text.isascii() and size_text.isdigit()) or (
            size_text != "0" and size_text.startswith("0")):
        raise TlogError(TlogReason.BAD_CHECKPOINT, "tree size not a plain decimal number")
    size = int(size_text)
    if size > MAX_TREE_SIZE:
        raise TlogError(TlogReason.BAD_CHECKPOINT, "tree size above 2⁶⁴-1")
    try:
        root = base64.b64decode(root_text, validate=True)
    except (binascii.Error, ValueError):
        raise TlogError(TlogReason.BAD_CHECKPOINT, "root hash not base64") from None
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_text:
        raise TlogError(TlogReason.BAD_CHECKPOINT, "root hash not 32 bytes in base64")
    return Checkpoint(origin, size, root, tuple(extensions))


def sign_checkpoint(checkpoint: Checkpoint, signers: Iterable[Signer]) -> str:
    """The checkpoint as a note signed by ``signers`` (the log's key, then any others)."""
    return sign_note(checkpoint.body(), signers)


def open_checkpoint(note: str | bytes, origin: str, log_keys: Iterable[Verifier],
                    witnesses: Iterable[CosignatureVerifier] = (), quorum: int = 0
                    ) -> Cosigned:
    """Verify a checkpoint note from log ``origin``: signed by one of ``log_keys``, and
    cosigned by at least ``quorum`` of ``witnesses``.

    Returns :class:`Cosigned`. Raises :class:`TlogError`: the reasons of
    :func:`~.note.open_note`; ``unknown_key`` if no log key signed it (cosignatures alone do
    not do); ``bad_checkpoint`` (malformed, or another origin); ``too_few_cosignatures``."""
    log_keys, witnesses = list(log_keys), list(witnesses)
    opened = open_note(note, [*log_keys, *witnesses])
    by_log = [s.name for s in opened.signatures
              if any((s.name, s.key_id) == (k.name, k.key_id) for k in log_keys)]
    if not by_log:
        raise TlogError(TlogReason.UNKNOWN_KEY, "not signed by the log")
    checkpoint = parse_checkpoint(opened.text)
    if checkpoint.origin != origin:
        raise TlogError(TlogReason.BAD_CHECKPOINT, "checkpoint of another log",
                        origin=checkpoint.origin, expected=origin)
    cosigned = {s.name: timestamp_of(s) for s in opened.signatures
                if any((s.name, s.key_id) == (w.name, w.key_id) for w in witnesses)}
    if len(cosigned) < quorum:
        raise TlogError(TlogReason.TOO_FEW_COSIGNATURES, have=len(cosigned), quorum=quorum)
    text = note.decode("utf-8") if isinstance(note, bytes) else note
    return Cosigned(checkpoint, text, tuple(by_log), cosigned)
