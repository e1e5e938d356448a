"""The JavaScript transparency-log library (verifier/static/verifier/tlog.js) next to the Python
one (verifier/tlog/): a page on 127.0.0.1 that imports /shared/verifier/tlog.js and runs batches
of calls, the same calls made in Python, and trees too big to build (tests/test_tlog_js.py).

A call is ``(name, args)``: the name of a JS export and its arguments as Python values (bytes,
ints, strings, lone surrogates too, lists, None, :class:`Witness`), sent as JSON. Both sides
answer ``{"reason", "value"}``: ``reason`` the TlogError's reason (None if accepted), ``value``
what was returned, bytes as ``{"hex": ...}``, objects with the JS field names."""

from __future__ import annotations

import bisect
import json
from dataclasses import dataclass
from typing import Any

from jsverifier import serve

from verifier.tlog import checkpoint, cosignature, merkle, note
from verifier.tlog.errors import TlogError

PAGE = "/test/tlog.html"

PAGE_HTML = """<!doctype html>
<html lang="en"><meta charset="utf-8"><title>tlog.js</title>
<script type="module">
import * as t from "/shared/verifier/tlog.js";
const unhex = (h) => Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
async function revive(x, bytes) {
  if (Array.isArray(x)) return Promise.all(x.map((v) => revive(v, bytes)));
  if (x === null || typeof x !== "object") return x;
  if ("bytes" in x) return bytes[x.bytes];
  return t.cosignatureVerifier(x.witness, { maxFuture: x.maxFuture, clock: () => x.now });
}
function plain(x) {
  if (x instanceof Uint8Array) return { hex: hex(x) };
  if (Array.isArray(x)) return x.map(plain);
  if (x !== null && typeof x === "object") {
    return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, plain(v)]));
  }
  return x === undefined ? null : x;
}
async function call([name, args], bytes) {
  try {
    return { reason: null, value: plain(await t[name](...(await revive(args, bytes)))) };
  } catch (e) {
    const ours = e instanceof t.TlogError && e instanceof Error && typeof e.reason === "string";
    return { reason: ours ? e.reason : `JS-ERROR ${e.name}: ${e.message}`, value: null };
  }
}
// JSON both ways, each byte string once: Playwright's own serialization is many times slower.
async function run(json) {
  const { bytes, calls } = JSON.parse(json);
  const table = bytes.map(unhex);
  return JSON.stringify(await Promise.all(calls.map((c) => call(c, table))));
}
window.tl = { run, t };
document.documentElement.dataset.ready = "yes";
</script>
"""


def serve_page():
    """Serve the page and verifier/static under /shared/ on 127.0.0.1; yields the origin."""
    yield from serve(PAGE, PAGE_HTML)


@dataclass(frozen=True)
class Witness:
    """A cosignature/v1 verifier with a clock: ``max_future`` seconds ahead of ``now`` at most."""

    vkey: str
    max_future: int | None
    now: float


def _to_js(x: Any, table: dict[bytes, int]) -> Any:
    """``x`` for the page: byte strings as ``{"bytes": their number in table}``."""
    if isinstance(x, bytes | bytearray):
        return {"bytes": table.setdefault(bytes(x), len(table))}
    if isinstance(x, Witness):
        return {"witness": x.vkey, "maxFuture": x.max_future, "now": x.now}
    if isinstance(x, list | tuple):
        return [_to_js(v, table) for v in x]
    return x


def _hex(value: bytes) -> dict[str, str]:
    return {"hex": value.hex()}


def _signature(s: note.Signature) -> dict[str, Any]:
    return {"name": s.name, "keyId": s.key_id, "signature": _hex(s.signature)}


def _checkpoint(c: checkpoint.Checkpoint) -> dict[str, Any]:
    return {"origin": c.origin, "size": c.size, "root": _hex(c.root),
            "extensions": list(c.extensions)}


def _verifier(key: str | Witness):
    if isinstance(key, Witness):
        return cosignature.CosignatureVerifier.from_vkey(key.vkey, max_future=key.max_future,
                                                         clock=lambda: key.now)
    return note.Ed25519Verifier.from_vkey(key)


def _vkey(vkey, alg):
    name, raw = note.parse_vkey(vkey, alg)
    return {"name": name, "keyId": note.key_id(name, alg, raw), "publicKey": _hex(raw),
            "alg": alg}


