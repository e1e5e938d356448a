"""Key material and the signed trust list in ``HOME/keys``.

``issuer.json`` records the issuer id and its keys' ids and signing windows (public facts);
private keys are encrypted PKCS#8 PEM files, mode 0600; ``trust-list.json`` is re-signed by the
trust anchor whenever the key set changes or it nears expiry.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from verifier.keys import key_to_jwk, kid_for
from verifier.labels import Alg
from verifier.trust import TRUST_LIST_TYPE, TRUST_LIST_VERSION

from .home import Home, HomeError, write_atomic
from .signing import PrivateKey, sign_jws

DAY = 24 * 3600
#: How long a signing key may sign; verifiers accept its credentials issued in that window.
KEY_SIGNING_PERIOD = 365 * DAY
#: How long a trust list stays valid; a verifier refuses an older one (re-sign or sync).
TRUST_LIST_VALIDITY = 30 * DAY
#: Re-sign the trust list when less than this is left (``make run``, the service).
TRUST_LIST_REFRESH = 7 * DAY
DEFAULT_ISSUER = "HZ"
#: Longest issuer id that keeps a code with a policy digest at QR version 8-M (docs/FORMAT.md).
ISS_QR_BUDGET = 8
DEFAULT_ISSUER_NAME = "Hangzhou health code (demo issuer)"


@dataclass
class IssuerConfig:
    """The contents of ``issuer.json``."""

    iss: str
    name: str
    current: str
    keys: list[dict[str, Any]]
    trust_list_seq: int = 0
    trust_list_exp: int = 0

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2).encode() + b"\n"


def _generate(alg: Alg) -> PrivateKey:
    if alg is Alg.EDDSA:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1())


def _write_private(home: Home, path: Path, key: PrivateKey) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(home.passphrase(create=True)))
    write_atomic(path, pem)


def _read_private(home: Home, path: Path) -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), home.passphrase())
    except FileNotFoundError:
        raise HomeError(f"missing private key {path}") from None
    except ValueError:
        raise HomeError(f"cannot decrypt {path}: wrong passphrase?") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise HomeError(f"{path} is not an EC or Ed25519 key")
    return key


def load_config(home: Home) -> IssuerConfig:
    """Return the issuer configuration; raises :class:`HomeError` if the home is not set up."""
    try:
        return IssuerConfig(**json.loads(home.issuer_config.read_text()))
    except FileNotFoundError:
        raise HomeError(f"{home.keys} holds no issuer: run `healthcode-issuer init`") from None
    except (ValueError, TypeError) as exc:
        raise HomeError(f"{home.issuer_config} is damaged: {exc}") from None


def init_home(home: Home, iss: str = DEFAULT_ISSUER, name: str = DEFAULT_ISSUER_NAME,
              alg: Alg = Alg.ES256, now: int | None = None) -> IssuerConfig:
    """Create the trust anchor, a first signing key and a signed trust list in ``home``.

    Raises :class:`HomeError` if the home already has keys: nothing is overwritten.
    """
    now = int(time.time()) if now is None else now
    if home.issuer_config.exists() or home.anchor_private.exists():
        raise HomeError(f"{home.keys} already holds keys; refusing to overwrite them")
    home.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    anchor = ec.generate_private_key(ec.SECP256R1())
    _write_private(home, home.anchor_private, anchor)
    write_atomic(home.anchor_public, anchor.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)
    signing = _generate(alg)
    kid = kid_for(signing.public_key()).decode("ascii")
    _write_private(home, home.signing_key(kid), signing)
    config = IssuerConfig(iss=iss, name=name, current=kid, keys=[{
        "kid": kid, "alg": alg.jose_name, "nbf": now, "exp": now + KEY_SIGNING_PERIOD,
        "jwk": key_to_jwk(signing.public_key()),
    }])
    publish_trust_list(home, config, now)
    return config


def load_signing_key(home: Home) -> tuple[PrivateKey, IssuerConfig, dict[str, Any]]:
    """Return ``(private key, config, key record)`` of the issuer's current signing key."""
    config = load_config(home)
    record = next((k for k in config.keys if k["kid"] == config.current), None)
    if record is None:
        raise HomeError(f"current key {config.current} is not in {home.issuer_config}")
    return _read_private(home, home.signing_key(config.current)), config, record


def trust_list_payload(config: IssuerConfig, now: int, validity: int = TRUST_LIST_VALIDITY
                       ) -> bytes:
    """Return the JSON payload of the next trust list for ``config``."""
    keys = [{**record["jwk"], "nbf": record["nbf"], "exp": record["exp"]}
            for record in config.keys]
    document = {
        "typ": TRUST_LIST_TYPE, "ver": TRUST_LIST_VERSION, "seq": config.trust_list_seq,
        "iat": now, "exp": now + validity,
        "issuers": [{"iss": config.iss, "name": config.name, "keys": keys}],
    }
    return json.dumps(document, indent=1, sort_keys=True).encode()


def publish_trust_list(home: Home, config: IssuerConfig | None = None, now: int | None = None,
                       validity: int = TRUST_LIST_VALIDITY) -> IssuerConfig:
    """Sign a new trust list (next sequence number) with the anchor and write it atomically."""
    now = int(time.time()) if now is None else now
    config = config or load_config(home)
    anchor = _read_private(home, home.anchor_private)
    config.trust_list_seq += 1
    config.trust_list_exp = now + validity
    signed = sign_jws(anchor, trust_list_payload(config, now, validity), TRUST_LIST_TYPE)
    write_atomic(home.issuer_config, config.to_json(), 0o644)
    write_atomic(home.trust_list, signed.encode(), 0o644)
    return config
