"""healthcode issuer: keeps the personal data, scores people under a published policy, and
signs their health codes.

Its rooms, each a subpackage (README, "Layout"): ``web`` and ``cli`` (the faces) and ``demo``
stand on ``service`` (the operations, :class:`issuer.service.IssuerService`), which stands on
``store`` (the database), ``policy`` (observations and scoring) and ``render`` (QR symbols,
cards), and all of them on ``keys`` (home folder, keys, signing). The wire format is the
verifier's. Exported here: what signing a code takes, without a database.
"""

from .keys.home import Home, HomeError
from .keys.keystore import init_home, load_signing_key, publish_trust_list
from .keys.signing import issue_credential, sign_cose, sign_jws
from .render.qr import make_qr, write_code

__version__ = "0.1.0"

__all__ = [
    "Home", "HomeError", "init_home", "issue_credential", "load_signing_key", "make_qr",
    "publish_trust_list", "sign_cose", "sign_jws", "write_code",
]
