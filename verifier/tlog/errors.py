"""One exception for everything the transparency-log library rejects.

:class:`TlogError` is a :class:`~verifier.errors.HealthCodeError` with reasons of its own: a
:class:`TlogReason` whose value is a stable string (tests assert on it, never on message text),
and context (sizes, indexes, key names). Proofs, notes, checkpoints and tiles arrive from the
network: every malformed input ends here, never in a ``ValueError``, ``IndexError`` or
``binascii.Error``.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import HealthCodeError


class TlogReason(StrEnum):
    """Why a proof, note, checkpoint or tile was refused. Values are part of the interface."""

    BAD_HASH = "bad_hash"
    BAD_INDEX = "bad_index"
    BAD_PROOF = "bad_proof"
    INCONSISTENT = "inconsistent"
    BAD_NOTE = "bad_note"
    BAD_KEY = "bad_key"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    BAD_CHECKPOINT = "bad_checkpoint"
    BAD_COSIGNATURE = "bad_cosignature"
    TOO_FEW_COSIGNATURES = "too_few_cosignatures"
    BAD_TILE = "bad_tile"
    FETCH_FAILED = "fetch_failed"


EXPLANATIONS: dict[TlogReason, str] = {
    TlogReason.BAD_HASH: "a hash is not 32 bytes",
    TlogReason.BAD_INDEX: "a leaf index or tree size is out of range",
    TlogReason.BAD_PROOF: "the proof does not lead to the tree's root",
    TlogReason.INCONSISTENT: "the two trees are not consistent: the log's history was rewritten",
    TlogReason.BAD_NOTE: "the signed note is malformed",
    TlogReason.BAD_KEY: "a key is malformed or ambiguous",
    TlogReason.UNKNOWN_KEY: "the note carries no signature by a known key",
    TlogReason.BAD_SIGNATURE: "a signature by a known key does not verify",
    TlogReason.BAD_CHECKPOINT: "the checkpoint is malformed or from another log",
    TlogReason.BAD_COSIGNATURE: "a witness cosignature is malformed or from the future",
    TlogReason.TOO_FEW_COSIGNATURES: "the checkpoint has fewer witness cosignatures than required",
    TlogReason.BAD_TILE: "a tile, tile path or entry bundle is malformed",
    TlogReason.FETCH_FAILED: "the log could not be read",
}


class TlogError(HealthCodeError):
    """A transparency-log input was rejected: ``reason`` (a :class:`TlogReason`) says why,
    ``context`` about what. Part of the verifier's one exception tree."""

    reasons = TlogReason
    explanations = EXPLANATIONS
