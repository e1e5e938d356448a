"""Property-based fuzzing of the authority API from its own OpenAPI document (schemathesis):
whatever the body, path or query, the service answers without a server error."""

from __future__ import annotations

import pytest
from conftest import TEST_PASSPHRASE
from hypothesis import HealthCheck, given, settings

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home
from issuer.web import create_app

schemathesis = pytest.importorskip("schemathesis")
ALLOWED_TYPES = ("application/json", "image/png", "image/svg+xml", "text/html", "text/plain",
                 "application/toml", "application/pdf")


@pytest.fixture(scope="module")
def service_app(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    root = tmp_path_factory.mktemp("fuzz-home")
    init_home(Home(root))
    app = create_app({"HOME": str(root), "RANKING_MIN_MEMBERS": 2})
    service = app.extensions["healthcode"]
    _, secret = service.create_token("admin", "fuzz", 0)
    person = service.create_person(actor="fuzz", name="Fuzz Target", id_number="FUZZ0001",
                                   phone="+86 137 0000 0001", organisation="Fuzz Org")
    yield app, secret, person
    service.close()
    mp.undo()


def test_no_input_makes_a_server_error(service_app):
    app, secret, person = service_app
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # /trust/* take no input at all and answer signed binary documents (tests/test_lifecycle.py
    # checks them); schemathesis would try to read a COSE body as text.
    operations = [result.ok() for result in schema.get_all_operations()
                  if not result.ok().path.startswith("/trust/")]
    assert len(operations) >= 7  # every route of the API is fuzzed
    seen: list[str] = []
    for operation in operations:  # noqa: B023 (each fuzz() runs inside its own iteration)

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            if case.path_parameters and case.path_parameters.get("person_id") == "":
                case.path_parameters["person_id"] = person
            response = case.call(headers={"Authorization": f"Bearer {secret}"})
            assert response.status_code < 500, (case.method, case.path, case.body,
                                                response.text[:300])
            headers = {k.lower(): v for k, v in response.headers.items()}
            kind = headers.get("content-type", "")
            kind = (kind[0] if isinstance(kind, list) else kind).split(";")[0]
            assert kind in ALLOWED_TYPES, (case.method, case.path, response.status_code,
                                           response.text[:200])

        fuzz()
        seen.append(operation.label)
    assert any("POST /api/people" in label for label in seen), seen
