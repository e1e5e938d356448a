"""Issued codes' pictures, rendered once: a bounded in-process cache and the HTTP caching of
``GET /api/credentials/<cti>.<png|svg>``.

A credential's text never changes once it is signed, so neither does its picture: a PNG or SVG
is rendered on the first request, kept (least recently used out first, at most
``CODE_IMAGE_CACHE_BYTES`` bytes of pictures a process) and served with a strong ETag (a digest
of its bytes), so that a client holding it gets ``304 Not Modified``. Revocation and expiry
change what verifiers say of a code, never its picture, and the endpoint answers a revoked or
expired code as before, with its picture; an unknown code stays a 404 (the database is read
on every request: it is what says the code exists).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import NamedTuple

from flask import Flask

from ..render.qr import render_image

#: Bytes of pictures kept per process: some 20,000 PNGs (or 4,000 SVGs) of credentials.
DEFAULT_CACHE_BYTES = 16 * 1024 * 1024
#: How long a client may keep a picture without asking again (a day): it never changes, but a
#: reader whose token is withdrawn should not keep showing it from the browser for long.
MAX_AGE = 86_400
_EXTENSION = "healthcode.code_images"


class CodeImage(NamedTuple):
    """A rendered picture and its strong ETag (without quotes)."""

    data: bytes
    etag: str


class CodeImages:
    """Rendered code pictures by ``(cti, format)``, at most ``max_bytes`` of them in all,
    the least recently used dropped first. Safe to share between threads."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._images: OrderedDict[tuple[str, str], CodeImage] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._images)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return (key[0].lower(), key[1]) in self._images

    def get(self, cti: str, fmt: str, text: str) -> CodeImage:
        """The picture of credential ``cti`` (whose QR text is ``text``) as ``fmt``, rendered
        now unless kept from before."""
        key = (cti.lower(), fmt)
        with self._lock:
            image = self._images.get(key)
            if image is not None:
                self._images.move_to_end(key)
                return image
        data = render_image(text, fmt)  # outside the lock: other requests go on meanwhile
        image = CodeImage(data, hashlib.sha256(data).hexdigest()[:32])
        self._keep(key, image)
        return image

    def _keep(self, key: tuple[str, str], image: CodeImage) -> None:
        if len(image.data) > self.max_bytes:
            return
        with self._lock:
            if key in self._images:  # another request rendered it meanwhile
                return
            self._images[key] = image
            self.size += len(image.data)
            while self.size > self.max_bytes:
                _, dropped = self._images.popitem(last=False)
                self.size -= len(dropped.data)


def init_app(app: Flask) -> None:
    """Give ``app`` its cache, ``CODE_IMAGE_CACHE_BYTES`` large (0: render every time)."""
    app.extensions[_EXTENSION] = CodeImages(int(app.config["CODE_IMAGE_CACHE_BYTES"]))


def code_images(app: Flask) -> CodeImages:
    """The app's cache (:func:`init_app`)."""
    return app.extensions[_EXTENSION]
