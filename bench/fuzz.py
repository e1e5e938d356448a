"""``python -m bench.fuzz [--examples N] [--database-url URL]``: fuzz the issuer over real HTTP
and count the server errors (there must be none).

- the authority API, every operation of ``/api/openapi.json``, with schemathesis: bodies,
  paths and queries valid by the schema (positive) and broken on purpose (negative), with an
  admin token;
- the holder's forms and scripts, with hypothesis: sign-in (phone, code), the declaration
  form and its preview, the enrolment and phone-binding JSON, signed in with a valid CSRF
  token, the bodies drawn from any text, any form field, any JSON (deep nesting, huge
  integers, lone surrogates, NUL included).

The service runs under waitress on 127.0.0.1 (a fresh home, SQLite unless
``--database-url``); every response status is counted and any status >= 500 printed. Exit 1
if there was one. Not part of ``make test`` (minutes, not seconds); tests/test_service_fuzz.py
is the in-suite version. Figures: docs/SECURITY.md, *Fuzzing the API and the forms*.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from verifier.keys import b64url

PASSPHRASE = "fuzz passphrase, not a secret"  # noqa: S105
PERSON = {"name": "Fuzz Target", "id_number": "FUZZ0001", "phone": "+86 137 0000 0000",
          "organisation": "Fuzz Org"}


class Tally:
    """Response statuses, and the requests that got a server error."""

    def __init__(self) -> None:
        self.statuses: collections.Counter[int] = collections.Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def add(self, what: str, response: Any) -> None:
        status = response.status_code
        with self.lock:
            self.statuses[status] += 1
            if status >= 500:
                text = response.content[:300].decode("utf-8", "replace")
                self.errors.append(f"{status} {what[:300]}: {text}")

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def _serve(app: Any) -> str:
    import waitress.server

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = waitress.server.create_server(app, host="127.0.0.1", port=port, threads=4,
                                           connection_limit=1000, channel_timeout=30)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{base}/policy", timeout=5)
            return base
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("the service did not start")


def fuzz_api(base: str, secret: str, person: str, cti: str, examples: int,
             tally: Tally) -> None:
    import schemathesis
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()
                  if not result.ok().path.startswith("/trust/")]
    headers = {"Authorization": f"Bearer {secret}"}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = operation.as_strategy(generation_mode=mode)
            except Exception as exc:  # noqa: BLE001 (a mode that cannot apply to this operation)
                print(f"  {operation.label} {mode.value}: not generated ({exc})")
                continue

            @given(case=strategy)
            @settings(max_examples=examples, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            def run(case: Any) -> None:
                params = case.path_parameters or {}
                # Every other case with a real person or credential: the views behind them too.
                if "person_id" in params and (params["person_id"] == "" or tally.total % 2):
                    params["person_id"] = person
                if "cti" in params and tally.total % 2:
                    params["cti"] = cti
                response = case.call(base_url=base, headers=headers, timeout=60)
                tally.add(f"{case.method} {case.formatted_path} {case.body!r}", response)

            before = tally.total
            try:
                run()
            except Unsatisfiable:  # nothing to break in an operation without input
                pass
            print(f"  {operation.label} {mode.value}: {tally.total - before} requests")


_TEXT = st.one_of(st.text(max_size=40), st.text(st.characters(codec="utf-8"), max_size=200),
                  st.sampled_from(["", " ", "\x00", "0", "-1", "1e999", "NaN", "9" * 5000,
                                   "+86 100 0000", "123456", "HUBEI-WUHAN", "on", "yes",
                                   "\ufdfa" * 200]))


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                     _containers, max_leaves=20)
_RAW_JSON = st.one_of(
    st.builds(lambda d: "[" * d + "]" * d, st.integers(1, 30_000)),
    st.builds(lambda n: '{"jwk": ' + "9" * n + "}", st.integers(1, 6000)),
    st.sampled_from(['{"jwk": "\\ud800"}', '{"a\\u0000": 1}', "{", '{"jwk": {"kty": "EC", '
                     '"crv": "P-256", "x": "\\u0000", "y": ""}}']),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
_FORM_FIELDS = ["phone", "code", "steps", "sleep_hours", "alcohol_ml", "cigarettes", "travel",
                "symptoms", "contact", "csrf_token", "x"]


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf[-_]token"\s+(?:value|content)="([^"]+)"', page)
    if match is None:
        raise RuntimeError("no CSRF token in the page")
    return match.group(1)


def fuzz_holder(base: str, app: Any, person: str, examples: int, tally: Tally) -> None:
    """The holder's forms and JSON endpoints, signed in as a phone is (an enrolment link
    redeemed with a phone key: a server-side session), with a valid CSRF token, so the bodies
    reach the parsers."""
    service = app.extensions["healthcode"]
    signed_in = requests.Session()
    link = service.store.create_enrolment(person, actor="fuzz")
    page = signed_in.get(f"{base}/enrol/{link}", timeout=30).text
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    jwk = {"kty": "EC", "crv": "P-256", "x": b64url(numbers.x.to_bytes(32, "big")),
           "y": b64url(numbers.y.to_bytes(32, "big"))}
    bound = signed_in.post(f"{base}/enrol/{link}", json={"jwk": jwk}, timeout=30,
                           headers={"X-CSRFToken": _csrf(page)})
    if bound.status_code != 200:
        raise RuntimeError(f"could not sign in as a phone: {bound.status_code} {bound.text}")
    token = _csrf(signed_in.get(f"{base}/me/declare", timeout=30).text)
    anonymous = requests.Session()
    anonymous_token = _csrf(anonymous.get(f"{base}/signin", timeout=30).text)
    enrolment = service.store.create_enrolment(person, actor="fuzz")
    anonymous.get(f"{base}/enrol/{enrolment}", timeout=30)

    forms = [("/signin", anonymous, anonymous_token),
             ("/signin/code", anonymous, anonymous_token),
             ("/me/declare/preview", signed_in, token), ("/me/declare", signed_in, token)]
    for path, session, csrf in forms:
        before = tally.statuses.copy()
        _post_forms(f"{base}{path}", session, csrf, examples, tally)
        print(f"  POST {path} (form): {_since(tally, before)}")
    scripts = [(f"/enrol/{enrolment}", anonymous, anonymous_token),
               ("/me/device", signed_in, token), ("/me/declare/preview", signed_in, token)]
    for path, session, csrf in scripts:
        before = tally.statuses.copy()
        _post_json(f"{base}{path}", session, csrf, examples, tally)
        print(f"  POST {path} (JSON): {_since(tally, before)}")


def _since(tally: Tally, before: collections.Counter[int]) -> str:
    """How many requests since ``before``, and their statuses (which show whether the bodies
    reached the parsers, or stopped at sign-in, CSRF or a throttle)."""
    new = tally.statuses - before
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(new.items()))
    return f"{sum(new.values())} requests ({statuses})"


def _post_forms(url: str, session: requests.Session, csrf: str, examples: int,
                tally: Tally) -> None:
    @given(fields=st.dictionaries(st.sampled_from(_FORM_FIELDS), _TEXT, max_size=6),
           keep_token=st.booleans())
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def form(fields: dict[str, str], keep_token: bool) -> None:
        data = {**fields, "csrf_token": csrf} if keep_token else fields
        headers = {"X-CSRFToken": csrf} if keep_token else {}
        tally.add(f"POST {url} {data!r}", session.post(url, data=data, headers=headers,
                                                       timeout=60))

    form()


def _post_json(url: str, session: requests.Session, csrf: str, examples: int,
               tally: Tally) -> None:
    @given(body=st.one_of(_JSON.map(json.dumps), _RAW_JSON))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def script(body: str) -> None:
        response = session.post(url, data=body.encode("utf-8", "surrogatepass"), timeout=60,
                                headers={"Content-Type": "application/json",
                                         "X-CSRFToken": csrf})
        tally.add(f"POST {url} {body[:200]!r}", response)

    script()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=700,
                        help="examples per operation and mode (API) or per form (holder)")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temp home")
    args = parser.parse_args(argv)

    os.environ["HEALTHCODE_KEY_PASSPHRASE"] = PASSPHRASE
    from issuer.keys.home import Home
    from issuer.keys.keystore import init_home
    from issuer.web import create_app

    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="healthcode-fuzz-") as root:
        init_home(Home(Path(root)))
        app = create_app({"HOME": root, "DATABASE_URL": args.database_url,
                          "RANKING_MIN_MEMBERS": 2, "SESSION_COOKIE_SECURE": False,
                          # Throttles high enough that the bodies reach the parsers.
                          "SIGNIN_CODE_LIMIT": "100000 per minute",
                          "SIGNIN_GUESS_LIMIT": "100000 per minute",
                          "SIGNIN_TOTAL_LIMIT": "100000 per minute",
                          "DECLARE_LIMIT": "100000 per minute"})
        service = app.extensions["healthcode"]
        _, secret = service.create_token("admin", "fuzz", int(time.time()))
        person = service.create_person(actor="fuzz", **PERSON)
        holder = service.create_person(actor="fuzz", **{**PERSON, "id_number": "FUZZ0002"})
        base = _serve(app)
        started = time.perf_counter()
        print(f"fuzzing {base} ({app.config['DATABASE_URL'] or 'SQLite'})")
        cti = service.issue(person, actor="fuzz")["cti"]
        fuzz_api(base, secret, person, cti, args.examples, tally)
        fuzz_holder(base, app, holder, args.examples, tally)
        elapsed = time.perf_counter() - started
        service.close()
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(tally.statuses.items()))
    print(f"\n{tally.total} requests in {elapsed:.0f} s; statuses {statuses}")
    print(f"responses >= 500: {len(tally.errors)}")
    for error in tally.errors[:20]:
        print("  " + error)
    return 1 if tally.errors else 0


if __name__ == "__main__":
    sys.exit(main())
