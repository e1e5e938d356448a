"""Public, unauthenticated: the transparency log as C2SP tlog-tiles, at ``/log/``: the signed
``checkpoint``, ``tile/<L>/<N>[.p/<W>]`` and ``tile/entries/<N>[.p/<W>]``, and ``key`` (the
log's note verifier key, to pin). Static-file semantics, so any web server or CDN can mirror
it: a full tile never changes (cached for a year), a partial tile and the checkpoint do (no
cache). A path that is not a tile this log has is 404, with its reason.
"""

from __future__ import annotations

from apiflask import APIBlueprint
from flask import Response, current_app, jsonify

from verifier.tlog import TlogError
from verifier.tlog.tiles import TILE_WIDTH, parse_tile_path

from ..service.publiclog import PublicLog

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
@public_log.doc(responses={200: "the log's newest checkpoint, a C2SP signed note"})
def checkpoint():
    """The newest checkpoint: origin, size, root hash, signed by the issuer's log key."""
    return _text(_log().checkpoint(), "text/plain; charset=utf-8")


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
