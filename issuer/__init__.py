"""healthcode issuer: keys, signing, and (later) people, policy and the service."""

from .keys.home import Home, HomeError
from .keys.keystore import init_home, load_signing_key, publish_trust_list
from .keys.signing import issue_credential, sign_cose, sign_jws
from .render.qr import make_qr, write_code

__version__ = "0.1.0"

__all__ = [
    "Home", "HomeError", "init_home", "issue_credential", "load_signing_key", "make_qr",
    "publish_trust_list", "sign_cose", "sign_jws", "write_code",
]
