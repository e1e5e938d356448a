"""The audit log's head, signed by the issuer, so that it can live outside the database; and
the checkpoint ``audit verify`` resumes from.

The chain shows an edit inside the log, but not a log cut short, emptied, or edited and
re-hashed from the edit on: only a head (size and last hash) kept elsewhere shows those. The
issuer signs its head with its current signing key as a flattened JWS (like the trust list;
``typ`` :data:`HEAD_TYPE`) and publishes it at ``/trust/audit-head``; ``healthcode-issuer audit
head`` prints the same document. Saved anywhere (a file, a mail, another organisation's
archive), ``healthcode-issuer audit verify --against FILE`` checks that the log at that size
still hashes to it.

A checkpoint (``typ`` :data:`CHECKPOINT_TYPE`) is a head that ``audit verify`` checked, with
the tables' marks it needs to go on from there (:class:`issuer.store.audit_since.Marks`),
signed the same way and kept in the issuer's home (``audit/checkpoint-<database>.jws``, mode
0600, replaced atomically), out of reach of whoever holds only the database: they can neither
move it forward past an edit nor forge one. One per database (``<database>``: a digest of its
URL without the password).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from verifier.errors import VerificationError
from verifier.fileio import write_atomic
from verifier.jws import JwsFormatError, decode_jws
from verifier.keys import KeyFormatError, jwk_to_key, verify_signature

from ..keys.keystore import IssuerConfig
from ..keys.signing import PrivateKey, sign_jws
from ..store import Store
from ..store.audit_since import Marks
from ..store.audit_store import AuditReport, Verified

HEAD_TYPE = "healthcode-audit-head"
CHECKPOINT_TYPE = "healthcode-audit-checkpoint"
#: A signed head or checkpoint is well under 1 KiB.
MAX_DOCUMENT_BYTES = 64 * 1024
_HASH = re.compile(r"[0-9a-f]{64}")
_log = logging.getLogger(__name__)


class Issuer(Protocol):
    """What these functions need of :class:`issuer.service.IssuerService`."""

    home: Any
    store: Store

    def signer(self) -> tuple[PrivateKey, IssuerConfig]: ...


class HeadProblem(StrEnum):
    """Why a saved head cannot be used (stable strings)."""

    MALFORMED = "head_malformed"
    BAD_SIGNATURE = "head_bad_signature"
    UNKNOWN_SIGNER = "head_unknown_signer"  # not a key of this issuer
    OTHER_DATABASE = "head_other_database"  # a checkpoint of another database


class HeadError(Exception):
    """A saved head was refused; ``problem`` says why."""

    def __init__(self, problem: HeadProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True)
class SavedHead:
    """A head read from a signed document: the log's size and last hash, when, signed by."""

    size: int
    hash: str
    iat: int
    kid: str


def signed_head(service: Issuer, now: int | None = None) -> bytes:
    """The log's current head, signed: ``{typ, iss, size, hash, iat}`` as a JWS."""
    size, hash_ = service.store.audit_head()
    return _sign(service, HEAD_TYPE, {"size": size, "hash": hash_}, now)


def read_head(service: Issuer, document: bytes) -> SavedHead:
    """Check a signed head (its signature, made by a key of this issuer that was not retired
    as compromised) and return it. Raises :class:`HeadError`."""
    payload, kid = _read(service, document, HEAD_TYPE)
    return SavedHead(payload["size"], payload["hash"], payload["iat"], kid)


def _sign(service: Issuer, typ: str, fields: dict[str, Any], now: int | None) -> bytes:
    key, config = service.signer()
    payload = {"typ": typ, "iss": config.iss, **fields,
               "iat": int(time.time()) if now is None else now}
    return sign_jws(key, json.dumps(payload, sort_keys=True, separators=(",", ":")).encode(),
                    typ).encode()


