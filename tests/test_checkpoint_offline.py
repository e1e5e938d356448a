"""The checkpoint app as an offline app, in a real headless Chromium against the issuer (and
the kiosk) on 127.0.0.1: the service worker keeps the page and its modules for offline use;
the device's state (state.js, IndexedDB) survives reloads and is re-verified; sync (sync.js)
picks up a revocation, a key rotation and an anchor roll-over, uses ETags, and refuses a
rolled-back or badly signed list with the reason `healthcode-verifier sync` gives, keeping the
lists in use; the anchor QR pins; a page naming another anchor later is refused.

Everything runs on the real clock (the browser has no other). Every request stays on
127.0.0.1.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator

import pytest
from conftest import TEST_PASSPHRASE
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from test_holder_browser import _serve

from issuer.keys.home import PASSPHRASE_ENV, Home
from issuer.keys.keystore import init_home, load_config, rotate_anchor, rotate_key
from issuer.service.issuance import IssuerService
from issuer.service.revocations import publish_revocations
from issuer.web import create_app as create_issuer
from verifier.anchorqr import anchor_qr_text, parse_anchor_qr
from verifier.errors import TrustListError
from verifier.keys import b64url, thumbprint
from verifier.kiosk import create_app as create_kiosk
from verifier.revocation import file_name

webcam = pytest.importorskip("webcam")
PHONE = {"width": 390, "height": 844}
DB = "checkpoint-test"  # the tests' own database: the page's app keeps its own

#: Open the state (the page's config unless given), optionally sync, and describe it.
PROBE = """async ({config, db, base, sync, ctis}) => {
  const { openState } = await import("/checkpoint/static/state.js");
  const { syncNow } = await import("/checkpoint/static/sync.js");
  if (config === null) {
    const block = document.getElementById("checkpoint-config");
    config = block ? JSON.parse(block.textContent) : {};
  }
  const state = await openState(config, { dbName: db });
  const report = sync ? await syncNow(state, base || undefined) : null;
  const bytes = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)));
  const revoked = {};
  for (const r of state.revocations) {
    revoked[r.iss] = [];
    for (const c of ctis) if (await r.isRevoked(bytes(c))) revoked[r.iss].push(c);
  }
  return {
    pin: state.pin, refused: state.refusedAnchor, problem: state.trustProblem,
    seq: state.trust ? state.trust.sequence : null, lastSync: state.lastSync,
    revocations: Object.fromEntries(state.revocations.map((r) => [r.iss,
      { seq: r.sequence, revoked: revoked[r.iss] }])),
    warnings: state.warnings().map((w) => w.code), report,
  };
}"""


def pin_of(home: Home) -> str:
    return b64url(thumbprint(load_pem_public_key(home.anchor_public.read_bytes())))


class World:
    """An issuer (its home, service, URL) and a phone's browser with one page open."""

    def __init__(self, home: Home, base: str, app, context, page) -> None:
        self.home, self.base, self.app, self.context, self.page = home, base, app, context, page
        self.service = app.extensions["healthcode"]
        self.requests: list[str] = []
        context.on("request", lambda request: self.requests.append(request.url))

    def probe(self, *, sync: bool = False, config: dict | None = None, ctis=(),
              base: str | None = None, db: str = DB) -> dict:
        return self.page.evaluate(PROBE, {"config": config, "db": db, "base": base,
                                          "sync": sync, "ctis": list(ctis)})

    def issue_and_revoke(self) -> str:
        person = self.service.create_person(actor="test", name="Li Lei", id_number="ID1",
                                            phone="13700000001", organisation="Org")
        cti = self.service.issue(person, actor="test")["cti"]
        self.service.store.revoke(cti, actor="test", reason="issued in error")
        return cti

    def off_site(self) -> list[str]:
        return [u for u in self.requests if not u.startswith("http://127.0.0.1:")]


@pytest.fixture
def world(playwright, tmp_path, monkeypatch) -> Iterator[World]:
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    home = Home(tmp_path / "issuer")
    init_home(home)
    app = create_issuer({"HOME": str(home.root), "DEFAULT_LOCALE": "en",
                         "DATABASE_URL": f"sqlite:///{tmp_path / 'i.db'}"})
    base, server, thread = _serve(app)
    with webcam.browser(playwright, None, tmp_path / "phone", viewport=PHONE,
                        is_mobile=True, has_touch=True) as context:
        context.set_default_timeout(20_000)
        page = context.pages[0] if context.pages else context.new_page()
        world = World(home, base, app, context, page)
        page.goto(f"{base}/checkpoint/")
        yield world
        assert world.off_site() == []
    server.shutdown()
    thread.join(5)
    app.extensions["healthcode"].close()


