"""Key material and the signed trust list in ``HOME/keys``.

``issuer.json`` records the issuer id and its keys' ids and signing windows (public facts);
private keys are encrypted PKCS#8 PEM files, mode 0600; ``trust-list.json`` is re-signed by the
trust anchor whenever the key set changes or it nears expiry.

Lifecycle (docs/SECURITY.md):

- :func:`rotate_key` makes a new signing key current. The old one stops signing at once (its
  window ``exp`` closes; its private key file is deleted) but stays in the trust list,
  verification only, until the last credential it can have signed has expired
  (``verify_until``: rotation + the longest credential lifetime); the next list published
  after that leaves it out.
- :func:`retire_key` with ``compromised`` drops a key from the trust list at once (and makes a
  new key current if it was the current one): every credential it signed stops verifying as
  soon as verifiers have the new list.
- :func:`rotate_anchor` makes a new trust anchor. For a transition period lists are signed by
  both anchors and name the new one, so verifiers pinned to the old anchor move their pin.
- :func:`add_issuer` puts another issuer's public keys (exported with :func:`export_issuer`)
  into this anchor's trust list: one list, several cities; the list also carries the keys of
  the foreign issuers in ``keys/foreign/`` (:mod:`.foreign`).
"""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from verifier.keys import KeyFormatError, b64url, jwk_to_key, key_to_jwk, kid_for, thumbprint
from verifier.labels import Alg
from verifier.trust import TRUST_LIST_TYPE, TRUST_LIST_VERSION

from .foreign import foreign_member
from .home import Home, HomeError, write_atomic
from .signing import PrivateKey, sign_jws_multi

DAY = 24 * 3600
#: How long a signing key may sign; verifiers accept its credentials issued in that window.
KEY_SIGNING_PERIOD = 365 * DAY
#: How long a trust list stays valid; a verifier refuses an older one (re-sign or sync).
TRUST_LIST_VALIDITY = 30 * DAY
#: Re-sign the trust list when less than this is left (``make run``, the service).
TRUST_LIST_REFRESH = 7 * DAY
#: Longest credential lifetime the issuer signs (the API's and the CLI's bound): a retired key
#: stays in the trust list this long after it last signed.
MAX_CREDENTIAL_TTL = 30 * DAY
#: How long lists are signed by both the old and the new anchor after an anchor roll-over.
ANCHOR_TRANSITION = 90 * DAY
EXPORT_TYPE = "healthcode-issuer-keys"
DEFAULT_ISSUER = "HZ"
#: Longest issuer id that keeps a code with a policy digest at QR version 8-M (docs/FORMAT.md).
ISS_QR_BUDGET = 8
DEFAULT_ISSUER_NAME = "Hangzhou health code (demo issuer)"
#: The demo issuer's name for readers of each language (the trust list's ``names``).
DEFAULT_ISSUER_NAMES = {"zh-CN": "杭州健康码（演示签发机构）", "en": DEFAULT_ISSUER_NAME}


@dataclass
class IssuerConfig:
    """The contents of ``issuer.json``."""

    iss: str
    name: str
    current: str
    keys: list[dict[str, Any]]
    trust_list_seq: int = 0
    trust_list_exp: int = 0
    #: Keys taken out of the trust list: ``{"kid", "retired_at", "compromised", "reason"}``.
    retired: list[dict[str, Any]] = field(default_factory=list)
    #: Other issuers this anchor vouches for: ``{"iss", "name", "keys": [JWK + nbf + exp]}``.
    issuers: list[dict[str, Any]] = field(default_factory=list)
    #: Until when lists are also signed by the previous anchor (0: no roll-over under way).
    previous_anchor_until: int = 0
    #: The issuer's name by language tag (``zh-CN``, ``en``); ``name`` for other readers.
    names: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=2).encode() + b"\n"

    def key_record(self, kid: str) -> dict[str, Any]:
        record = next((k for k in self.keys if k["kid"] == kid), None)
        if record is None:
            raise HomeError(f"no key {kid} in this issuer's trust list")
        return record


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