def _read(service: Issuer, document: bytes, typ: str, ints: tuple[str, ...] = ()
          ) -> tuple[dict[str, Any], str]:
    """The payload of a document of type ``typ`` signed by this issuer, and the signer's kid;
    ``size``, ``iat`` and ``ints`` must be integers ≥ 0, ``hash`` a SHA-256 in hex."""
    try:
        jws = decode_jws(document)
        key, alg, kid = jwk_to_key(jws.header.get("jwk"))
    except (JwsFormatError, KeyFormatError) as exc:
        raise HeadError(HeadProblem.MALFORMED, f"not a signed {typ}: {exc}") from None
    if jws.header.get("typ") != typ or jws.header.get("alg") != alg.jose_name:
        raise HeadError(HeadProblem.MALFORMED, f"not a {typ} document")
    try:
        verify_signature(key, alg, jws.signing_input, jws.signature)
    except VerificationError:
        raise HeadError(HeadProblem.BAD_SIGNATURE, f"the {typ}'s signature does not hold") \
            from None
    config = service.signer()[1]
    known = {k["kid"] for k in config.keys} | {
        r["kid"] for r in config.retired if not r.get("compromised")}
    if kid.decode("ascii") not in known:
        raise HeadError(HeadProblem.UNKNOWN_SIGNER,
                        f"signed by key {kid.decode('ascii')}, which this issuer does not hold "
                        f"(or retired as compromised)")
    try:
        payload = json.loads(jws.payload)
        if (payload["typ"] != typ or payload["iss"] != config.iss
                or any(type(payload[n]) is not int or payload[n] < 0
                       for n in ("size", "iat", *ints))
                or not isinstance(payload["hash"], str) or not _HASH.fullmatch(payload["hash"])):
            raise ValueError(", ".join(("typ", "iss", "size", "hash", "iat", *ints)))
    except (ValueError, TypeError, KeyError) as exc:
        raise HeadError(HeadProblem.MALFORMED, f"a {typ} of this issuer needs {exc}") from None
    return payload, kid.decode("ascii")


# Checkpoints -------------------------------------------------------------------------------

_MARKS = ("observation", "person", "revoked")


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read back: where ``audit verify`` got to (``marks``), when (``iat``), when
    its last full check was (``full_at``), signed by ``kid``."""

    marks: Marks
    iat: int
    full_at: int
    kid: str


def checkpoint_path(service: Issuer) -> Path:
    """Where the checkpoint of the service's database is kept in its home."""
    url = service.store.engine.url.render_as_string(hide_password=True)
    return Path(service.home.root) / "audit" / f"checkpoint-{_database_id(url)}.jws"


def _database_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def save_checkpoint(service: Issuer, report: AuditReport, now: int | None = None,
                    full_at: int | None = None) -> Checkpoint:
    """Sign where ``report`` (a check that passed) ended and keep it as the checkpoint of
    the service's database; ``full_at``: when the last full check was (default: ``now``,
    for a full check). Raises ``ValueError`` for a report that found a problem."""
    marks = report.marks
    if marks is None:
        raise ValueError("only a check that passed makes a checkpoint")
    now = int(time.time()) if now is None else now
    path = checkpoint_path(service)
    fields = {"db": path.stem.removeprefix("checkpoint-"), "size": marks.size,
              "hash": marks.hash, "observation": marks.observation, "person": marks.person,
              "revoked": marks.revoked, "macs": marks.macs, "voided": marks.voided,
              "full_at": now if full_at is None else full_at}
    document = _sign(service, CHECKPOINT_TYPE, fields, now)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_atomic(path, document)
    return Checkpoint(marks, now, fields["full_at"], service.signer()[1].current)


def load_checkpoint(service: Issuer) -> Checkpoint | None:
    """The checkpoint of the service's database (None when there is none yet), its
    signature checked as :func:`read_head` checks a head's. Raises :class:`HeadError`."""
    path = checkpoint_path(service)
    try:
        with path.open("rb") as file:
            document = file.read(MAX_DOCUMENT_BYTES)
    except FileNotFoundError:
        return None
    payload, kid = _read(service, document, CHECKPOINT_TYPE, (*_MARKS, "full_at"))
    if payload.get("db") != path.stem.removeprefix("checkpoint-"):
        raise HeadError(HeadProblem.OTHER_DATABASE,
                        f"a checkpoint of database {payload.get('db')!r}, not of this one")
    if type(payload.get("macs")) is not bool:
        raise HeadError(HeadProblem.MALFORMED, f"a {CHECKPOINT_TYPE} needs macs")
    voided = payload.get("voided", 0)  # absent from checkpoints made before voids
    if type(voided) is not int or voided < 0:
        raise HeadError(HeadProblem.MALFORMED, f"a {CHECKPOINT_TYPE}'s voided is a time")
    marks = Marks(payload["size"], payload["hash"], *(payload[n] for n in _MARKS),
                  payload["macs"], voided)
    return Checkpoint(marks, payload["iat"], payload["full_at"], kid)


def verified_head(service: Issuer) -> Verified | None:
    """The saved checkpoint as :class:`issuer.store.audit_store.ChainWatch` starts from it;
    None when there is none, or it is refused (logged: the watch then starts from the first
    entry, and ``audit verify`` says why)."""
    try:
        saved = load_checkpoint(service)
    except HeadError as exc:
        _log.warning("audit checkpoint %s refused: %s: %s", checkpoint_path(service),
                     exc.problem, exc)
        return None
    if saved is None:
        return None
    return Verified(saved.marks.size, saved.marks.hash, saved.iat, saved.full_at)