def test_first_open_pins_the_page_s_anchor_and_sync_fills_the_lists(world):
    first = world.probe()
    assert first["pin"] == pin_of(world.home) and first["seq"] is None
    assert "no_trust_list" in first["warnings"]
    synced = world.probe(sync=True)
    assert synced["report"]["ok"], synced["report"]
    assert synced["report"]["trustList"] == "updated"
    assert synced["seq"] == load_config(world.home).trust_list_seq
    iss = load_config(world.home).iss
    assert synced["report"]["revocations"] == {iss: "updated"}
    assert synced["warnings"] == [] and synced["lastSync"] is not None


def test_the_app_works_offline_after_one_load(world):
    page = world.page
    page.evaluate("""async () => {
        const registration = await navigator.serviceWorker.register("/checkpoint/sw.js",
                                                                    { scope: "/checkpoint/" });
        const failed = new Promise((resolve, reject) => {
          const worker = registration.installing || registration.waiting || registration.active;
          worker.addEventListener("statechange", () => {
            if (worker.state === "redundant") reject(new Error("the worker did not install"));
          });
          setTimeout(() => reject(new Error("no worker after 20 s")), 20000);
        });
        await Promise.race([navigator.serviceWorker.ready, failed]); }""")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=20_000)
    online = world.probe(sync=True)
    assert online["report"]["ok"], online["report"]
    world.context.set_offline(True)
    try:
        for lang in ("zh-CN", "en"):
            page.goto(f"{world.base}/checkpoint/?lang={lang}")
            assert page.get_attribute("html", "lang") == lang
        page.reload()
        assert page.locator("#checkpoint-config").count() == 1
        modules = page.evaluate("""async () => {
            const names = [];
            for (const path of ["/shared/verifier/index.js", "/shared/scan/decoder.js",
                                "/shared/i18n.js", "/checkpoint/static/state.js",
                                "/checkpoint/static/sync.js"]) {
              names.push(Object.keys(await import(path)).length > 0);
            }
            const wasm = await fetch("/shared/vendor/zxing-wasm/zxing_reader.wasm");
            return [...names, wasm.ok]; }""")
        assert all(modules), modules
        offline = world.probe(sync=True)
        # The lists stay as they were; the failed sync is reported, not cached.
        assert offline["seq"] == online["seq"] and offline["revocations"] == online["revocations"]
        assert offline["report"]["errors"][0]["reason"] == "unreachable"
        assert "sync_failed" in offline["warnings"]
    finally:
        world.context.set_offline(False)
    cached = page.evaluate("""async () => {
        const keys = [];
        for (const name of await caches.keys()) {
          for (const request of await (await caches.open(name)).keys()) keys.push(request.url);
        }
        return keys; }""")
    assert not [u for u in cached if "/trust/" in u or "/api/" in u]


def _install_worker(page, url: str, scope: str) -> None:
    page.evaluate("""async ([url, scope]) => {
        const registration = await navigator.serviceWorker.register(url, { scope });
        const worker = registration.installing || registration.waiting || registration.active;
        await new Promise((resolve, reject) => {
          const check = () => {
            if (worker.state === "activated") resolve();
            if (worker.state === "redundant") reject(new Error(`${url} did not install`));
          };
          worker.addEventListener("statechange", check);
          check();
        }); }""", [url, scope])


