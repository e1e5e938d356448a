"""Sync in the background: a checkpoint's lists kept fresh without anyone running ``sync``.

:class:`BackgroundSync` runs :func:`verifier.sync.sync` now and then every ``every`` seconds
in a thread of its own (``healthcode-verifier kiosk --sync URL``, ``healthcode-verifier sync
URL --watch``). Each round is an ordinary sync: conditional requests (an unchanged list costs a
304), every document checked in full before it replaces a file, atomically, so a bad round
leaves the good files as they were. The kiosk re-reads the files when they change.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import HealthCodeError
from .sync import SyncError, SyncReport, sync
from .timefmt import humanize, iso

#: How often a background sync runs by default (seconds).
DEFAULT_EVERY = 300
#: The shortest interval accepted: a sync is two requests to the issuer.
MIN_EVERY = 1
#: A checkpoint warns when what it knows of revocations is older than this (seconds): the
#: list's own time, or when a sync last confirmed it current, whichever is later.
MAX_REVOCATION_AGE = 3600


class BackgroundSync:
    """Sync ``urls`` into the folder of ``trust_path`` every ``every`` seconds, in a thread."""

    def __init__(self, urls: list[str], trust_path: str | Path,
                 anchor_path: str | Path | None = None, every: int = DEFAULT_EVERY,
                 on_report: Callable[[SyncReport], None] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        if not urls:
            raise ValueError("background sync needs at least one URL")
        if every < MIN_EVERY:
            raise ValueError(f"every must be at least {MIN_EVERY} s")
        self.urls, self.every = list(urls), every
        self.trust_path = Path(trust_path)
        self.anchor_path = Path(anchor_path) if anchor_path is not None else None
        self.on_report, self.clock = on_report, clock
        self.last_report: SyncReport | None = None
        self.last_attempt: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def run_once(self) -> SyncReport:
        """Sync once; return the report (an unreadable pinned anchor is an error in it)."""
        now = int(self.clock())
        try:
            report = sync(self.urls, self.trust_path, self.anchor_path, now=now)
        except (OSError, HealthCodeError) as exc:  # the pinned anchor is missing or unreadable
            report = SyncReport(trust_list="anchor_unreadable",
                                errors=[SyncError("anchor_unreadable", str(exc))])
        with self._lock:
            self.last_report, self.last_attempt = report, now
        if self.on_report is not None:
            self.on_report(report)
        return report

    def run(self) -> None:
        """Sync now and every ``every`` seconds until :meth:`stop`."""
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.every)

    def start(self) -> BackgroundSync:
        """Run :meth:`run` in a daemon thread (it ends with the process); return self."""
        self._thread = threading.Thread(target=self.run, name="healthcode-sync", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self, now: int) -> dict[str, Any]:
        """What the last round did, and a warning in plain words when it failed."""
        with self._lock:
            report, attempt = self.last_report, self.last_attempt
        running = self._thread is not None and self._thread.is_alive()
        info: dict[str, Any] = {"urls": self.urls, "every": humanize(self.every),
                                "running": running, "last_attempt": None, "ok": None,
                                "errors": [], "warning": None}
        if not running and self._thread is not None:
            info["warning"] = "Background sync has stopped: restart the kiosk."
        if report is None or attempt is None:
            return info
        info.update(last_attempt=iso(attempt), ok=report.ok,
                    errors=[f"{e.reason}: {e.detail}" for e in report.errors])
        if not report.ok and info["warning"] is None:
            reasons = ", ".join(dict.fromkeys(e.reason for e in report.errors))
            info["warning"] = (f"The last sync, {humanize(max(now - attempt, 0))} ago, "
                               f"failed ({reasons}); the lists in use were kept. Retrying "
                               f"every {humanize(self.every)}.")
        return info
