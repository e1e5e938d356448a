"""Public, unauthenticated: the transparency log as C2SP tlog-tiles, at ``/log/``: the signed
``checkpoint``, ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, and ``key`` (the
log's note verifier key, to pin). Static-file semantics, so any web server or CDN can mirror
it: a full tile never changes (cached for a year), a partial tile and the checkpoint do (no
cache). A path that is not a tile this log has is 404, with its reason.

Beside the tiles, for clients that would rather not read them: ``proof/inclusion`` and
``proof/consistency`` (RFC 9162 proofs as JSON, base64 hashes), which anyone can check
against a signed checkpoint and recompute from the tiles.
"""

from __future__ import annotations

import base64
import time

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify, request

from verifier.tlog import TlogError, TlogReason
from verifier.tlog.tiles import TILE_WIDTH, parse_tile_path

from ..service.publiclog import CHECKPOINT_INTERVAL, PublicLog, witnesses

#: The largest note accepted (the tlog client's limit too).
MAX_NOTE = 64 * 1024
public_log = APIBlueprint("public_log", __name__, url_prefix="/log", tag="transparency log")


def _log() -> PublicLog:
    return current_app.extensions["healthcode.log"]


def _text(body: str | bytes, mimetype: str, immutable: bool = False) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Cache-Control"] = ("public, max-age=31536000, immutable" if immutable
                                         else "no-cache")
    response.headers["Access-Control-Allow-Origin"] = "*"  # anyone may read and mirror it
    return response


@public_log.get("/checkpoint")
@public_log.doc(responses={200: "the log's published checkpoint, a C2SP signed note"})
def checkpoint():
    """The published checkpoint: origin, size, root hash, signed by the issuer's log key,
    with the cosignatures of the witnesses that checked it (a new one at most every
    ``LOG_CHECKPOINT_INTERVAL`` seconds, default 60)."""
    interval = int(current_app.config.get("LOG_CHECKPOINT_INTERVAL", CHECKPOINT_INTERVAL))
    return _text(_log().published(int(time.time()), interval), "text/plain; charset=utf-8")


@public_log.post("/cosignature")
@public_log.doc(responses={200: "the checkpoint with every cosignature collected",
                           400: "not a cosigned checkpoint of this log (`problem`: reason)",
                           413: "over 64 KiB"})
def cosignature():
    """A witness sends the published checkpoint, cosigned (C2SP tlog-cosignature): kept
    and served with it. Only the witnesses named in the home's log-witnesses.txt count: a
    signature is the authentication."""
    body = request.get_data(cache=False)
    if len(body) > MAX_NOTE:
        return jsonify({"problem": "too_large", "message": "a note is at most 64 KiB"}), 413
    service = current_app.extensions["healthcode"]
    try:
        note = _log().cosign(body.decode("utf-8"), witnesses(service.home))
    except (TlogError, UnicodeDecodeError) as exc:
        reason = str(getattr(exc, "reason", "bad_note"))
        return jsonify({"problem": reason, "message": "not a cosigned checkpoint of this log"}), 400
    return _text(note, "text/plain; charset=utf-8")


@public_log.get("/key")
@public_log.doc(responses={200: "the log's note verifier key (vkey)"})
def key():
    """The key that signs the checkpoints, as a note verifier key (``name+hash+key``)."""
    return _text(_log().verifier.vkey + "\n", "text/plain; charset=utf-8")


@public_log.get("/tile/<path:rest>")
@public_log.doc(responses={200: "a tile (hashes) or an entry bundle", 404: "no such tile"})
def tile(rest: str):
    """A hash tile or an entry bundle of the log as it is now."""
    try:
        wanted = parse_tile_path("tile/" + rest)
        data = _log().tile(wanted)
    except TlogError as exc:
        return jsonify({"problem": str(exc.reason), "message": "no such tile in this log"}), 404
    return _text(data, "application/octet-stream", immutable=wanted.width == TILE_WIDTH)


def _proof(names: tuple[str, str], make, refused: str):
    """``{name: value, name: value, "proof": [base64]}`` for the two counts ``names`` of the
    query, or a 400 with the reason (``bad_index``) when they are not a pair the log has."""
    values = [request.args.get(name, type=int) for name in names]
    try:
        if any(value is None or value < 0 for value in values):
            raise TlogError(TlogReason.BAD_INDEX, "whole numbers")
        proof = make(*values)
    except TlogError as exc:
        return jsonify({"problem": str(exc.reason), "message": refused}), 400
    return jsonify({**dict(zip(names, values, strict=True)),
                    "proof": [base64.b64encode(h).decode("ascii") for h in proof]})


@public_log.get("/proof/inclusion")
@public_log.doc(responses={200: "`{index, size, proof}`: the hashes, base64",
                           400: "`index` and `size` (0 <= index < size <= the log's size)"})
def inclusion():
    """The inclusion proof of leaf ``index`` in the log at ``size`` leaves (RFC 9162
    §2.1.3): with the leaf (from the entry bundle) it leads to the root of the checkpoint of
    that size."""
    return _proof(("index", "size"), _log().inclusion, "no such leaf in this log")


@public_log.get("/proof/consistency")
@public_log.doc(responses={200: "`{from, to, proof}`: the hashes, base64",
                           400: "`from` and `to` (0 < from <= to <= the log's size)"})
def consistency():
    """The consistency proof from the log at ``from`` leaves to the log at ``to`` (RFC 9162
    §2.1.4): that the larger tree extends the smaller one, leaf for leaf."""
    return _proof(("from", "to"), _log().consistency, "no such pair of sizes")