@contextmanager
def _locked(home: Home) -> Iterator[None]:
    """Hold an exclusive lock on the home's keys while ``issuer.json`` is read and rewritten,
    so that two commands (or a command and the service) never interleave their updates."""
    with open(home.keys / ".lock", "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _new_anchor(home: Home) -> None:
    """Make a trust anchor: its private key (encrypted) and its public key (PEM) in the home."""
    anchor = ec.generate_private_key(ec.SECP256R1())
    _write_private(home, home.anchor_private, anchor)
    write_atomic(home.anchor_public, anchor.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 0o644)


def _new_signing_key(home: Home, alg: Alg, now: int) -> dict[str, Any]:
    """Make a signing key (encrypted in the home); return its record, signing from ``now``."""
    signing: PrivateKey = (ed25519.Ed25519PrivateKey.generate() if alg is Alg.EDDSA
                           else ec.generate_private_key(ec.SECP256R1()))
    kid = kid_for(signing.public_key()).decode("ascii")
    _write_private(home, home.signing_key(kid), signing)
    return {"kid": kid, "alg": alg.jose_name, "nbf": now, "exp": now + KEY_SIGNING_PERIOD,
            "jwk": key_to_jwk(signing.public_key())}


def _stop_signing(record: dict[str, Any], now: int) -> None:
    """Close a key's signing window now; it stays in the trust list until the last credential
    it can have signed has expired."""
    record["exp"] = min(record["exp"], now)
    record["verify_until"] = min(record.get("verify_until", now + MAX_CREDENTIAL_TTL),
                                 now + MAX_CREDENTIAL_TTL)


def load_config(home: Home) -> IssuerConfig:
    """Return the issuer configuration; raises :class:`HomeError` if the home is not set up."""
    try:
        return IssuerConfig(**json.loads(home.issuer_config.read_text()))
    except FileNotFoundError:
        raise HomeError(f"{home.keys} holds no issuer: run `healthcode-issuer init`") from None
    except (ValueError, TypeError) as exc:
        raise HomeError(f"{home.issuer_config} is damaged: {exc}") from None


def init_home(home: Home, iss: str = DEFAULT_ISSUER, name: str = DEFAULT_ISSUER_NAME,
              alg: Alg = Alg.ES256, now: int | None = None,
              names: dict[str, str] | None = None) -> IssuerConfig:
    """Create the trust anchor, a first signing key and a signed trust list in ``home``.

    Raises :class:`HomeError` if the home already has keys: nothing is overwritten.
    """
    now = int(time.time()) if now is None else now
    if home.issuer_config.exists() or home.anchor_private.exists():
        raise HomeError(f"{home.keys} already holds keys; refusing to overwrite them")
    home.keys.mkdir(parents=True, exist_ok=True, mode=0o700)
    _new_anchor(home)
    record = _new_signing_key(home, alg, now)
    default = dict(DEFAULT_ISSUER_NAMES) if name == DEFAULT_ISSUER_NAME else {}
    config = IssuerConfig(iss, name, record["kid"], [record], names=default | (names or {}))
    publish_trust_list(home, config, now)
    return config


def load_signing_key(home: Home) -> tuple[PrivateKey, IssuerConfig, dict[str, Any]]:
    """Return ``(private key, config, key record)`` of the issuer's current signing key."""
    config = load_config(home)
    record = next((k for k in config.keys if k["kid"] == config.current), None)
    if record is None:
        raise HomeError(f"current key {config.current} is not in {home.issuer_config}")
    return _read_private(home, home.signing_key(config.current)), config, record


def _anchor_thumbprint(home: Home) -> str:
    public = serialization.load_pem_public_key(home.anchor_public.read_bytes())
    return b64url(thumbprint(public))  # type: ignore[arg-type]


def trust_list_payload(config: IssuerConfig, now: int, validity: int = TRUST_LIST_VALIDITY,
                       anchor: str | None = None, foreign: dict | None = None) -> bytes:
    """Return the JSON payload of the next trust list for ``config``: this issuer's keys that
    may still verify something, then the other issuers'."""
    keys = [{**record["jwk"], "nbf": record["nbf"], "exp": record["exp"]}
            for record in config.keys if record.get("verify_until", now) >= now]
    issuers = [{"iss": config.iss, "name": config.name, "keys": keys,
                **({"names": config.names} if config.names else {})}]
    issuers += [{"iss": other["iss"], "name": other["name"], "keys": other["keys"]}
                for other in config.issuers]
    document: dict[str, Any] = {
        "typ": TRUST_LIST_TYPE, "ver": TRUST_LIST_VERSION, "seq": config.trust_list_seq,
        "iat": now, "exp": now + validity, "issuers": issuers,
    }
    document |= {"anchor": anchor} if anchor is not None else {}
    document |= {"foreign": foreign} if foreign else {}
    return json.dumps(document, indent=1, sort_keys=True).encode()


def publish_trust_list(home: Home, config: IssuerConfig | None = None, now: int | None = None,
                       validity: int = TRUST_LIST_VALIDITY) -> IssuerConfig:
    """Sign a new trust list (next sequence number) with the anchor and write it atomically.

    Keys whose ``verify_until`` has passed are dropped from ``issuer.json`` and the list.
    During an anchor roll-over the previous anchor signs too; after it, its private key is
    deleted.
    """
    with _locked(home):
        return _publish(home, config or load_config(home), now, validity)


def _publish(home: Home, config: IssuerConfig, now: int | None = None,
             validity: int = TRUST_LIST_VALIDITY) -> IssuerConfig:
    """:func:`publish_trust_list`, the lock already held."""
    now = int(time.time()) if now is None else now
    config.keys = [k for k in config.keys if k.get("verify_until", now) >= now]
    signers = [_read_private(home, home.anchor_private)]
    if config.previous_anchor_until >= now and home.previous_anchor_private.exists():
        signers.append(_read_private(home, home.previous_anchor_private))
    elif config.previous_anchor_until:
        config.previous_anchor_until = 0
        home.previous_anchor_private.unlink(missing_ok=True)
    config.trust_list_seq += 1
    config.trust_list_exp = now + validity
    payload = trust_list_payload(config, now, validity, _anchor_thumbprint(home),
                                 foreign_member(home))
    signed = sign_jws_multi(signers, payload, TRUST_LIST_TYPE)
    write_atomic(home.issuer_config, config.to_json(), 0o644)
    write_atomic(home.trust_list, signed.encode(), 0o644)
    # Only the current key signs; a key in its verify-only period needs only its public half
    # (in issuer.json and the list), so no private key of it is left to steal.
    for record in config.keys:
        if record["kid"] != config.current:
            home.signing_key(record["kid"]).unlink(missing_ok=True)
    return config


# Lifecycle --------------------------------------------------------------------------------


def rotate_key(home: Home, alg: Alg | None = None, now: int | None = None) -> IssuerConfig:
    """Make a new signing key current; the old one stops signing now (its private key is
    deleted) and stays in the trust list until its last possible credential has expired.
    Publishes the trust list."""
    now = int(time.time()) if now is None else now
    with _locked(home):
        config = load_config(home)
        old = config.key_record(config.current)
        new_alg = alg or Alg.from_jose(old["alg"])
        record = _new_signing_key(home, new_alg, now)
        _stop_signing(old, now)
        config.keys.append(record)
        config.current = record["kid"]
        return _publish(home, config, now)


def retire_key(home: Home, kid: str, *, compromised: bool, reason: str = "",
               now: int | None = None) -> IssuerConfig:
    """Take key ``kid`` out of service and publish the trust list.

    ``compromised``: out of the trust list at once, so everything it signed stops verifying
    (a new key becomes current first if it was the current one; its private key is deleted).
    Otherwise it only stops signing, as after a rotation; the current key cannot be retired
    that way (rotate instead). Raises :class:`HomeError` for an unknown key.
    """
    now = int(time.time()) if now is None else now
    if not compromised:
        with _locked(home):
            config = load_config(home)
            if kid == config.current:
                raise HomeError(f"{kid} is the current signing key: rotate to a new key first")
            _stop_signing(config.key_record(kid), now)
            return _publish(home, config, now)
    if kid == load_config(home).current:
        rotate_key(home, now=now)
    with _locked(home):
        config = load_config(home)
        config.key_record(kid)  # HomeError if unknown
        config.keys = [k for k in config.keys if k["kid"] != kid]
        config.retired.append({"kid": kid, "retired_at": now, "compromised": True,
                               "reason": reason})
        home.signing_key(kid).unlink(missing_ok=True)
        return _publish(home, config, now)


def rotate_anchor(home: Home, now: int | None = None,
                  transition: int = ANCHOR_TRANSITION) -> IssuerConfig:
    """Make a new trust anchor. For ``transition`` seconds lists are signed by the old and
    the new anchor and name the new one; then only the new one signs. Publishes the list."""
    now = int(time.time()) if now is None else now
    with _locked(home):
        config = load_config(home)
        if config.previous_anchor_until >= now:
            raise HomeError("an anchor roll-over is already under way (until "
                            f"{config.previous_anchor_until}); let it finish first")
        old = _read_private(home, home.anchor_private)
        _write_private(home, home.previous_anchor_private, old)
        _new_anchor(home)
        config.previous_anchor_until = now + transition
        return _publish(home, config, now)


def export_issuer(home: Home) -> dict[str, Any]:
    """This issuer's id, name and public keys, for another anchor's trust list."""
    config = load_config(home)
    return {"typ": EXPORT_TYPE, "iss": config.iss, "name": config.name,
            "keys": [{**k["jwk"], "nbf": k["nbf"], "exp": k["exp"]} for k in config.keys]}


def add_issuer(home: Home, exported: dict[str, Any], now: int | None = None) -> IssuerConfig:
    """Vouch for another issuer (its :func:`export_issuer` document) in this trust list, or
    update its keys; publishes the list. Raises ``ValueError`` for a bad document."""
    if not isinstance(exported, dict) or exported.get("typ") != EXPORT_TYPE:
        raise ValueError(f"not a {EXPORT_TYPE} document")
    iss, name, keys = exported.get("iss"), exported.get("name"), exported.get("keys")
    if not isinstance(iss, str) or not iss or not isinstance(keys, list) or not keys:
        raise ValueError("the document needs an issuer id and keys")
    for jwk in keys:
        try:
            jwk_to_key(jwk)
        except KeyFormatError as exc:
            raise ValueError(f"bad key: {exc}") from None
        if not all(type(jwk.get(n)) is int for n in ("nbf", "exp")):
            raise ValueError("each key needs nbf and exp")
    with _locked(home):
        config = load_config(home)
        if iss == config.iss:
            raise ValueError(f"{iss!r} is this issuer's own id")
        config.issuers = [o for o in config.issuers if o["iss"] != iss]
        config.issuers.append({"iss": iss, "name": str(name or iss), "keys": keys})
        return _publish(home, config, now)
