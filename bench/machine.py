"""Pin the benchmark to one core and describe the machine and library versions."""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib import metadata

from cryptography.hazmat.backends.openssl import backend as openssl_backend

_PACKAGES = ("cryptography", "cbor2", "zxing-cpp", "pyzbar", "segno", "pillow", "base45")


def pin_to_one_core() -> int | None:
    """Run this process on one core (the last one allowed) so every figure is single-core.

    Returns the core's number, or None where affinity cannot be set.
    """
    try:
        core = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        return None
    return core


@contextmanager
def unpinned() -> Iterator[None]:
    """Let this process and its children use every core for a while (sections whose server
    and client, or browser, each need a core of their own)."""
    try:
        saved: set[int] | None = os.sched_getaffinity(0)
        os.sched_setaffinity(0, range(os.cpu_count() or 1))
    except (AttributeError, OSError):
        saved = None
    try:
        yield
    finally:
        if saved is not None:
            os.sched_setaffinity(0, saved)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def describe(core: int | None) -> str:
    """Return the report's header: date, machine, pinning, versions."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pinned = f"pinned to core {core}" if core is not None else "not pinned (no affinity API)"
    versions = ", ".join(f"{p} {_version(p)}" for p in _PACKAGES)
    return "\n".join([
        "## healthcode benchmark report",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {_cpu_model()}, {os.cpu_count()} logical CPUs (shared), {pinned}; "
        f"load average at start {load}",
        f"- Python {platform.python_version()} ({sys.implementation.name}), "
        f"{openssl_backend.openssl_version_text()}",
        f"- {versions}",
        "- figures: medians over rounds (min in brackets); ratios are throughput ratios "
        "against a baseline timed in the same run, interleaved round by round",
    ])
