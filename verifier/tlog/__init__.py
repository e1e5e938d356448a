"""Transparency log: the formats and proofs of a public, append-only, witnessed log.

Standards only: RFC 9162 Merkle trees (:mod:`.merkle`), C2SP signed notes (:mod:`.note`),
checkpoints (:mod:`.checkpoint`), Ed25519 witness cosignatures (:mod:`.cosignature`) and tiles
(:mod:`.tiles`); :mod:`.client` reads a tiled log over HTTP(S) and checks what it reads. Pure
library: the issuer publishes its log with it, verifiers, witnesses and monitors check one.
Every rejection is a :class:`TlogError` with a stable ``reason``.
"""

from .checkpoint import Checkpoint, Cosigned, open_checkpoint, parse_checkpoint, sign_checkpoint
from .client import InclusionProof, LogClient, http_fetcher
from .cosignature import (
    ALG_COSIGNATURE_V1,
    CosignatureSigner,
    CosignatureVerifier,
    cosigned_message,
    timestamp_of,
)
from .errors import TlogError, TlogReason
from .merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from .note import (
    ALG_ED25519,
    Ed25519Signer,
    Ed25519Verifier,
    Note,
    Signature,
    append_signatures,
    format_vkey,
    key_id,
    open_note,
    parse_vkey,
    sign_note,
    split_note,
)
from .tiles import (
    ENTRIES,
    TILE_WIDTH,
    Tile,
    TileHashes,
    build_bundles,
    build_tiles,
    decode_bundle,
    decode_tile,
    encode_bundle,
    encode_tile,
    entries_path,
    new_tiles,
    parse_tile_path,
    tile_path,
    tiles_for_size,
)

__all__ = [
    "ALG_COSIGNATURE_V1", "ALG_ED25519", "EMPTY_ROOT", "ENTRIES", "HASH_SIZE", "TILE_WIDTH",
    "Checkpoint", "CosignatureSigner", "CosignatureVerifier", "Cosigned", "Ed25519Signer",
    "Ed25519Verifier", "InclusionProof", "LogClient", "Note", "Signature", "Tile",
    "TileHashes", "TlogError", "TlogReason", "append_signatures", "build_bundles",
    "build_tiles", "consistency_proof", "cosigned_message", "decode_bundle", "decode_tile",
    "encode_bundle", "encode_tile", "entries_path", "format_vkey", "http_fetcher",
    "inclusion_proof", "key_id", "leaf_hash", "new_tiles", "node_hash", "open_checkpoint",
    "open_note", "parse_checkpoint", "parse_tile_path", "parse_vkey", "root_from_inclusion_proof",
    "root_hash", "sign_checkpoint", "sign_note", "split_note", "tile_path", "tiles_for_size",
    "timestamp_of", "verify_consistency", "verify_inclusion",
]
