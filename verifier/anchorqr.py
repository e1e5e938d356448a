"""The anchor QR: the trust anchor's pin (and where to sync from) as a QR code's text, so that
checkpoint staff pin a phone to the right anchor by scanning a sheet the issuer printed
(``healthcode-issuer keys export --anchor-qr FILE.png``; the checkpoint app's ``state.js``
reads the same text). Format (docs/FORMAT.md, "Anchor QR")::

    HCA1:<thumbprint>              HCA1:<thumbprint>;<URL>

``<thumbprint>`` is the anchor's RFC 7638 SHA-256 thumbprint, 43 characters of unpadded
base64url (what :func:`verifier.trust.load_anchor` pins); ``<URL>`` an ``http``/``https`` base
URL whose ``/trust/…`` serves the lists. The QR only says which anchor to pin: everything
synced is still checked against it, so a wrong URL can deny service, never trust.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from .errors import Reason, TrustListError
from .keys import b64url, b64url_decode

ANCHOR_QR_PREFIX = "HCA1:"
#: Longer texts are refused unread (a QR at level M holds ~2,300 bytes; a URL needs far less).
MAX_ANCHOR_QR_CHARS = 1024


def anchor_qr_text(pin: bytes, url: str | None = None) -> str:
    """Return the anchor QR's text for ``pin`` (32 bytes) and an optional sync URL. Raises
    ``ValueError`` for a pin that is not 32 bytes or a URL that is not absolute http(s)."""
    if len(pin) != 32:
        raise ValueError("an anchor pin is 32 bytes")
    text = ANCHOR_QR_PREFIX + b64url(pin)
    if url:
        _check_url(url)
        text += ";" + url.rstrip("/")
    return text


def parse_anchor_qr(text: str) -> tuple[bytes, str | None]:
    """Return ``(pin, url or None)`` from an anchor QR's text. Raises :class:`TrustListError`
    (``trust_list_malformed``) for anything else."""
    if not isinstance(text, str) or len(text) > MAX_ANCHOR_QR_CHARS \
            or not text.startswith(ANCHOR_QR_PREFIX):
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, "not an anchor QR (HCA1:…)")
    body, _, url = text.strip()[len(ANCHOR_QR_PREFIX):].partition(";")
    try:
        pin = b64url_decode(body)
        if len(pin) != 32 or b64url(pin) != body:
            raise ValueError("the thumbprint is not 43 characters of base64url")
        if url:
            _check_url(url)
    except ValueError as exc:
        raise TrustListError(Reason.TRUST_LIST_MALFORMED, f"anchor QR: {exc}") from None
    return pin, url.rstrip("/") or None


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(
            c.isspace() or c == ";" for c in url):
        raise ValueError(f"not an http(s) URL: {url[:80]!r}")