def test_chromium_finds_the_app_installable(world):
    _install_worker(world.page, "/checkpoint/sw.js", "/checkpoint/")
    world.page.reload()
    cdp = world.context.new_cdp_session(world.page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and "健康码检查点" in manifest["data"]
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []


def _cache_names(page) -> list[str]:
    return page.evaluate("caches.keys()")


def test_the_holder_page_s_worker_leaves_the_checkpoint_s_cache_alone(world):
    """Both workers on one origin (the issuer's): activating one must not delete the other's
    offline copy."""
    _install_worker(world.page, "/checkpoint/sw.js", "/checkpoint/")
    ours = [n for n in _cache_names(world.page) if n.startswith("healthcode-checkpoint-")]
    assert len(ours) == 1
    _install_worker(world.page, "/me/sw.js", "/me")
    names = _cache_names(world.page)
    assert ours[0] in names and any(n.startswith("healthcode-holder-") for n in names)


def test_settings_and_counts_survive_a_reload_and_nothing_else_is_kept(world):
    world.page.evaluate("""async (db) => {
        const { openState } = await import("/checkpoint/static/state.js");
        const state = await openState({ rule: "green" }, { dbName: db });
        await state.setRule("score >= 60");
        await state.setSound(false);
        await state.setAcceptStatic(false);
        for (const outcome of ["admitted", "admitted", "denied", "invalid"]) {
          await state.count(outcome);
        }
    }""", DB)
    world.page.reload()
    kept = world.page.evaluate("""async (db) => {
        const { openState } = await import("/checkpoint/static/state.js");
        const state = await openState({ rule: "green" }, { dbName: db });
        const keys = await new Promise((resolve) => {
          const open = indexedDB.open(db);
          open.onsuccess = () => {
            const all = open.result.transaction("kv").objectStore("kv").getAllKeys();
            all.onsuccess = () => { resolve(all.result); open.result.close(); };
          };
        });
        return { rule: state.rule, sound: state.sound, acceptStatic: state.acceptStatic,
                 counts: await state.todayCounts(), keys };
    }""", DB)
    assert kept["rule"] == "score>=60" and kept["sound"] is False
    assert kept["acceptStatic"] is False
    assert kept["counts"] == {"admitted": 2, "denied": 1, "invalid": 1}
    assert set(kept["keys"]) <= {"pin", "settings", "counts", "trust", "revocations", "etags",
                                 "sources", "checked", "lastSync", "lastAttempt", "lastErrors",
                                 "syncBase"}


def test_sync_picks_up_a_revocation_and_a_key_rotation_with_etags(world):
    before = world.probe(sync=True)
    iss = load_config(world.home).iss
    cti = world.issue_and_revoke()
    revoked = world.probe(sync=True, ctis=[cti])
    assert revoked["report"]["revocations"] == {iss: "updated"}
    assert revoked["revocations"][iss]["revoked"] == [cti]
    assert revoked["report"]["trustList"] == "unchanged"
    seen: list[tuple[str, int]] = []
    world.page.on("response", lambda r: seen.append((r.url.split("/", 3)[-1], r.status)))
    same = world.probe(sync=True, ctis=[cti])
    assert same["report"] == {**same["report"], "ok": True, "trustList": "unchanged",
                              "revocations": {iss: "unchanged"}}
    assert ("trust/trust-list.json", 304) in seen and ("trust/revocations", 304) in seen
    rotate_key(world.home)
    rotated = world.probe(sync=True, ctis=[cti])
    assert rotated["report"]["ok"] and rotated["report"]["trustList"] == "updated"
    assert rotated["seq"] == before["seq"] + 1 == load_config(world.home).trust_list_seq
    assert rotated["revocations"][iss]["revoked"] == [cti]  # kept across the rotation
    world.page.reload()
    assert world.probe(ctis=[cti])["revocations"][iss]["revoked"] == [cti]


def test_a_rolled_back_or_badly_signed_list_is_refused_and_the_lists_kept(world):
    old = world.home.trust_list.read_bytes()
    world.probe(sync=True)
    rotate_key(world.home)
    newer = world.probe(sync=True)
    assert newer["report"]["ok"]
    current = world.home.trust_list.read_bytes()
    document = json.loads(current)
    signature = document["signature"]
    document["signature"] = ("A" if signature[0] != "A" else "B") + signature[1:]
    for served, reason in ((old, "trust_list_rollback"),
                           (json.dumps(document).encode(), "trust_list_bad_signature"),
                           (b"{\"payload\": 1", "trust_list_malformed"),
                           (b" " * (4 * 1024 * 1024 + 1), "http_error")):  # > MAX_JWS_BYTES
        world.home.trust_list.write_bytes(served)
        refused = world.probe(sync=True)
        assert refused["report"]["trustList"] == reason, refused["report"]
        assert [e["reason"] for e in refused["report"]["errors"]] == [reason]
        assert refused["seq"] == newer["seq"] and refused["revocations"] == newer["revocations"]
        assert "sync_failed" in refused["warnings"]
    world.home.trust_list.write_bytes(current)
    again = world.probe(sync=True)
    assert again["report"]["ok"] and "sync_failed" not in again["warnings"]


def test_an_anchor_roll_over_moves_the_pin_and_another_page_anchor_is_refused(world):
    old_pin = pin_of(world.home)
    world.probe(sync=True)
    rotate_anchor(world.home)
    rolled = world.probe(sync=True)
    assert rolled["report"]["ok"] and rolled["report"]["anchorRolledOver"]
    assert rolled["pin"] == pin_of(world.home) != old_pin
    world.page.reload()  # the page now names the new anchor: no warning
    assert world.probe()["warnings"] == [] and world.probe()["refused"] is None
    stranger = b64url(bytes(32))
    refused = world.probe(config={"anchor": stranger})
    assert refused["pin"] == pin_of(world.home) and refused["refused"] == stranger
    assert "anchor_refused" in refused["warnings"] and refused["seq"] == rolled["seq"]


def test_an_anchor_qr_pins_a_phone_the_page_gave_no_anchor(world):
    text = anchor_qr_text(thumbprint(load_pem_public_key(world.home.anchor_public.read_bytes())),
                          world.base)
    result = world.page.evaluate("""async ({db, text, other}) => {
        const { openState } = await import("/checkpoint/static/state.js");
        const { syncNow } = await import("/checkpoint/static/sync.js");
        const state = await openState({ anchor: null, sync: "http://127.0.0.1:1" }, { dbName: db });
        const before = state.warnings().map((w) => w.code);
        const unsynced = (await syncNow(state)).errors.map((e) => e.reason);
        const reasons = [];
        for (const bad of ["HCA1:nonsense", "HCA1:" + "A".repeat(43) + ";javascript:x", 42]) {
          try { await state.pinAnchor(bad); } catch (e) { reasons.push(e.reason); }
        }
        const pinned = await state.pinAnchor(text);
        try { await state.pinAnchor(other); } catch (e) { reasons.push(e.reason); }
        const report = await syncNow(state);  // from the QR's URL
        const again = await state.pinAnchor(text);
        return { before, unsynced, reasons, pinned, again, report, pin: state.pin,
                 syncBase: state.syncBase, seq: state.trust && state.trust.sequence };
    }""", {"db": "qr-test", "text": text, "other": "HCA1:" + b64url(bytes(32))})
    assert result["before"] == ["no_anchor"] and result["unsynced"] == ["no_anchor"]
    assert result["reasons"] == ["anchor_malformed"] * 3 + ["anchor_differs"]
    assert result["pinned"] == {"pin": pin_of(world.home), "url": world.base, "elsewhere": None,
                                "changed": True}
    assert result["again"]["changed"] is False
    assert result["report"]["ok"], result["report"]
    assert result["pin"] == pin_of(world.home) and result["syncBase"] == world.base
    assert result["seq"] == load_config(world.home).trust_list_seq


def test_an_anchor_qr_naming_another_site_pins_but_keeps_syncing_from_this_one(world):
    """The page may fetch only from its own site (CSP connect-src 'self'; /trust sends no CORS
    headers): a QR naming another site's URL must not leave the phone unable to sync."""
    pin = thumbprint(load_pem_public_key(world.home.anchor_public.read_bytes()))
    result = world.page.evaluate("""async ({db, text}) => {
        const { openState } = await import("/checkpoint/static/state.js");
        const { syncNow } = await import("/checkpoint/static/sync.js");
        const state = await openState({ anchor: null, sync: location.origin }, { dbName: db });
        const pinned = await state.pinAnchor(text);
        const report = await syncNow(state);
        return { pinned, report, syncBase: state.syncBase, pin: state.pin };
    }""", {"db": "qr-elsewhere", "text": anchor_qr_text(pin, "https://hc.example.cn")})
    assert result["pinned"] == {"pin": pin_of(world.home), "url": None,
                                "elsewhere": "https://hc.example.cn", "changed": True}
    assert result["syncBase"] == world.base and result["pin"] == pin_of(world.home)
    assert result["report"]["ok"], result["report"]


@pytest.mark.parametrize("text", [
    "HCA1:" + b64url(bytes(range(32))), "HCA1:" + b64url(bytes(range(32))) + ";https://hc.example.cn/",
    "HCA1:" + b64url(bytes(range(32))) + ";http://127.0.0.1:5000",
    "HCA1:", "HCA1:" + b64url(bytes(range(32)))[:-1] + "B", "HCA1:" + b64url(bytes(31)),
    "HCA1:" + b64url(bytes(32)) + ";ftp://x", "HCA1:" + b64url(bytes(32)) + ";https://a;b",
    "HCA1:" + b64url(bytes(32)) + ";not a url", "HCA2:" + b64url(bytes(32))])
def test_the_app_reads_anchor_qr_text_as_python_does(world, text):
    js = world.page.evaluate("""async (text) => {
        const { parseAnchor } = await import("/checkpoint/static/state.js");
        try { return parseAnchor(text); } catch (e) { return { error: e.reason }; } }""", text)
    try:
        pin, url = parse_anchor_qr(text)
    except TrustListError:
        assert js == {"error": "anchor_malformed"}
    else:
        assert js == {"pin": b64url(pin), "url": url}


def test_sync_from_a_kiosk_refuses_an_older_or_forged_revocation_list(playwright, tmp_path,
                                                                      monkeypatch):
    """The same app served by `healthcode-verifier kiosk` syncs from the kiosk's files."""
    monkeypatch.setenv(PASSPHRASE_ENV, TEST_PASSPHRASE)
    now = int(time.time())
    home = Home(tmp_path / "issuer")
    init_home(home, now=now - 3600)
    service = IssuerService.open(home, f"sqlite:///{tmp_path / 'i.db'}")
    key, config = service.signer()
    person = service.create_person(actor="test", name="Li Lei", id_number="ID1",
                                   phone="13700000001", organisation="Org", now=now - 900)
    ctis, lists = [], []
    for at in (now - 600, now - 300):
        ctis.append(service.issue(person, actor="test", now=at)["cti"])
        service.store.revoke(ctis[-1], actor="test", reason="issued in error", now=at + 10)
        lists.append(publish_revocations(home, service.store, key, config, now=at + 20))
    service.close()
    folder = tmp_path / "kiosk"
    folder.mkdir()
    shutil.copy(home.trust_list, folder / "trust-list.json")
    shutil.copy(home.anchor_public, folder / "anchor.pub.pem")
    app = create_kiosk({"TRUST": folder / "trust-list.json", "DEFAULT_LOCALE": "en"})
    base, server, thread = _serve(app)
    revocations = folder / file_name(config.iss)
    forged = bytearray(lists[1])
    forged[-5] ^= 1
    try:
        with webcam.browser(playwright, None, tmp_path / "phone", viewport=PHONE) as context:
            context.set_default_timeout(20_000)
            requests: list[str] = []
            context.on("request", lambda request: requests.append(request.url))
            page = context.new_page()
            page.goto(f"{base}/checkpoint/")

            def probe() -> dict:
                return page.evaluate(PROBE, {"config": None, "db": DB, "base": None,
                                             "sync": True, "ctis": ctis})

            url = f"{base}/trust/revocations"
            results = []
            for served in (lists[0], lists[1], lists[0], bytes(forged), lists[1]):
                revocations.write_bytes(served)
                results.append(probe())
            assert requests and all(u.startswith(base + "/") for u in requests)
    finally:
        server.shutdown()
        thread.join(5)
    iss = config.iss
    assert [r["report"]["revocations"] for r in results] == [
        {iss: "updated"}, {iss: "updated"}, {url: "revocation_list_rollback"},
        {url: "revocation_list_bad_signature"}, {iss: "unchanged"}]
    assert results[0]["revocations"][iss]["revoked"] == ctis[:1]
    for kept in results[1:]:
        assert kept["revocations"][iss]["revoked"] == ctis and kept["seq"] is not None
    assert [r["report"]["ok"] for r in results] == [True, True, False, False, True]


def test_auto_sync_runs_at_start_and_again_when_the_phone_comes_back_online(world):
    iss = load_config(world.home).iss
    world.page.evaluate("""async (db) => {
        const { openState } = await import("/checkpoint/static/state.js");
        const { startAutoSync } = await import("/checkpoint/static/sync.js");
        const config = JSON.parse(document.getElementById("checkpoint-config").textContent);
        window.autoState = await openState(config, { dbName: db });
        window.autoSync = startAutoSync(window.autoState, location.origin, { every: 3600000 });
    }""", DB + "-auto")
    _until(world.page, "() => window.autoState.lastSync !== null")
    cti = world.issue_and_revoke()
    world.context.set_offline(True)
    world.context.set_offline(False)  # the 'online' event: sync now, not in an hour
    _until(world.page, """async ([iss, cti]) => {
        const list = window.autoState.revocationsOf(iss);
        const bytes = Uint8Array.from(cti.match(/../g).map((b) => parseInt(b, 16)));
        return list !== null && await list.isRevoked(bytes); }""", [iss, cti])
    world.page.evaluate("window.autoSync.stop()")


def _until(page, predicate: str, arg=None, seconds: float = 20.0) -> None:
    """Poll ``predicate`` in the page (the page's CSP forbids wait_for_function's eval)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate, arg):
        assert time.monotonic() < deadline, f"not true within {seconds} s: {predicate}"
        page.wait_for_timeout(100)
