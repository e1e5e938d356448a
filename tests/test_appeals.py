"""Appeals (issuer/service/appeals.py, issuer/store/appeal_store.py, issuer/web/review.py and
the holder's pages): a holder contests a record or the colour, with an optional photo; a
reviewer upholds or rejects it in writing; upheld, the record is voided and the person
re-scored; overdue appeals are flagged. The holder's words and photo are encrypted at rest and
never in the audit log. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import random

import pytest
from conftest import DAY, NOW
from PIL import Image
from sqlalchemy import text
from test_corrections import _enrol
from test_holder import HTTPS, enrol, page_csrf
from test_service import call
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from issuer.service import NotFound
from issuer.service.appeals import (
    MAX_ATTACHMENT,
    AppealError,
    AppealProblem,
    checked_attachment,
    decide,
    open_appeal,
    queue,
)
from issuer.store.tokens import expand_scopes


@pytest.fixture
def service(v3_service):
    return v3_service


WORDS = "the sample was my neighbour's, not mine"


def _positive(service, person) -> int:
    return service.add_observation(person, actor="lab", kind="test_result", value="positive",
                                   observed_at=NOW - 3600, source="city lab", now=NOW - 60)["id"]


def _photo(exif: bool = True, size=(640, 480), fmt="JPEG") -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    if exif:
        tags = Image.Exif()
        tags[0x010F] = "PhoneMaker"  # Make
        tags[0x8825] = {1: "N", 2: (30.0, 15.0, 0.0)}  # GPS: where it was taken
        image.save(out, fmt, exif=tags)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _noise_photo() -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", (1200, 1000), random.Random(7).randbytes(3_600_000)).save(
        out, "JPEG", quality=95)
    return out.getvalue()


def test_an_upheld_appeal_voids_the_record_and_turns_the_code_green(service):
    person = _enrol(service)
    record = _positive(service, person)
    sent = open_appeal(service, person, observation_id=record, reason=f"  {WORDS} ",
                       attachment=_photo(), now=NOW)
    assert (sent["state"], sent["reason"], sent["due_at"]) == ("open", WORDS, NOW + 3 * DAY)
    assert [a["id"] for a in queue(service, now=NOW)] == [sent["id"]]
    decided = decide(service, sent["id"], upheld=True, reason="lab confirmed the mix-up",
                     actor="t-reviewer", now=NOW + DAY)
    assert decided["state"] == "upheld" and decided["assessment"]["colour"] == "green"
    assert (decided["decided_by"], decided["decision"]) == ("t-reviewer",
                                                            "lab confirmed the mix-up")
    voided, = service.store.observations(person, voided=True)
    assert (voided["voided_at"], voided["voided_by"], voided["void_reason"]) == (
        NOW + DAY, "t-reviewer", "appeal upheld")
    entries = service.store.audit_entries(person)
    actions = [(e["actor"], e["action"]) for e in entries]
    assert ("holder", "appeal.open") in actions and ("t-reviewer", "appeal.decide") in actions
    assert actions[-3:] == [("t-reviewer", "appeal.decide"), ("t-reviewer", "observation.void"),
                            ("t-reviewer", "colour.change")]
    # The holder's words, the photo and the reviewer's reason: never in the log, and sealed.
    logged = json.dumps(entries)
    assert "neighbour" not in logged and "mix-up" not in logged
    with service.store.engine.connect() as connection:
        row = connection.execute(text("SELECT reason_enc, attachment_enc, decision_enc "
                                      "FROM appeal")).one()
    assert all(b"neighbour" not in bytes(b) and b"mix-up" not in bytes(b) for b in row)
    assert b"JFIF" not in bytes(row[1]) and b"\xff\xd8" not in bytes(row[1])[:2]
    assert service.verify_audit()[1] is None
    with pytest.raises(AppealError) as again:
        decide(service, sent["id"], upheld=False, reason="no", actor="t-other", now=NOW + DAY)
    assert again.value.reason is AppealProblem.DECIDED


def test_a_rejected_appeal_changes_nothing_but_its_state(service):
    person = _enrol(service)
    record = _positive(service, person)
    sent = open_appeal(service, person, observation_id=record, reason=WORDS, now=NOW)
    decided = decide(service, sent["id"], upheld=False, reason="the lab stands by it",
                     actor="t-reviewer", now=NOW + 60)
    assert decided["state"] == "rejected" and decided["assessment"]["colour"] == "red"
    assert service.store.observations(person)[0]["voided_at"] is None


def test_an_appeal_against_the_colour_voids_what_the_reviewer_names(service):
    person = _enrol(service)
    record = _positive(service, person)
    other = service.create_person(actor="clerk", now=NOW, name="Other", organisation="Org",
                                  id_number="330106199003079999", phone="+86 138 0571 9876")
    theirs = _positive(service, other)
    sent = open_appeal(service, person, observation_id=None, reason=WORDS, now=NOW)
    with pytest.raises(NotFound):  # another person's record: nothing at all is decided
        decide(service, sent["id"], upheld=True, reason="x", actor="t-r", void=[theirs],
               now=NOW + 5)
    assert service.store.appeal(sent["id"])["state"] == "open"
    decided = decide(service, sent["id"], upheld=True, reason="wrong person", actor="t-r",
                     void=[record], now=NOW + 10)
    assert decided["assessment"]["colour"] == "green"
    assert service.store.observations(other)[0]["voided_at"] is None


def test_what_an_appeal_refuses(service):
    person = _enrol(service)
    records = [_positive(service, person) for _ in range(7)]
    for reason in ("", "   ", None, 42):
        with pytest.raises(AppealError) as refused:
            open_appeal(service, person, observation_id=records[0], reason=reason, now=NOW)
        assert refused.value.reason is AppealProblem.REASON_REQUIRED
    with pytest.raises(AppealError) as refused:
        open_appeal(service, person, observation_id=records[0], reason="x" * 1001, now=NOW)
    assert refused.value.reason is AppealProblem.REASON_TOO_LONG
    open_appeal(service, person, observation_id=records[0], reason=WORDS, now=NOW)
    with pytest.raises(AppealError) as refused:
        open_appeal(service, person, observation_id=records[0], reason=WORDS, now=NOW)
    assert refused.value.reason is AppealProblem.ALREADY_OPEN
    for record in records[1:5]:
        open_appeal(service, person, observation_id=record, reason=WORDS, now=NOW)
    with pytest.raises(AppealError) as refused:
        open_appeal(service, person, observation_id=records[5], reason=WORDS, now=NOW)
    assert refused.value.reason is AppealProblem.TOO_MANY_OPEN
    service.store.void_observation(person, records[6], actor="clerk", reason="dup", now=NOW)
    with pytest.raises(AppealError) as refused:
        open_appeal(service, person, observation_id=records[6], reason=WORDS, now=NOW)
    assert refused.value.reason in (AppealProblem.ALREADY_VOIDED, AppealProblem.TOO_MANY_OPEN)
    with pytest.raises(NotFound):
        open_appeal(service, person, observation_id=10**9, reason=WORDS, now=NOW)
    assert len(service.store.appeals_of(person)) == 5


def test_an_appeal_past_its_deadline_is_overdue(service):
    person = _enrol(service)
    sent = open_appeal(service, person, observation_id=_positive(service, person),
                       reason=WORDS, now=NOW)
    assert service.store.appeal_counts(NOW + 3 * DAY) == {"open": 1, "overdue": 0}
    assert service.store.appeal_counts(NOW + 3 * DAY + 1) == {"open": 1, "overdue": 1}
    assert [a["overdue"] for a in queue(service, now=NOW + 4 * DAY)] == [True]
    decide(service, sent["id"], upheld=False, reason="late, but no", actor="t-r",
           now=NOW + 5 * DAY)
    assert service.store.appeal_counts(NOW + 5 * DAY) == {"open": 0, "overdue": 0}


def test_the_photo_is_kept_upright_small_and_without_metadata():
    stored = checked_attachment(_photo(size=(4000, 3000)))
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG" and max(image.size) == 2048
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    for fmt in ("PNG", "WEBP"):
        assert checked_attachment(_photo(exif=False, fmt=fmt)).startswith(b"\xff\xd8")


@pytest.mark.parametrize(("data", "problem"), [
    (b"not an image at all", AppealProblem.NOT_AN_IMAGE),
    (b"%PDF-1.4\n" + bytes(200), AppealProblem.NOT_AN_IMAGE),
    (b"\xff\xd8\xff\xe0" + bytes(100), AppealProblem.NOT_AN_IMAGE),  # a JPEG cut short
    (b"GIF89a" + bytes(100), AppealProblem.NOT_AN_IMAGE),
    (bytes(MAX_ATTACHMENT + 1), AppealProblem.ATTACHMENT_TOO_LARGE),
], ids=["text", "pdf", "cut-jpeg", "gif", "too-large"])
def test_what_is_no_photo_is_refused(data, problem):
    with pytest.raises(AppealError) as refused:
        checked_attachment(data)
    assert refused.value.reason is problem


def test_a_decompression_bomb_is_refused_in_bounded_time():
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")  # 400 megapixels in a small file
    assert len(out.getvalue()) < 200_000
    with pytest.raises(AppealError) as refused:
        checked_attachment(out.getvalue())
    assert refused.value.reason is AppealProblem.NOT_AN_IMAGE


def test_the_review_scope():
    assert expand_scopes(["review"]) == {"read", "review"}
    assert "review" not in expand_scopes(["write"])
    assert expand_scopes(["admin"]) == {"read", "write", "review", "admin"}


# Over HTTP ----------------------------------------------------------------------------------------

def test_reviewers_work_the_queue_over_http(api):
    server, tokens, issuer = api.base, api.tokens, api.service
    reviewer = tokens["review"]
    write = tokens["write"]
    pid = call(server, "POST", "/api/people", write, {
        "name": "Zhao Liu", "id_number": "330106199505053456", "phone": "+86 137 0000 0009",
        "organisation": "Xihu Clinic"})[1]["id"]
    record = call(server, "POST", f"/api/people/{pid}/observations", write, {
        "kind": "test_result", "value": "positive", "observed_at": "2026-11-28T08:00:00Z",
        "source": "city lab"})[1]["id"]
    sent = open_appeal(issuer, pid, observation_id=record, reason=WORDS, attachment=_photo())
    assert call(server, "GET", "/api/appeals", write)[0] == 403
    assert call(server, "GET", "/api/appeals", None)[0] == 401
    status, found = call(server, "GET", "/api/appeals", reviewer)
    assert status == 200
    item, = found["appeals"]
    assert (item["id"], item["reason"], item["observation"]["value"], item["overdue"]) == (
        sent["id"], WORDS, "positive", False)
    status, photo = call(server, "GET", item["attachment"], reviewer)
    assert status == 200 and photo.startswith(b"\xff\xd8")
    assert call(server, "GET", item["attachment"], write)[0] == 403
    for nobody in ("a-nobody", "a-%00x", "a-%C3%A9", "p-" + "x" * 12, "a-" + "x" * 300):
        assert call(server, "GET", f"/api/appeals/{nobody}", reviewer)[0] == 404, nobody
        assert call(server, "POST", f"/api/appeals/{nobody}/decision", reviewer,
                    {"decision": "reject", "reason": "x"})[0] == 404, nobody
    assert call(server, "GET", "/api/appeals/../people", reviewer)[0] == 404
    path = f"/api/appeals/{sent['id']}/decision"
    assert call(server, "POST", path, reviewer, {"decision": "maybe", "reason": "x"})[0] == 422
    assert call(server, "POST", path, reviewer, {"decision": "uphold", "reason": " "})[0] == 422
    assert call(server, "POST", path, write, {"decision": "uphold", "reason": "x"})[0] == 403
    status, status_page = call(server, "GET", "/api/status", tokens["read"])
    assert status == 200 and status_page["appeals"] == {"open": 1, "overdue": 0}
    status, decided = call(server, "POST", path, reviewer,
                           {"decision": "uphold", "reason": "lab mix-up"})
    assert status == 200 and decided["state"] == "upheld"
    assert decided["assessment"]["colour"] == "green" and decided["decision"] == "lab mix-up"
    status, again = call(server, "POST", path, reviewer, {"decision": "reject", "reason": "x"})
    assert status == 409 and again["reason"] == "already_decided"
    assert call(server, "GET", "/api/status", tokens["read"])[1]["appeals"] == {
        "open": 0, "overdue": 0}


def _post_form(client, url: str, fields: dict):
    """A multipart POST encoded in memory: for a body this large the test client spools to a
    temporary file it never closes."""
    boundary, body = encode_multipart(fields)
    return client.post(url, base_url=HTTPS, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


# The holder's pages ------------------------------------------------------------------------------

def test_the_holder_appeals_from_my_data_and_reads_the_decision(v3_app):
    holder_app = v3_app
    service = holder_app.extensions["healthcode"]
    person = service.create_person(actor="clerk", name="Li Si", organisation="Library",
                                   id_number="330106199202022345", phone="+86 139 0000 0002")
    record = service.add_observation(person, actor="lab", kind="test_result",
                                     value="positive", observed_at=NOW, source="city lab",
                                     now=NOW)["id"]
    client, _ = enrol(holder_app, service, person)
    page = client.get("/me/data", base_url=HTTPS).get_data(as_text=True)
    form_url = f"/me/appeals/new?record={record}"
    assert form_url in page and "/me/appeals/new\"" in page
    assert "/me/appeals/new" in client.get("/me/why", base_url=HTTPS).get_data(as_text=True)
    form = client.get(form_url, base_url=HTTPS).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in form and "3 days" in form
    csrf = page_csrf(client, form_url)

    empty = client.post(form_url, base_url=HTTPS, data={"csrf_token": csrf, "reason": " "})
    assert empty.status_code == 422 and b'data-problem="reason_required"' in empty.data
    junk = client.post(form_url, base_url=HTTPS, content_type="multipart/form-data", data={
        "csrf_token": csrf, "reason": WORDS,
        "photo": (io.BytesIO(b"%PDF-1.4 nothing"), "result.pdf")})
    assert junk.status_code == 422 and b'data-problem="attachment_not_an_image"' in junk.data
    assert WORDS.encode() in junk.data.replace(b"&#39;", b"'")  # the words are kept
    huge = _post_form(client, form_url, {"csrf_token": csrf, "reason": WORDS, "photo": FileStorage(
        io.BytesIO(bytes(MAX_ATTACHMENT + 200_000)), "big.jpg")})
    assert huge.status_code == 413
    assert service.store.appeals_of(person) == []

    big = _noise_photo()  # a real phone's photo: megabytes, far over the app's 64 KiB
    assert 1_000_000 < len(big) < MAX_ATTACHMENT
    sent = _post_form(client, form_url, {"csrf_token": csrf, "reason": WORDS,
                                         "photo": FileStorage(io.BytesIO(big), "result.jpg")})
    assert sent.status_code == 302
    appeal, = service.store.appeals_of(person)
    assert sent.headers["Location"].endswith(f"/me/data?appealed={appeal['id']}#appeals")
    assert appeal["attachment_type"] == "image/jpeg"
    page = client.get(sent.headers["Location"], base_url=HTTPS).get_data(as_text=True)
    assert "Your appeal was sent." in page and 'data-state="open"' in page

    decide(service, appeal["id"], upheld=True, reason="the lab mixed up two samples",
           actor="t-reviewer")
    page = client.get("/me/data", base_url=HTTPS).get_data(as_text=True)
    assert 'data-state="upheld"' in page and "the lab mixed up two samples" in page
    assert service.assess(person).colour.value == "green"
    data = client.get("/me/data.json", base_url=HTTPS).json
    assert data["appeals"][0]["decision"] == "the lab mixed up two samples"
    assert "attachment_enc" not in json.dumps(data)
