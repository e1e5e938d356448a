"""The credential's claims: encoding (for the issuer) and strict parsing (for the verifier)."""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import cbor2

from .cose import loads_strict
from .errors import Reason, VerificationError
from .keys import kid_text
from .labels import Alg, Claim, Colour, Health, IdCheckField

SCORE_MIN, SCORE_MAX = 0, 100
#: Length of the random credential id. 96 bits: no two of a billion credentials collide (p < 1e-11)
#: and none can be guessed; 16 bytes would cost the QR code its version 8 (docs/FORMAT.md).
CTI_LENGTH = 12
#: Length of the policy reference: the first bytes of SHA-256 over the published policy document.
POLICY_DIGEST_LENGTH = 8
MAX_ISS_LENGTH = 32
#: How many trailing letters or digits of the id number a static code carries.
ID_TAIL_LENGTH = 4
#: Longest masked name: a character (a combining sequence or a surrogate pair counts as
#: several) and the mask.
MAX_MASKED_NAME = 8
_ID_TAIL_TEXT = re.compile(rf"[0-9A-Z]{{1,{ID_TAIL_LENGTH}}}")
_MASK = "*"
_COLOUR, _SCORE, _POLICY, _ID_CHECK, _FAMILY = (h.value for h in (
    Health.COLOUR, Health.SCORE, Health.POLICY, Health.ID_CHECK, Health.FAMILY))
_NAME, _ID_TAIL = IdCheckField.NAME.value, IdCheckField.ID_TAIL.value


class IdCheck(NamedTuple):
    """What a static code (a printed card, a code not bound to a phone) carries so that a
    checkpoint can match it to the holder's ID document, and nothing more: the name's first
    character then ``*``, and the last letters or digits of the id number."""

    name: str
    id_tail: str

    @classmethod
    def of(cls, name: str, id_number: str) -> IdCheck:
        """The check-ID fields of a person named ``name`` with ``id_number``; raises
        ``ValueError`` if either has nothing to show."""
        name = name.strip()
        tail = "".join(ch for ch in id_number if ch.isascii() and ch.isalnum()).upper()
        if not name or not tail:
            raise ValueError("a name and an id number with letters or digits are needed")
        return cls(name[0] + _MASK, tail[-ID_TAIL_LENGTH:])


