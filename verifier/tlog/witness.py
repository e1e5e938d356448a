"""A witness of a transparency log (C2SP tlog-cosignature): run by an independent party (a
court, a newspaper, a university), it fetches the log's checkpoint, verifies it against the
log's tiles, checks that it extends the last checkpoint this witness cosigned, and only then
cosigns it and sends the cosignature back to the log.

It refuses, and says why with the evidence, when the log shows it

- a smaller tree than it cosigned before (``rollback``);
- the same size with another root (``split_view``: two histories of one size, both signed);
- a tree whose consistency proof from the one it cosigned does not verify (``inconsistent``:
  a past leaf was rewritten).

The witness keeps its key (Ed25519, a PEM encrypted under its passphrase, 0600) and the last
note it cosigned (its state) in files of its own; it never needs anything from the log but
what the log publishes.
"""

from __future__ import annotations

import json
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from ..fileio import write_atomic
from .checkpoint import Cosigned, open_checkpoint
from .client import LogClient
from .cosignature import CosignatureSigner
from .errors import TlogError, TlogReason
from .note import Verifier, append_signatures

KEY_FORMAT = "healthcode-witness-key"
PASSPHRASE_ENV = "HEALTHCODE_WITNESS_PASSPHRASE"  # noqa: S105  (the variable's name)
MAX_RESPONSE = 64 * 1024


class WitnessRefusal(Exception):
    """The log showed this witness something it must not cosign: ``reason`` (``rollback``,
    ``split_view``, ``inconsistent``) and the evidence (both notes, or the proof)."""

    def __init__(self, reason: str, message: str, evidence: dict[str, object]) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason, self.evidence = reason, evidence


def _passphrase() -> bytes:
    value = os.environ.get(PASSPHRASE_ENV, "")
    if not value:
        raise TlogError(TlogReason.BAD_KEY, f"set {PASSPHRASE_ENV}: the witness key is "
                        "encrypted under it")
    return value.encode()


def create_key(path: Path, name: str) -> CosignatureSigner:
    """A new witness key named ``name`` in ``path`` (refuses to overwrite one)."""
    if path.exists():
        raise TlogError(TlogReason.BAD_KEY, f"{path} exists: a witness keeps its key")
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.BestAvailableEncryption(_passphrase())).decode()
    signer = CosignatureSigner(name, key)  # checks the name
    write_atomic(path, json.dumps({"format": KEY_FORMAT, "name": name, "key": pem}).encode())
    return signer


def load_key(path: Path) -> CosignatureSigner:
    """The witness key in ``path``. Raises :class:`TlogError` (``bad_key``)."""
    try:
        document = json.loads(path.read_bytes())
        if document.get("format") != KEY_FORMAT:
            raise ValueError("not a witness key file")
        key = serialization.load_pem_private_key(document["key"].encode(), _passphrase())
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise TlogError(TlogReason.BAD_KEY, f"cannot read the witness key: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise TlogError(TlogReason.BAD_KEY, "the witness key is not Ed25519")
    return CosignatureSigner(document["name"], key)


@dataclass
class Witness:
    """One witness of one log: its key, the log's origin and keys, and its state file."""

    signer: CosignatureSigner
    client: LogClient
    origin: str
    log_keys: list[Verifier]
    state: Path

    def last(self) -> Cosigned | None:
        """The checkpoint this witness cosigned last (None before the first)."""
        if not self.state.exists():
            return None
        return open_checkpoint(self.state.read_text(), self.origin, self.log_keys)

    def check(self) -> tuple[Cosigned, Cosigned | None]:
        """The log's checkpoint, verified against its tiles and against the last one this
        witness cosigned. Raises :class:`WitnessRefusal`, :class:`TlogError`."""
        new, old = self.client.checkpoint(), self.last()
        if old is None:
            return new, None
        was, now = old.checkpoint, new.checkpoint
        if now.size < was.size:
            raise WitnessRefusal("rollback", f"the log shows {now.size} leaves after {was.size}",
                                 {"cosigned": old.note, "shown": new.note})
        if now.size == was.size and now.root != was.root:
            raise WitnessRefusal("split_view", f"two roots for {now.size} leaves",
                                 {"cosigned": old.note, "shown": new.note})
        try:
            self.client.consistency(old, new)
        except TlogError as exc:
            raise WitnessRefusal("inconsistent", f"the log at {now.size} does not extend the "
                                 f"log at {was.size} ({exc.reason})",
                                 {"cosigned": old.note, "shown": new.note}) from None
        return new, old

    def cosign(self, submit_url: str | None = None, timeout: float = 10) -> str:
        """Check the log's checkpoint, cosign it, keep it as this witness's state, and send it
        to ``submit_url`` (the log's ``/log/cosignature``) if given; return the cosigned
        note. Raises :class:`WitnessRefusal` (nothing is signed then), :class:`TlogError`."""
        new, _ = self.check()
        note = append_signatures(new.note, [self.signer])
        write_atomic(self.state, note.encode())
        if submit_url is not None:
            if not submit_url.startswith(("https://", "http://")):
                raise TlogError(TlogReason.FETCH_FAILED, "the log's URL is not http(s)")
            request = urllib.request.Request(  # noqa: S310  (http(s) only, checked above)
                submit_url, data=note.encode(), method="POST",
                headers={"Content-Type": "text/plain"})
            try:
                with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                    response.read(MAX_RESPONSE)
            except OSError as exc:
                raise TlogError(TlogReason.FETCH_FAILED, f"the log refused or did not take "
                                f"the cosignature: {exc}") from None
        return note