def _split(message):
    text, lines = note.split_note(message)
    return {"text": text, "signatures": [_signature(s) for s in lines]}


def _open(message, keys):
    opened = note.open_note(message, [_verifier(k) for k in keys])
    return {"text": opened.text, "signatures": [_signature(s) for s in opened.signatures],
            "unverified": [_signature(s) for s in opened.unverified]}


def _open_checkpoint(message, origin, logs, witnesses=(), quorum=0):
    got = checkpoint.open_checkpoint(message, origin, [_verifier(k) for k in logs],
                                     [_verifier(w if isinstance(w, Witness) else
                                                Witness(w, None, 0)) for w in witnesses],
                                     quorum)
    return {"checkpoint": _checkpoint(got.checkpoint), "note": got.note,
            "logKeys": list(got.log_keys), "witnesses": got.witnesses}


#: The Python side of each JS export, answering in the page's shape.
PYTHON = {
    "leafHash": lambda data: _hex(merkle.leaf_hash(data)),
    "nodeHash": lambda left, right: _hex(merkle.node_hash(left, right)),
    "rootFromInclusionProof": lambda *a: _hex(merkle.root_from_inclusion_proof(*a)),
    "verifyInclusion": merkle.verify_inclusion,
    "verifyConsistency": merkle.verify_consistency,
    "parseVkey": _vkey,
    "splitNote": _split,
    "openNote": _open,
    "parseCheckpoint": lambda text: _checkpoint(checkpoint.parse_checkpoint(text)),
    "openCheckpoint": _open_checkpoint,
}


def python(name: str, args: tuple) -> dict[str, Any]:
    """What the Python library says to the call."""
    try:
        return {"reason": None, "value": PYTHON[name](*args)}
    except TlogError as error:
        return {"reason": error.reason.value, "value": None}


def javascript(page, calls: list[tuple[str, tuple]], chunk: int = 10_000) -> list[dict]:
    """What tlog.js says to each call, in batches of ``chunk``."""
    answers: list[dict] = []
    for start in range(0, len(calls), chunk):
        table: dict[bytes, int] = {}
        batch = [[name, _to_js(args, table)] for name, args in calls[start:start + chunk]]
        sent = json.dumps({"bytes": [b.hex() for b in table], "calls": batch})
        answers += json.loads(page.evaluate("(sent) => tl.run(sent)", sent))
    return answers


def compare(page, calls: list[tuple[str, tuple]]) -> tuple[list[tuple], dict[str | None, int]]:
    """Run ``calls`` on both sides: the mismatches ``(call, python, js)`` and how many calls
    ended with each reason (None: accepted), so that a test can see it tried both ways."""
    mismatches, reasons = [], {}
    for call, js in zip(calls, javascript(page, calls), strict=True):
        want = python(*call)
        reasons[want["reason"]] = reasons.get(want["reason"], 0) + 1
        if js != want:
            mismatches.append((call, want, js))
    return mismatches, reasons


FILL = merkle.leaf_hash(b"fill")


class BigTree:
    """A tree of ``size`` leaves, too many to build: every leaf hash is FILL but those of
    ``special`` (index -> leaf hash). Any ``2**j`` leaves without a special one hash as the
    perfect tree of FILLs, so the hash of a range costs O(log size) per special leaf in it.
    Callable as a :data:`verifier.tlog.merkle.SubtreeHash`."""

    def __init__(self, size: int, special: dict[int, bytes]) -> None:
        self.size, self.special, self.where = size, special, sorted(special)
        self.perfect = [FILL]
        for _ in range(64):
            self.perfect.append(merkle.node_hash(self.perfect[-1], self.perfect[-1]))

    def __call__(self, start: int, end: int) -> bytes:
        n = end - start
        at = bisect.bisect_left(self.where, start)
        if not (at < len(self.where) and self.where[at] < end) and n & (n - 1) == 0:
            return self.perfect[n.bit_length() - 1]
        if n == 1:
            return self.special[start]
        k = 1 << ((n - 1).bit_length() - 1)
        return merkle.node_hash(self(start, start + k), self(start + k, end))

    def leaf(self, index: int) -> bytes:
        return self(index, index + 1)

    def root(self, size: int | None = None) -> bytes:
        return self(0, self.size if size is None else size)


__all__ = ["PAGE", "BigTree", "Witness", "compare", "javascript", "python", "serve_page"]
