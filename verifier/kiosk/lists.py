"""The lists a checkpoint holds: the trust list and the revocation lists beside it, each
re-read when its file changes on disk (``healthcode-verifier sync`` replaces them atomically),
and never replaced by an older one; and the foreign keys stored beside them
(``healthcode-verifier trust add-dcc/add-shc/add-nzcp``), re-read when a file of theirs
changes."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HealthCodeError, Reason, RevocationListError, TrustListError
from ..formats import ForeignTrust
from ..formats.base import combined
from ..formats.store import ForeignStore
from ..revocation import FILE_GLOB, Revocations, file_name
from ..revocation import check_successor as check_revocations
from ..trust import TrustList, check_successor


@dataclass
class TrustState:
    """The trust list in force, reloaded when its file changes on disk."""

    path: Path
    anchor: bytes
    clock: Callable[[], float]
    trust: TrustList | None = None
    error: TrustListError | None = None
    #: A newer file that was refused while the list in memory stays in force (rollback).
    rejected: TrustListError | None = None
    expired: bool = False
    _stamp: tuple[int, int] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> TrustList | None:
        """The trust list (re-read if the file changed), or None if there is none usable."""
        try:
            info = self.path.stat()
            stamp = (info.st_mtime_ns, info.st_size)
        except OSError as exc:
            with self._lock:
                self.trust, self.error = None, TrustListError(Reason.TRUST_LIST_MALFORMED,
                                                              f"cannot read it: {exc.strerror}")
                self._stamp = None
            return None
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._load()
            if self.trust is not None:
                self.expired = self.clock() > self.trust.expires_at
            return self.trust

    def _load(self) -> None:
        previous = self.trust
        try:
            try:
                new = TrustList.load(self.path, self.anchor)
            except TrustListError as exc:
                if exc.reason is not Reason.TRUST_LIST_EXPIRED:
                    raise
                # Out of date but genuine: keep checking codes with it, and say so on screen.
                new = TrustList.load(self.path, self.anchor, now=0)
            check_successor(previous, new)
        except TrustListError as exc:
            if exc.reason is Reason.TRUST_LIST_ROLLBACK and previous is not None:
                self.rejected = exc  # an older list replaced the file: keep the one we have
                return
            self.trust, self.error = None, exc
            return
        except OSError as exc:
            self.trust = None
            self.error = TrustListError(Reason.TRUST_LIST_MALFORMED,
                                        f"cannot read it: {exc.strerror}")
            return
        # A list that rolled the anchor over names the new one: pin it from now on.
        self.trust, self.error, self.rejected, self.anchor = new, None, None, new.anchor


@dataclass
class RevocationState:
    """The revocation lists beside the trust list, re-read when a file or the trust list
    changes. A list older than the one in memory for its issuer is refused (rollback)."""

    folder: Path
    revocations: Revocations = field(default_factory=Revocations)
    problems: dict[str, str] = field(default_factory=dict)
    _stamp: tuple[Any, ...] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, trust: TrustList) -> Revocations:
        try:
            stats = [(p.name, p.stat()) for p in sorted(self.folder.glob(FILE_GLOB))]
            stamp = (trust.digest, *((name, st.st_mtime_ns, st.st_size) for name, st in stats))
        except OSError:
            stamp = (trust.digest,)
        with self._lock:
            if stamp != self._stamp:
                self._stamp = stamp
                self._load(trust)
            return self.revocations

    def _load(self, trust: TrustList) -> None:
        loaded, problems = Revocations.load_dir(self.folder, trust)
        kept = {}
        self.problems = {name: str(error) for name, error in problems.items()}
        for listed in loaded:
            previous = self.revocations.get(listed.iss)
            try:
                check_revocations(previous, listed)
            except RevocationListError as exc:
                self.problems[file_name(listed.iss)] = str(exc)
                listed = previous
            kept[listed.iss] = listed
        self.revocations = Revocations(kept)


@dataclass
class ForeignState:
    """The foreign keys in ``foreign/`` beside the trust list, re-read when a file there is
    added, replaced or removed, and combined with those the trust list carries (the files
    added here the later word: :func:`~verifier.formats.base.combined`). A stored file that no
    longer reads (edited by hand) leaves the checkpoint with the trust list's keys alone, and
    ``error`` saying which file: it fails closed, as a bad trust list does."""

    store: ForeignStore
    trust: ForeignTrust = field(default_factory=ForeignTrust)
    error: HealthCodeError | None = None
    _load_error: HealthCodeError | None = None
    _stamp: tuple[Any, ...] | None = None
    _listed: ForeignTrust | None = None
    _combined: ForeignTrust = field(default_factory=ForeignTrust)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, listed: ForeignTrust | None = None) -> ForeignTrust:
        """The keys to verify foreign codes with: ``listed`` (the trust list's) and the
        stored ones."""
        folder = self.store.folder
        try:
            stamp = tuple((p.relative_to(folder).as_posix(), p.stat().st_mtime_ns,
                           p.stat().st_size) for p in sorted(folder.rglob("*.json")))
        except OSError:
            stamp = ("unreadable",)
        with self._lock:
            if stamp == self._stamp and listed is self._listed:
                return self._combined
            if stamp != self._stamp:
                self._stamp = stamp
                try:
                    self.trust, self._load_error = self.store.load(), None
                except TrustListError as exc:
                    self.trust, self._load_error = ForeignTrust(), exc
                except OSError as exc:
                    self.trust = ForeignTrust()
                    self._load_error = TrustListError(Reason.TRUST_LIST_MALFORMED,
                                                      f"cannot read it: {exc.strerror}")
            self._listed, self.error = listed, self._load_error
            try:
                self._combined = combined(listed, self.trust)
            except RevocationListError as exc:  # a stored list older than the trust list's
                self._combined, self.error = combined(listed), exc
            return self._combined

    def held(self, listed: ForeignTrust | None = None) -> list[str]:
        """The formats this checkpoint holds keys for."""
        trust = self.current(listed)
        return [name for name in ("dcc", "shc", "nzcp") if getattr(trust, name) is not None]
