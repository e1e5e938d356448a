"""The foreign keys a checkpoint holds, stored beside its trust list in ``foreign/``: each
file checked by its format's reader before anything is written, and written atomically (a
crash leaves the old file or the new one, never half of one).

- ``dcc.json``: every document signer certificate added, as national backends publish them;
- ``shc/<name>.json``: one SMART Health Card issuer, ``{"iss", "jwks", "crls"}``;
- ``nzcp/<name>.json``: one NZ COVID Pass issuer's DID document.

``<name>`` is a digest of the issuer's URL or DID (those hold characters a file name must not).
:meth:`ForeignStore.load` reads them back into a :class:`~verifier.formats.ForeignTrust`; a
file that no longer reads (edited by hand) is refused as the trust list is, with its name.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from ..errors import Reason, TrustListError
from ..fileio import write_atomic
from .base import ForeignTrust
from .dcckeys import DccKeys
from .nzcpdid import NzcpIssuers
from .shckeys import ShcIssuers

FOLDER = "foreign"
#: The most any one stored file is read (the readers' own limits are lower).
MAX_FILE = 16 * 1024 * 1024


def _name(issuer: str) -> str:
    return hashlib.sha256(issuer.encode("utf-8")).hexdigest()[:24] + ".json"


def _json(data: bytes, what: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, f"{what} is not JSON") from None


class ForeignStore:
    """The ``foreign/`` folder beside a trust list."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @classmethod
    def beside(cls, trust_list: Path) -> ForeignStore:
        return cls(Path(trust_list).parent / FOLDER)

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data, 0o644)

    def add_dcc(self, data: bytes) -> DccKeys:
        """Add the certificates in ``data`` (JSON list or PEM bundle) to those held; return
        what is held now. Raises :class:`TrustListError` for a file that is neither."""
        added = DccKeys.from_bytes(data)
        if not len(added):
            raise TrustListError(Reason.TRUST_LIST_MALFORMED, "no usable certificate in it")
        path = self.folder / "dcc.json"
        held = self._read(path, DccKeys.from_bytes) if path.exists() else DccKeys()
        merged = held.merged(added)
        self._write(path, merged.to_json())
        return merged

    def add_shc(self, iss: str, jwks: bytes, crl: bytes | None = None) -> ShcIssuers:
        """Trust the SMART Health Card issuer ``iss`` with its ``jwks.json``, and a revocation
        list (kept with those held for its other keys, replacing the one held for its key:
        an older one than that is refused). Raises :class:`TrustListError` or
        :class:`~verifier.revocation.RevocationListError`; nothing is written then."""
        keys = _json(jwks, "the key set")
        path = self.folder / "shc" / _name(iss)
        held, lists = ShcIssuers(), {}
        if path.exists():
            record, held = self._read(path, _stored_record)
            if record.get("jwks") == keys:
                lists = {c.get("kid"): c for c in record.get("crls", [])}
        if crl is not None:
            new_list = _json(crl, "the revocation list")
            lists[new_list.get("kid") if isinstance(new_list, dict) else None] = new_list
        record = {"iss": iss, "jwks": keys, "crls": list(lists.values())}
        new = _issuer(record)
        held.merged(new)  # raises on a revocation list older than the one held
        self._write(path, json.dumps(record, indent=1).encode())
        return new

    def add_nzcp(self, data: bytes) -> NzcpIssuers:
        """Trust the NZ COVID Pass issuer(s) whose DID document is ``data``."""
        added = NzcpIssuers.from_bytes(data)
        for document in added.documents:
            one = NzcpIssuers([document])
            self._write(self.folder / "nzcp" / _name(document.did), one.to_bytes())
        return added

    def remove(self, name: str, which: str) -> int:
        """Stop trusting keys: ``dcc`` the certificates of kid ``which`` (base64) or of
        country ``which``; ``shc`` the issuer URL ``which``; ``nzcp`` the issuer DID ``which``.
        Returns how many certificates or issuers were removed (0: none matched)."""
        if name == "dcc":
            path = self.folder / "dcc.json"
            held = self._read(path, DccKeys.from_bytes) if path.exists() else DccKeys()
            kept = [c for c in held
                    if which not in (c.country, base64.b64encode(c.kid).decode("ascii"))]
            if len(kept) < len(held):
                self._write(path, DccKeys(kept).to_json())
            return len(held) - len(kept)
        if name not in ("shc", "nzcp"):
            raise ValueError(f"no format {name!r}")
        path = self.folder / name / _name(which)
        if not path.exists():
            return 0
        path.unlink()
        return 1

    def load(self) -> ForeignTrust:
        """Everything held, as the verifier uses it (a format with nothing held: None)."""
        trust = ForeignTrust()
        dcc = self.folder / "dcc.json"
        if dcc.exists():
            trust.dcc = self._read(dcc, DccKeys.from_bytes)
        for path in sorted((self.folder / "shc").glob("*.json")):
            trust.add("shc", self._read(path, _stored_issuer))
        for path in sorted((self.folder / "nzcp").glob("*.json")):
            trust.add("nzcp", self._read(path, NzcpIssuers.from_bytes))
        return trust

    @staticmethod
    def _read(path: Path, reader):
        try:
            with open(path, "rb") as handle:
                return reader(handle.read(MAX_FILE))
        except TrustListError as exc:  # say which file
            raise TrustListError(exc.reason, f"{path.name}: {exc.detail[:80]}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise TrustListError(Reason.TRUST_LIST_MALFORMED,
                                 f"{path.name}: {str(exc)[:80]}") from None


def _stored_record(data: bytes) -> tuple[dict, ShcIssuers]:
    """A stored ``shc/`` file's record, and the issuer it holds."""
    record = json.loads(data)
    return record, _issuer(record)


def _stored_issuer(data: bytes) -> ShcIssuers:
    """The issuer a stored ``shc/`` file holds."""
    return _stored_record(data)[1]


def _issuer(record: dict) -> ShcIssuers:
    """The issuer an ``shc/`` record holds."""
    return ShcIssuers.from_bytes(record["iss"], json.dumps(record["jwks"]).encode(),
                                 [json.dumps(c).encode() for c in record.get("crls", [])])
