"""Throw-away issuers for the benchmarks: keys and a signed trust list in a temporary home.

Everything goes through the real set-up path (``init_home``, ``load_signing_key``,
``TrustList.load``), so the verifier works on the same key objects it would in production.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_signing_key
from issuer.keys.signing import PrivateKey, issue_credential
from verifier import Alg, TrustedKey, TrustList, verify

#: Passphrase for the temporary keys; they are deleted before any figure is taken.
BENCH_PASSPHRASE = "healthcode-bench-only"  # noqa: S105 (throw-away keys)
TTL = 24 * 3600
#: A typical credential: green, score 87, no policy reference.
COLOUR, SCORE = "green", 87


@dataclass(frozen=True)
class BenchIssuer:
    """An issuer's signing key, its verified trust list, and a clock inside their validity."""

    alg: Alg
    key: PrivateKey
    iss: str
    trust: TrustList
    iat: int

    @property
    def now(self) -> int:
        """A verification time one minute after issue."""
        return self.iat + 60

    @property
    def trusted_key(self) -> TrustedKey:
        (key,) = self.trust.keys.values()
        return key

    def issue(self, policy: bytes | None = None) -> str:
        """Return the QR text of a typical credential, checked to verify."""
        text = issue_credential(self.key, iss=self.iss, colour=COLOUR, score=SCORE,
                                iat=self.iat, ttl=TTL, policy=policy)
        credential = verify(text, self.trust, self.now)
        assert (credential.colour, credential.score, credential.policy) == (COLOUR, SCORE, policy)
        return text


@contextmanager
def bench_passphrase() -> Iterator[None]:
    """Set the key passphrase to the benchmarks' own for a while, then put back what was
    there."""
    saved = os.environ.get(PASSPHRASE_ENV)
    os.environ[PASSPHRASE_ENV] = BENCH_PASSPHRASE
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(PASSPHRASE_ENV, None)
        else:
            os.environ[PASSPHRASE_ENV] = saved


def serve_in_thread(app: Any, threads: int = 4) -> tuple[int, Any]:
    """Serve a WSGI ``app`` with waitress on a free port of 127.0.0.1, in a daemon thread of
    this process; return ``(port, server)`` (``server.close()`` stops it)."""
    import waitress

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = waitress.create_server(app, host="127.0.0.1", port=port, threads=threads)
    threading.Thread(target=server.run, daemon=True).start()
    return port, server


def make_issuer(alg: Alg = Alg.ES256) -> BenchIssuer:
    """Set up an issuer in a temporary home, load what the benchmarks need, delete the home."""
    with bench_passphrase(), tempfile.TemporaryDirectory(prefix="healthcode-bench-") as tmp:
        home = Home(Path(tmp))
        iat = int(time.time())
        init_home(home, alg=alg, now=iat)
        key, config, _ = load_signing_key(home)
        trust = TrustList.load(home.trust_list, now=iat)
    return BenchIssuer(alg=alg, key=key, iss=config.iss, trust=trust, iat=iat)
