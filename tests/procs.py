"""Real server processes for tests: ``healthcode-issuer serve`` and ``healthcode-verifier
kiosk`` on free ports of 127.0.0.1, started from the installed console scripts and stopped
(by their own process id) when the block ends."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def script(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def get(url: str, headers: dict[str, str] | None = None, timeout: float = 10
        ) -> tuple[int, bytes, dict[str, str]]:
    """GET ``url``: ``(status, body, headers)``, for error statuses too."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), dict(exc.headers)


@contextmanager
def running(command: list[str], ready_url: str, env: dict[str, str] | None = None,
            log: Path | None = None, timeout: float = 60) -> Iterator[subprocess.Popen]:
    """Start ``command``; yield once ``ready_url`` answers; stop it (SIGTERM, then SIGKILL)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                               env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                detail = log.read_text() if log else ""
                raise RuntimeError(f"{command[0]} exited with {process.returncode}: {detail}")
            try:
                get(ready_url, timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{ready_url} never answered") from None
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        if log:
            out.close()


@contextmanager
def issuer_serve(home: Path, database_url: str, passphrase: str, log: Path | None = None,
                 ) -> Iterator[str]:
    """A ``healthcode-issuer serve`` process on ``home`` and ``database_url``; yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [script("healthcode-issuer"), "serve", "--home", str(home), "--host",
               "127.0.0.1", "--port", str(port), "--threads", "4"]
    env = {"HEALTHCODE_DATABASE_URL": database_url, "HEALTHCODE_KEY_PASSPHRASE": passphrase}
    with running(command, f"{url}/trust/trust-list.json", env, log):
        yield url
