"""The issuer's home folder: where keys, the trust list and the SQLite database live.

``HEALTHCODE_HOME`` names it; by default it is the current directory, so keys land in
``./keys``. Every secret is written atomically (temporary file, fsync, rename) with mode 0600,
so a crash never leaves a half-written key and no other user can read one.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

from verifier.fileio import write_atomic

__all__ = ["HOME_ENV", "PASSPHRASE_ENV", "Home", "HomeError", "write_atomic"]

HOME_ENV = "HEALTHCODE_HOME"
PASSPHRASE_ENV = "HEALTHCODE_KEY_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)


class HomeError(Exception):
    """The home folder is missing, incomplete, or would be overwritten."""


@dataclass(frozen=True)
class Home:
    """Paths inside a home folder."""

    root: Path

    @classmethod
    def resolve(cls, root: str | Path | None = None) -> Home:
        """Return the home at ``root``, else ``$HEALTHCODE_HOME``, else the current directory."""
        return cls(Path(root or os.environ.get(HOME_ENV) or ".").resolve())

    @property
    def keys(self) -> Path:
        return self.root / "keys"

    @property
    def issuer_config(self) -> Path:
        return self.keys / "issuer.json"

    @property
    def trust_list(self) -> Path:
        return self.keys / "trust-list.json"

    @property
    def anchor_private(self) -> Path:
        return self.keys / "anchor.key.pem"

    @property
    def previous_anchor_private(self) -> Path:
        """The old anchor's key while an anchor roll-over is under way."""
        return self.keys / "anchor-previous.key.pem"

    @property
    def anchor_public(self) -> Path:
        return self.keys / "anchor.pub.pem"

    @property
    def passphrase_file(self) -> Path:
        return self.keys / "passphrase"

    @property
    def data_keys(self) -> Path:
        """The wrapped keys that encrypt personal data in the database (issuer/store/pii.py)."""
        return self.keys / "data-keys.json"

    @property
    def database(self) -> Path:
        """The default SQLite database (when ``$HEALTHCODE_DATABASE_URL`` is unset)."""
        return self.root / "issuer.db"

    def signing_key(self, kid_hex: str) -> Path:
        return self.keys / f"issuer-{kid_hex}.key.pem"

    @property
    def session_key(self) -> Path:
        return self.keys / "session.key"

    def session_secret(self) -> bytes:
        """Return the key that signs holders' session cookies, creating it (0600) on first
        use. Deleting the file signs every holder out."""
        try:
            return self.session_key.read_bytes()
        except FileNotFoundError:
            self.keys.mkdir(parents=True, exist_ok=True)
            write_atomic(self.session_key, secrets.token_bytes(32))
            return self.session_key.read_bytes()

    def passphrase(self, *, create: bool = False) -> bytes:
        """Return the key passphrase: ``$HEALTHCODE_KEY_PASSPHRASE``, else the stored one.

        With ``create``, a missing passphrase is generated and stored 0600 beside the keys, with
        a warning on stderr. Raises :class:`HomeError` when there is none to be had.
        """
        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return from_env.encode()
        if self.passphrase_file.exists():
            return self.passphrase_file.read_bytes().strip()
        if not create:
            raise HomeError(f"set {PASSPHRASE_ENV}: no passphrase is stored in {self.keys}")
        generated = secrets.token_urlsafe(32)
        write_atomic(self.passphrase_file, generated.encode() + b"\n")
        print(f"WARNING: {PASSPHRASE_ENV} is not set. A random passphrase was generated and "
              f"stored in {self.passphrase_file} (mode 0600); anyone who can read that file can "
              f"use the private keys. In production set {PASSPHRASE_ENV} and keep no such file.",
              file=sys.stderr)
        return generated.encode()
