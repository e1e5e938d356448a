"""After a city load run: did the issuer stay right? Every check reads what the run left
behind (the database, nginx's access log, each serve process's log, each process's own
revocation list), never the load generator's opinion of it.

- every request answered 2xx, nginx logged no upstream failure, no process logged a traceback;
- the API issued exactly one credential per ``201`` nginx passed on (none lost, none doubled);
- each phone got one live code (concurrent requests of one phone must not each issue one);
- ``healthcode-issuer audit verify`` passes (the chain, and the tables against it);
- ``/trust/revocations`` is byte-identical from every serve process (asked directly, not
  through nginx), verifies against the trust list and lists exactly the revoked credentials.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from issuer.keys.home import Home
from issuer.service.issuance import IssuerService
from issuer.store.db import CredentialRecord
from verifier import TrustList
from verifier.errors import HealthCodeError
from verifier.revocation import RevocationList

from .loadrig import Logged, shares

#: Credentials revoked through nginx after the load, so that the lists compared are not empty.
REVOKED = 5
_ISSUE_PATH = re.compile(r"/api/people/[^/]+/credentials")


def request(port: int, method: str, path: str, secret: str | None = None,
            body: object = None) -> tuple[int, bytes]:
    """One request to 127.0.0.1:``port``: ``(status, body)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["Authorization"] = f"Bearer {secret}"
    try:
        conn.request(method, path, None if body is None else json.dumps(body), headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def revoke_some(service: IssuerService, port: int, secret: str) -> list[str]:
    """Revoke :data:`REVOKED` credentials issued through the API, through nginx; return
    their ids."""
    with service.store.reading() as session:
        ctis = list(session.scalars(select(CredentialRecord.cti).where(
            CredentialRecord.purpose.is_(None)).order_by(CredentialRecord.cti).limit(REVOKED)))
    for cti in ctis:
        status, body = request(port, "POST", f"/api/credentials/{cti}/revoke", secret,
                               {"reason": "city load test"})
        if status != 200:
            raise RuntimeError(f"revoking {cti}: {status} {body[:300]!r}")
    return ctis


def revocation_lists(ports: Sequence[int]) -> list[bytes]:
    """``/trust/revocations`` from each serve process, asked directly."""
    lists = []
    for port in ports:
        status, body = request(port, "GET", "/trust/revocations")
        if status != 200:
            raise RuntimeError(f"/trust/revocations on port {port}: {status}")
        lists.append(body)
    return lists


@dataclass(frozen=True)
class Checks:
    """What the checks found; :meth:`problems` says what is wrong (empty: nothing)."""

    processes: int
    #: Every logged status that is not 2xx, counted; nginx's error lines; tracebacks.
    bad_statuses: Counter[int]
    nginx_errors: list[str]
    tracebacks: int
    #: Requests each serve process answered.
    shares: Counter[str]
    #: Credentials the API issued (database) and 201s to ``POST …/credentials`` (nginx log).
    api_issued: int
    api_answered: int
    #: Phones with a live code; the most live codes one phone was issued / holds unrevoked.
    phones: int
    live_most: int
    unrevoked_most: int
    audit_ok: bool
    audit_output: str
    #: Distinct revocation lists among the processes' (1: identical), and its findings.
    distinct_lists: int
    list_problem: str | None
    extra: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = list(self.extra)
        if self.bad_statuses:
            found.append(f"answers other than 2xx: {dict(self.bad_statuses)}")
        found += [f"nginx: {line}" for line in self.nginx_errors[:5]]
        if self.tracebacks:
            found.append(f"the serve processes logged {self.tracebacks} tracebacks")
        if len(self.shares) != self.processes:
            found.append(f"only {len(self.shares)} of {self.processes} processes answered")
        if self.api_issued != self.api_answered:
            found.append(f"the API issued {self.api_issued} credentials for "
                         f"{self.api_answered} answers 201")
        if self.live_most > 1 or self.unrevoked_most > 1:
            found.append(f"a phone was issued {self.live_most} live codes "
                         f"({self.unrevoked_most} unrevoked) instead of one")
        if not self.audit_ok:
            found.append(f"audit verify failed: {self.audit_output}")
        if self.distinct_lists != 1:
            found.append(f"{self.distinct_lists} different revocation lists from "
                         f"{self.processes} processes")
        if self.list_problem:
            found.append(self.list_problem)
        return found


def _list_problem(signed: bytes, home: Path, revoked: Sequence[str],
                  service: IssuerService) -> str | None:
    """Whether the list verifies and holds exactly the revoked, unexpired credentials (those
    revoked here, and any live code superseded by a newer one of its phone)."""
    now = int(time.time())
    try:
        listed = RevocationList.from_cose(signed, TrustList.load(Home(home).trust_list,
                                                                 now=now))
    except HealthCodeError as exc:  # RevocationListError, TrustListError
        return f"the revocation list does not verify: {exc}"
    with service.store.reading() as session:
        stored = set(session.scalars(select(CredentialRecord.cti).where(
            CredentialRecord.revoked_at.is_not(None),
            CredentialRecord.exp >= listed.issued_at)))
    if not set(revoked) <= stored:
        return "a credential revoked through the API is not revoked in the database"
    missing = [cti for cti in stored if bytes.fromhex(cti) not in listed]
    if missing or listed.count != len(stored):
        return (f"the revocation list holds {listed.count} entries for {len(stored)} "
                f"revoked credentials ({len(missing)} of them missing)")
    return None


def audit_verify(home: Path, env: dict[str, str]) -> tuple[bool, str]:
    """``healthcode-issuer audit verify`` on the run's database: ``(passed, its output)``."""
    done = subprocess.run([str(Path(sys.executable).with_name("healthcode-issuer")), "audit",
                           "verify", "--home", str(home)], env=env, capture_output=True,
                          text=True, timeout=600)
    return done.returncode == 0, (done.stdout + done.stderr).strip()[-2000:]


def check(service: IssuerService, home: Path, env: dict[str, str], logged: Sequence[Logged],
          nginx_errors: list[str], serve_logs: Sequence[Path], lists: Sequence[bytes],
          revoked: Sequence[str], processes: int) -> Checks:
    """Run every check on what a city load run left behind."""
    live = CredentialRecord.purpose == "live"
    with service.store.reading() as session:
        api_issued = session.scalar(select(func.count()).select_from(CredentialRecord).where(
            CredentialRecord.purpose.is_(None)))
        per_phone = session.scalars(select(func.count()).where(live).group_by(
            CredentialRecord.device_id)).all()
        unrevoked = session.scalars(select(func.count()).where(
            live, CredentialRecord.revoked_at.is_(None)).group_by(
            CredentialRecord.device_id)).all()
    audit_ok, audit_output = audit_verify(home, env)
    return Checks(
        processes=processes,
        bad_statuses=Counter(r.status for r in logged if not 200 <= r.status < 300),
        nginx_errors=nginx_errors,
        tracebacks=sum(log.read_text(errors="replace").count("Traceback")
                       for log in serve_logs),
        shares=shares(logged),
        api_issued=api_issued or 0,
        api_answered=sum(1 for r in logged if r.method == "POST" and r.status == 201
                         and _ISSUE_PATH.fullmatch(r.path)),
        phones=len(per_phone),
        live_most=max(per_phone, default=0),
        unrevoked_most=max(unrevoked, default=0),
        audit_ok=audit_ok, audit_output=audit_output,
        distinct_lists=len(set(lists)),
        list_problem=(_list_problem(lists[0], home, revoked, service) if lists
                      else "no list fetched"))
