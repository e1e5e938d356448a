"""From a picture to a verdict: decode every QR in it and verify the health codes among them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .claims import Credential
from .errors import Reason, VerificationError
from .formats import ForeignCode, ForeignTrust, detect
from .image import Backend, ImageSource, decode_image
from .labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX
from .presentation import PRESENTATION_WINDOW
from .trust import TrustList
from .verify import Now, verify

if TYPE_CHECKING:
    from .revocation import Revocations


def health_codes(texts: list[str]) -> list[str]:
    """Return the texts that carry one of our prefixes (a credential or a presentation) or a
    foreign format's (:mod:`verifier.formats`), in order; other QR codes in a frame are
    ignored. A SMART Health Card printed in several QR codes (``shc:/1/3/…``, ``shc:/2/3/…``,
    …), all in the picture, is one text, joined where its first chunk was."""
    found = [text for text in texts
             if text.startswith((CREDENTIAL_PREFIX, PRESENTATION_PREFIX)) or detect(text)]
    return _join_smart_chunks(found)


def _join_smart_chunks(found: list[str]) -> list[str]:
    """``found`` with the chunks of one SMART card joined (as they are when they do not make
    one card: each is then refused on its own)."""
    if sum(text.startswith("shc:/") for text in found) < 2:
        return found
    from .formats import shc  # only for a picture of SMART cards

    chunks = [text for text in found if (shc.chunk_position(text) or (0, 1))[1] > 1]
    if len(chunks) < 2:
        return found
    try:
        joined = shc.join_chunks(chunks)
    except VerificationError:
        return found
    at = found.index(chunks[0])
    rest = [text for text in found if text not in chunks]
    return [*rest[:at], joined, *rest[at:]]


def verify_image(source: ImageSource, trust: TrustList, now: Now = None,
                 backend: Backend | str = Backend.ZXING,
                 revocations: Revocations | None = None, *,
                 window: int = PRESENTATION_WINDOW, foreign: ForeignTrust | None = None
                 ) -> Credential | ForeignCode:
    """Verify the health code in an image and return its :class:`Credential` (or the
    :class:`~verifier.formats.ForeignCode` of a foreign format's code, with ``foreign``'s keys).

    With several health codes in the frame, the first valid one wins; if none is valid, the
    first one's rejection is raised. Raises :class:`VerificationError`: ``no_code`` when the
    image holds no QR code, ``malformed`` when it holds only QR codes that are not health
    codes, or any reason from :func:`verifier.verify`.
    """
    texts = decode_image(source, backend)
    if not texts:
        raise VerificationError(Reason.NO_CODE)
    codes = health_codes(texts)
    if not codes:
        raise VerificationError(Reason.MALFORMED, "the QR code found is not a health code")
    first_error: VerificationError | None = None
    for text in codes:
        try:
            return verify(text, trust, now, revocations, window=window, foreign=foreign)
        except VerificationError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error
