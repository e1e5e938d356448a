"""``GET /api/credentials/<cti>.<png|svg>`` over real HTTP (SQLite and PostgreSQL): a code's
picture is rendered once per process, answered with a strong ETag and ``304`` to a client that
has it; revoked, expired and unknown codes answer as before. And the cache's bounds."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

import pytest
from test_qr import read_both
from test_service import PERSON, app, call, server, tokens  # noqa: F401 (fixtures)

from issuer.render.qr import render_image
from issuer.web import codeimages
from issuer.web.codeimages import MAX_AGE, CodeImages, code_images


def get(base: str, path: str, token: str | None,
        etag: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET, ``If-None-Match: etag`` when given."""
    request = urllib.request.Request(base + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if etag:
        request.add_header("If-None-Match", etag)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture
def renders(monkeypatch) -> list[str]:
    """The formats the cache rendered, in order (the real renderer draws them)."""
    drawn: list[str] = []
    real = codeimages.render_image

    def counted(text: str, fmt: str) -> bytes:
        drawn.append(fmt)
        return real(text, fmt)

    monkeypatch.setattr(codeimages, "render_image", counted)
    return drawn


def _credential(server, tokens) -> dict:  # noqa: F811
    status, person = call(server, "POST", "/api/people", tokens["write"], PERSON)
    assert status == 201
    status, credential = call(server, "POST", f"/api/people/{person['id']}/credentials",
                              tokens["write"], {})
    assert status == 201
    return credential


def test_a_picture_is_rendered_once_and_kept_by_the_client(server, tokens, app, renders):  # noqa: F811
    credential = _credential(server, tokens)
    read = tokens["read"]
    status, headers, png = get(server, credential["png"], read)
    assert status == 200 and headers["Content-Type"] == "image/png"
    assert read_both(png) == ([credential["text"]], [credential["text"]])
    etag = headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: byte for byte
    assert sorted(headers["Cache-Control"].split(", ")) == sorted(
        ["private", f"max-age={MAX_AGE}", "immutable"])
    _, again, body = get(server, credential["png"], read)
    assert (body, again["ETag"]) == (png, etag) and renders == ["png"]
    status, svg_headers, svg = get(server, credential["svg"], read)
    assert status == 200 and svg.startswith(b"<svg") and svg_headers["ETag"] != etag
    assert renders == ["png", "svg"] and len(code_images(app)) == 2

    status, unchanged, body = get(server, credential["png"], read, etag=etag)
    assert (status, body, unchanged["ETag"]) == (304, b"", etag)
    assert "immutable" in unchanged["Cache-Control"]
    assert get(server, credential["png"], read, etag='"0000"')[2] == png
    assert renders == ["png", "svg"]


def test_a_conditional_request_still_needs_a_token_and_a_known_code(server, tokens):  # noqa: F811
    credential = _credential(server, tokens)
    etag = get(server, credential["png"], tokens["read"])[1]["ETag"]
    assert get(server, credential["png"], None, etag=etag)[0] == 401
    assert get(server, credential["png"], "hct_bogus_token", etag=etag)[0] == 401
    unknown = credential["png"].replace(credential["cti"], "0" * len(credential["cti"]))
    assert get(server, unknown, tokens["read"], etag=etag)[0] == 404
    assert get(server, credential["png"].replace(".png", ".gif"), tokens["read"])[0] == 404


def test_revoked_and_expired_codes_keep_their_picture(server, tokens, app):  # noqa: F811
    credential = _credential(server, tokens)
    read = tokens["read"]
    status, headers, png = get(server, credential["png"], read)
    assert status == 200
    assert call(server, "POST", f"/api/credentials/{credential['cti']}/revoke",
                tokens["write"], {"reason": "lost phone"})[0] == 200
    assert get(server, credential["png"], read)[::2] == (200, png)
    assert get(server, credential["png"], read, etag=headers["ETag"])[0] == 304
    codeimages.init_app(app)  # an empty cache, as in a process that never drew it
    _, again, body = get(server, credential["png"], read)
    assert (body, again["ETag"]) == (png, headers["ETag"])

    person = app.extensions["healthcode"].store.credential(credential["cti"])["person_id"]
    old = app.extensions["healthcode"].issue(person, actor="test", ttl=3600,
                                             now=int(time.time()) - 7200)
    status, _, expired = get(server, f"/api/credentials/{old['cti']}.png", read)
    assert status == 200 and read_both(expired) == ([old["text"]], [old["text"]])


def test_the_cache_keeps_the_most_recently_used_within_its_bytes(make_code):
    # Four codes, the largest picture last: room for three of them, the last included.
    texts = sorted((make_code(score=score) for score in range(4)),
                   key=lambda text: len(render_image(text, "png")))
    sizes = [len(render_image(text, "png")) for text in texts]
    cache = CodeImages(max_bytes=sizes[0] + sizes[2] + sizes[3])
    for i, text in enumerate(texts[:3]):
        cache.get(f"{i:02x}", "png", text)
    assert len(cache) == 3
    cache.get("00", "png", texts[0])  # used again: now the most recent
    cache.get("03", "png", texts[3])  # drops the least recently used, 01
    assert [(cti, "png") in cache for cti in ("00", "01", "02", "03")] == [True, False, True,
                                                                           True]
    assert cache.size == cache.max_bytes
    assert cache.get("02", "png", texts[2]).data == render_image(texts[2], "png")


def test_a_picture_larger_than_the_cache_is_served_not_kept(make_code):
    cache = CodeImages(max_bytes=0)
    image = cache.get("00", "svg", make_code())
    assert image.data.startswith(b"<svg") and len(cache) == 0 and cache.size == 0
