"""The checkpoint app's service worker as served: its cache version is a digest of the files
it caches, so any change to them is a new worker (and the old cache is dropped); the manifest
names the app Chinese first and its icons exist at the sizes it says."""

from __future__ import annotations

import json
import re

import pytest
from conftest import NOW
from PIL import Image

from verifier.browser import offline
from verifier.kiosk import create_app

STATIC = offline.HERE / "static"


def test_the_served_worker_carries_the_digest_of_the_files(home):
    client = create_app({"TRUST": home.trust_list, "CLOCK": lambda: NOW}).test_client()
    response = client.get("/checkpoint/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    [version] = re.findall(r'^const VERSION = "([^"]*)";', response.text, re.MULTILINE)
    assert version == offline.digest(offline.FOLDERS) and re.fullmatch(r"[0-9a-f]{16}", version)
    source = (STATIC / "sw.js").read_text()
    assert response.text == source.replace('const VERSION = "1";', f'const VERSION = "{version}";')


def test_any_change_to_a_file_changes_the_digest(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "app.js").write_text("one")
    (tmp_path / "a" / "x.mo").write_text("compiled")
    first = offline.digest([tmp_path])
    (tmp_path / "a" / "x.mo").write_text("compiled again")  # follows from the .po: ignored
    assert offline.digest([tmp_path]) == first
    (tmp_path / "a" / "app.js").write_text("two")
    second = offline.digest([tmp_path])
    (tmp_path / "a" / "app.js").rename(tmp_path / "a" / "other.js")
    assert len({first, second, offline.digest([tmp_path])}) == 3


def test_a_worker_without_its_version_line_is_refused():
    with pytest.raises(ValueError):
        offline.worker_source(b"const CACHE = 1;", "abc")
    assert offline.worker_source(b'x;\nconst VERSION = "1";\n', "abc") == \
        b'x;\nconst VERSION = "abc";\n'


def test_the_manifest_is_chinese_first_and_its_icons_are_there():
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"].startswith("健康码检查点")
    assert "Health code checkpoint" in manifest["name"]
    assert manifest["start_url"] == manifest["scope"] == "/checkpoint/"
    purposes = set()
    for icon in manifest["icons"]:
        path = STATIC / icon["src"].removeprefix("/checkpoint/static/")
        with Image.open(path) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"
        purposes.add(icon["purpose"])
    assert purposes == {"any", "maskable"}
    assert {i["sizes"] for i in manifest["icons"]} == {"192x192", "512x512"}
