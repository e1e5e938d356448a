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
    ignored."""
    return [text for text in texts
            if text.startswith((CREDENTIAL_PREFIX, PRESENTATION_PREFIX)) or detect(text)]


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
