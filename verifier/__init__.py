"""Offline verifier for healthcode credentials: public keys and a trust list, no personal data.

One module a stage. The wire format, owned here: :mod:`.labels` (CBOR labels), :mod:`.base45`,
:mod:`.cose`, :mod:`.claims`, :mod:`.fastpath` (our canonical layout in one pass),
:mod:`.presentation` (live codes, ``HCP1:``), :mod:`.verify` (the order of checks). Trust:
:mod:`.keys` (JWK), :mod:`.jws`, :mod:`.trust` (the signed trust list), :mod:`.revocation`,
:mod:`.sync`. Pictures: :mod:`.image`, :mod:`.scan`. Faces, which the core never imports:
:mod:`.kiosk` (the checkpoint web app) and :mod:`.cli`. Nothing here imports the issuer.

Codes of other formats (EU DCC, SMART Health Cards, NZ Covid Pass) will each be a module of
``verifier/formats/``, reading its own envelope with the shared modules above, chosen by prefix
in :func:`verify`; our own format stays where it is.
"""

from .claims import Credential, IdCheck
from .errors import HealthCodeError, Reason, TrustListError, VerificationError
from .image import Backend, decode_image
from .labels import CREDENTIAL_PREFIX, PRESENTATION_PREFIX, Alg, Colour
from .presentation import PRESENTATION_WINDOW, cnf_for, encode_presentation, presentation_message
from .revocation import RevocationList, Revocations
from .scan import verify_image
from .trust import TrustedKey, TrustList, load_anchor
from .verify import CLOCK_SKEW, decode_unverified, is_valid, verify

__version__ = "0.1.0"

__all__ = [
    "CLOCK_SKEW", "CREDENTIAL_PREFIX", "PRESENTATION_PREFIX", "PRESENTATION_WINDOW", "Alg",
    "Backend", "Colour", "Credential",
    "HealthCodeError", "IdCheck", "Reason", "RevocationList", "Revocations", "TrustList",
    "TrustListError",
    "TrustedKey", "VerificationError", "cnf_for", "decode_image", "decode_unverified",
    "encode_presentation", "is_valid", "load_anchor", "presentation_message", "verify",
    "verify_image",
]
