"""Offline verifier for healthcode credentials: public keys and a trust list, no personal data."""

from .claims import Credential
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
    "HealthCodeError", "Reason", "RevocationList", "Revocations", "TrustList", "TrustListError",
    "TrustedKey", "VerificationError", "cnf_for", "decode_image", "decode_unverified",
    "encode_presentation", "is_valid", "load_anchor", "presentation_message", "verify",
    "verify_image",
]