class Credential(NamedTuple):
    """A credential's content. From :func:`verifier.verify` it is verified; from
    :func:`verifier.decode_unverified` it is not. Immutable; a NamedTuple because building a
    frozen dataclass costs several microseconds on the verify hot path."""

    iss: str
    iat: int
    exp: int
    cti: bytes
    colour: Colour
    score: int
    policy: bytes | None = None
    cnf: dict[Any, Any] | None = None
    kid: bytes = b""
    alg: Alg = Alg.ES256
    #: When the holder's phone made the presentation this credential came in (epoch seconds);
    #: None for a credential shown on its own (static: a printed card, or a plain code).
    presented_at: int | None = None
    #: A static code's check-ID fields (masked name, id number's tail), or None.
    id_check: IdCheck | None = None
    #: A family code: a dependant's live code on a guardian's phone (docs/FORMAT.md, health
    #: key 5). Checkpoints say so, and nothing about whose it is.
    family: bool = False

    @property
    def static(self) -> bool:
        """True unless the credential came in a live, device-signed presentation."""
        return self.presented_at is None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (byte strings as hex, times as epoch seconds)."""
        return {
            "iss": self.iss, "iat": self.iat, "exp": self.exp, "cti": self.cti.hex(),
            "colour": self.colour.value, "score": self.score,
            "policy": self.policy.hex() if self.policy is not None else None,
            "device_bound": self.cnf is not None, "presented_at": self.presented_at,
            "kid": kid_text(self.kid), "alg": self.alg.jose_name,
            "id_check": self.id_check._asdict() if self.id_check is not None else None,
            "family": self.family,
        }


def encode_claims(*, iss: str, iat: int, exp: int, cti: bytes, colour: Colour, score: int,
                  policy: bytes | None = None, cnf: dict[Any, Any] | None = None,
                  id_check: IdCheck | None = None, family: bool = False) -> bytes:
    """Return the CBOR claims map (the COSE payload). ``family``: mark a device-bound
    credential as a family code (a dependant's, shown on a guardian's phone).

    Raises ``ValueError`` for values the verifier would reject, so the issuer never signs one.
    """
    # Plain int keys (the labels' values): cbor2 encodes an IntEnum key several times slower.
    health: dict[int, Any] = {_COLOUR: Colour(colour).code, _SCORE: score}
    if policy is not None:
        health[_POLICY] = policy
    if id_check is not None:
        health[_ID_CHECK] = {_NAME: id_check.name, _ID_TAIL: id_check.id_tail}
    if family:
        health[_FAMILY] = True
    claims: dict[int, Any] = {
        Claim.ISS: iss, Claim.IAT: iat, Claim.EXP: exp, Claim.CTI: cti, Claim.HEALTH: health,
    }
    if cnf is not None:
        claims[Claim.CNF] = cnf
    _check_claims(claims)
    return cbor2.dumps({int(k): v for k, v in claims.items()})


def _is_int(value: Any) -> bool:
    return type(value) is int


def _check_claims(claims: dict[Any, Any]) -> None:
    iss, iat, exp, cti = (claims.get(k) for k in (Claim.ISS, Claim.IAT, Claim.EXP, Claim.CTI))
    health = claims.get(Claim.HEALTH)
    if not (isinstance(iss, str) and 0 < len(iss) <= MAX_ISS_LENGTH):
        raise ValueError("iss must be a text of 1 to 32 characters")
    if not (_is_int(iat) and _is_int(exp) and 0 <= iat < exp < 2**32):
        raise ValueError("iat and exp must be epoch seconds with iat < exp")
    if not (isinstance(cti, bytes) and len(cti) == CTI_LENGTH):
        raise ValueError(f"cti must be {CTI_LENGTH} bytes")
    if not isinstance(health, dict):
        raise ValueError("health claim missing")
    colour, score = health.get(Health.COLOUR), health.get(Health.SCORE)
    if not (_is_int(colour) and colour in (0, 1, 2)):
        raise ValueError("colour must be 0 (green), 1 (yellow) or 2 (red)")
    if not (_is_int(score) and SCORE_MIN <= score <= SCORE_MAX):
        raise ValueError("score must be an integer from 0 to 100")
    policy = health.get(Health.POLICY)
    if policy is not None and not (isinstance(policy, bytes)
                                   and len(policy) == POLICY_DIGEST_LENGTH):
        raise ValueError(f"policy must be {POLICY_DIGEST_LENGTH} bytes")
    cnf = claims.get(Claim.CNF)
    if cnf is not None and not (isinstance(cnf, dict) and cnf):
        raise ValueError("cnf must be a non-empty map")
    id_check = health.get(Health.ID_CHECK)
    if id_check is not None:
        if cnf is not None:
            raise ValueError("a code bound to a phone carries no check-ID fields")
        _read_id_check(id_check)
    family = health.get(Health.FAMILY)
    if family is not None:
        if family is not True:
            raise ValueError("the family mark must be true")
        if cnf is None:
            raise ValueError("a family code is bound to a phone")


def _read_id_check(fields: Any) -> IdCheck:
    """The check-ID map as an :class:`IdCheck`; ``ValueError`` unless it is well formed."""
    name = fields.get(IdCheckField.NAME) if isinstance(fields, dict) else None
    tail = fields.get(IdCheckField.ID_TAIL) if isinstance(fields, dict) else None
    if not (isinstance(name, str) and 2 <= len(name) <= MAX_MASKED_NAME
            and name.endswith(_MASK) and name[0].isprintable() and not name[0].isspace()):
        raise ValueError("the check-ID name must be a character followed by *")
    if not (isinstance(tail, str) and _ID_TAIL_TEXT.fullmatch(tail)):
        raise ValueError(f"the check-ID id tail must be 1 to {ID_TAIL_LENGTH} digits or "
                         "capital letters")
    return IdCheck(name, tail)


def parse_claims(payload: bytes, *, kid: bytes = b"", alg: Alg = Alg.ES256) -> Credential:
    """Return the :class:`Credential` in a COSE payload. Times are *not* checked here.

    Raises :class:`VerificationError`: ``malformed`` when the payload is not a CBOR map,
    ``invalid_claims`` when a required claim is missing or out of range.
    """
    claims = loads_strict(payload, "claims")
    if not isinstance(claims, dict):
        raise VerificationError(Reason.MALFORMED, "claims are not a map")
    try:
        _check_claims(claims)
    except ValueError as exc:
        raise VerificationError(Reason.INVALID_CLAIMS, str(exc), kid=kid) from None
    health = claims[Claim.HEALTH]
    id_check = health.get(Health.ID_CHECK)
    return Credential(
        iss=claims[Claim.ISS], iat=claims[Claim.IAT], exp=claims[Claim.EXP],
        cti=claims[Claim.CTI], colour=Colour.from_code(health[Health.COLOUR]),
        score=health[Health.SCORE], policy=health.get(Health.POLICY),
        cnf=claims.get(Claim.CNF), kid=kid, alg=alg,
        id_check=_read_id_check(id_check) if id_check is not None else None,
        family=health.get(Health.FAMILY) is True,
    )
