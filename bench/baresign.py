"""Bare signing on N cores at once: the baseline of the re-issue benchmark (bench/reissue.py).

N processes, each pinned to one of the given cores, load the issuer's signing key from its
home and sign the credential a re-issue signs (``issue_credential``: green, a score, the
policy digest, the check-ID fields, one day's validity; nothing scored or stored) as fast as
they can for the same seconds, starting together. The figure is their credentials per second
summed: what N cores do when they do nothing but sign.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path
from typing import Any

from issuer.keys.home import Home
from issuer.keys.keystore import load_signing_key
from issuer.keys.signing import issue_credential
from issuer.policy import DEFAULT_POLICY, load_policy
from verifier import IdCheck

from .synthetic import DAY, resident

_STARTUP_TIMEOUT = 120  # seconds for the processes to start and load the key


def signatures_per_second(home: Path, cores: list[int], seconds: float) -> float:
    """Credentials signed per second by ``len(cores)`` processes, one per core, over
    ``seconds``. Raises ``RuntimeError`` if a process fails."""
    context = multiprocessing.get_context("spawn")  # no fork of this process's state
    ready = context.Barrier(len(cores))
    results = context.Queue()
    processes = [context.Process(target=_sign, args=(str(home), core, seconds, ready, results))
                 for core in cores]
    for process in processes:
        process.start()
    try:
        rates = [results.get(timeout=_STARTUP_TIMEOUT + 2 * seconds) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
                process.join()
    failed = [rate for rate in rates if isinstance(rate, str)]
    if failed:
        raise RuntimeError(f"a bare-signing process failed: {failed[0]}")
    return sum(rates)


def _sign(home: str, core: int, seconds: float, ready: Any, results: Any) -> None:
    try:
        os.sched_setaffinity(0, {core})
        key, config, _ = load_signing_key(Home(Path(home)))
        policy = load_policy(DEFAULT_POLICY).digest
        person = resident(0)
        id_check = IdCheck.of(person.name, person.id_number)
        iat = int(time.time())

        def sign() -> None:
            issue_credential(key, iss=config.iss, colour="green", score=80, iat=iat, ttl=DAY,
                             policy=policy, id_check=id_check)

        for _ in range(200):  # warm up
            sign()
        ready.wait(timeout=_STARTUP_TIMEOUT)
        count, started = 0, time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                sign()
            count += 50
        results.put(count / (time.perf_counter() - started))
    except Exception as exc:  # noqa: BLE001 (reported to the parent, which raises)
        results.put(f"{type(exc).__name__}: {exc}")
