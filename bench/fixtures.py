"""Throw-away issuers for the benchmarks: keys and a signed trust list in a temporary home.

Everything goes through the real set-up path (``init_home``, ``load_signing_key``,
``TrustList.load``), so the verifier works on the same key objects it would in production.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from issuer.home import PASSPHRASE_ENV, Home
from issuer.keystore import init_home, load_signing_key
from issuer.signing import PrivateKey, issue_credential
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


def make_issuer(alg: Alg = Alg.ES256) -> BenchIssuer:
    """Set up an issuer in a temporary home, load what the benchmarks need, delete the home."""
    saved = os.environ.get(PASSPHRASE_ENV)
    os.environ[PASSPHRASE_ENV] = BENCH_PASSPHRASE
    try:
        with tempfile.TemporaryDirectory(prefix="healthcode-bench-") as tmp:
            home = Home(Path(tmp))
            iat = int(time.time())
            init_home(home, alg=alg, now=iat)
            key, config, _ = load_signing_key(home)
            trust = TrustList.load(home.trust_list, now=iat)
    finally:
        if saved is None:
            del os.environ[PASSPHRASE_ENV]
        else:
            os.environ[PASSPHRASE_ENV] = saved
    return BenchIssuer(alg=alg, key=key, iss=config.iss, trust=trust, iat=iat)
