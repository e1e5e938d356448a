"""The family-code API over HTTP (a real server on 127.0.0.1; SQLite and PostgreSQL): only
write-scope tokens link and unlink, read lists; bad input gets a specific rejection with a
reason, never a 500; each step is audited on both people's trails; and the holder's pages
give a guardian their dependants and no one else's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from recoursefixtures import HTTPS
from test_holder_browser import PEOPLE

STRANGER = {"name": "Sun Li", "id_number": "330106199202025678", "phone": "+86 135 0000 0005",
            "organisation": "Gongshu Market"}


def _call(api, method: str, path: str, scope: str | None, body=None) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if scope is not None:
        headers["Authorization"] = f"Bearer {api.tokens[scope]}"
    data = None if body is None else (body if isinstance(body, bytes) else
                                      json.dumps(body).encode())
    request = urllib.request.Request(api.base + path, data=data, headers=headers,
                                     method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw.startswith(b"{") else {"raw": raw[:200]}


@pytest.fixture
def people(api):
    service = api.service
    return {who: service.create_person(actor="test", **fields)
            for who, fields in (("wang", PEOPLE["wang"]), ("zhao", PEOPLE["zhao"]),
                                ("sun", STRANGER))}


@pytest.mark.parametrize("scope, status", [(None, 401), ("read", 403), ("review", 403),
                                           ("write", 201), ("admin", 201)])
def test_only_write_scope_links(api, people, scope, status):
    code, body = _call(api, "POST", f"/api/people/{people['zhao']}/guardians", scope,
                       {"guardian": people["wang"], "reason": "birth certificate seen"})
    assert code == status, body
    assert len(api.service.store.family_of(people["zhao"])["guardians"]) == (status == 201)


def test_link_list_and_end_with_their_audit_entries(api, people):
    zhao, wang = people["zhao"], people["wang"]
    code, link = _call(api, "POST", f"/api/people/{zhao}/guardians", "write",
                       {"guardian": wang, "reason": "signed consent"})
    assert code == 201 and (link["guardian_id"], link["dependant_id"]) == (wang, zhao)
    code, listed = _call(api, "GET", f"/api/people/{wang}/family", "read")
    assert code == 200 and [d["id"] for d in listed["dependants"]] == [link["id"]]
    for scope in (None, "read"):
        assert _call(api, "POST", f"/api/family/{link['id']}/revoke", scope,
                     {"reason": "moved away"})[0] in (401, 403)
    code, ended = _call(api, "POST", f"/api/family/{link['id']}/revoke", "write",
                        {"reason": "moved away"})
    assert code == 200 and ended["link"]["revoked_at"] is not None
    assert ended["revoked"] == [] and ended["revocation_list"] == "/trust/revocations"
    writer = api.service.store.authenticate(api.tokens["write"]).id
    for person, other in ((zhao, "guardian"), (wang, "dependant")):
        entries = [e for e in api.service.store.audit_entries(person)
                   if e["action"].startswith("family.")]
        assert [(e["action"], e["actor"], e["reason"]) for e in entries] == [
            ("family.link", writer, "signed consent"), ("family.unlink", writer, "moved away")]
        assert entries[0]["details"][other] in (wang, zhao)
    assert api.service.verify_audit()[1] is None


@pytest.mark.parametrize("path, body, status, reason", [
    ("self", {"guardian": "SELF", "reason": "r"}, 422, "self_link"),
    ("zhao", {"guardian": "p-nobody0000", "reason": "r"}, 404, None),
    ("p-nobody0000", {"guardian": "WANG", "reason": "r"}, 404, None),
    ("zhao", {"guardian": "not a person", "reason": "r"}, 422, None),
    ("zhao", {"guardian": "WANG"}, 422, None),
    ("zhao", {"guardian": "WANG", "reason": "   "}, 422, None),
    ("zhao", {"guardian": "WANG", "reason": "r\u0000"}, 422, None),
    ("zhao", {"guardian": ["WANG"], "reason": "r"}, 422, None),
    ("zhao", b"{not json", 400, None),
    ("bad\u0000id", {"guardian": "WANG", "reason": "r"}, 404, None),
])
def test_bad_links_get_a_clear_rejection(api, people, path, body, status, reason):
    person = {"self": people["wang"], "zhao": people["zhao"]}.get(path, path)
    if isinstance(body, dict):
        body = {k: ({"WANG": people["wang"], "SELF": people["wang"]}.get(v, v)
                    if isinstance(v, str) else v) for k, v in body.items()}
    code, answer = _call(api, "POST", f"/api/people/{urllib.request.quote(person)}/guardians",
                         "write", body)
    assert code == status, answer
    if reason is not None:
        assert answer["reason"] == reason
    assert api.service.store.family_of(people["wang"]) == {"dependants": [], "guardians": []}


def test_twice_is_a_conflict_and_an_unknown_link_is_404(api, people):
    body = {"guardian": people["wang"], "reason": "r"}
    assert _call(api, "POST", f"/api/people/{people['zhao']}/guardians", "write", body)[0] == 201
    code, answer = _call(api, "POST", f"/api/people/{people['zhao']}/guardians", "write", body)
    assert (code, answer["reason"]) == (409, "already_linked")
    for link in ("f-nothere", "x" * 300, "f-%00"):
        assert _call(api, "POST", f"/api/family/{link}/revoke", "write",
                     {"reason": "r"})[0] == 404


def test_a_guardian_s_pages_show_their_dependants_only(api, people):
    """The holder's side, through the app: the mother sees her son's pages, not a stranger's
    (the same 404 for someone else's link, an ended one and a made-up one)."""
    v3_app = api.app
    store = api.service.store
    mine = store.link_family(people["zhao"], people["wang"], actor="t", reason="r")
    theirs = store.link_family(people["sun"], people["zhao"], actor="t", reason="r")
    client = v3_app.test_client()
    with client.session_transaction(base_url=HTTPS) as cookie:
        cookie["sid"], cookie.permanent = store.start_session(people["wang"]), True
    assert "Z*" in client.get("/me/family").get_data(as_text=True)
    for page in ("", "/why", "/data"):
        assert client.get(f"/me/family/{mine['id']}{page}").status_code == 200
        assert client.get(f"/me/family/{theirs['id']}{page}").status_code == 404
        assert client.get(f"/me/family/f-madeup{page}").status_code == 404
    data = client.get(f"/me/family/{mine['id']}/data").get_data(as_text=True)
    assert "Zhao Liu" in data and "Sun Li" not in data
    assert client.get(f"/me/family/{theirs['id']}/credential.json").status_code in (404, 409)
