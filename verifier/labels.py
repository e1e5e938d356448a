"""Named CBOR labels of the wire format (docs/FORMAT.md): no bare integers elsewhere."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Header(IntEnum):
    """COSE header parameters (RFC 9052 section 3.1). Only the protected bucket is read."""

    ALG = 1
    KID = 4
    #: CWT claims carried in a header (RFC 9597): a presentation's time, ``{6 (iat): t}``.
    CWT_CLAIMS = 15


class Alg(IntEnum):
    """COSE algorithm identifiers (RFC 9053) that the format allows."""

    ES256 = -7
    EDDSA = -8

    @property
    def jose_name(self) -> str:
        """The JOSE ``alg`` name of the algorithm (``ES256``, ``EdDSA``)."""
        return {Alg.ES256: "ES256", Alg.EDDSA: "EdDSA"}[self]

    @classmethod
    def from_jose(cls, name: str) -> Alg:
        """Return the algorithm named ``name`` in JOSE; raises ``KeyError`` if there is none."""
        return {"ES256": cls.ES256, "EdDSA": cls.EDDSA}[name]


class Claim(IntEnum):
    """CWT claim keys (RFC 8392, RFC 8747) plus our one private-use claim."""

    ISS = 1
    EXP = 4
    IAT = 6
    CTI = 7
    CNF = 8
    # Private-use range (< -65536, RFC 8392 section 9.1): the health status, a map of Health.
    HEALTH = -65537


class Health(IntEnum):
    """Keys inside the HEALTH claim."""

    COLOUR = 1
    SCORE = 2
    POLICY = 3
    #: A static code's check-ID fields, a map of :class:`IdCheckField` (docs/FORMAT.md).
    ID_CHECK = 4
    #: ``true`` on a family code: a dependant's live code shown on a guardian's phone (it
    #: needs ``cnf``). It names no one: checkpoints say "family code", nothing more.
    FAMILY = 5


class IdCheckField(IntEnum):
    """Keys inside the health claim's ``ID_CHECK`` map."""

    #: The holder's name masked: its first character, then ``*``.
    NAME = 1
    #: The last letters or digits of the holder's id number.
    ID_TAIL = 2


class Confirmation(IntEnum):
    """Keys inside the ``cnf`` claim (RFC 8747 section 3.1)."""

    COSE_KEY = 1


class CoseKey(IntEnum):
    """COSE_Key parameters (RFC 9052 section 7, RFC 9053 section 7.1.1) and the values the
    format allows: an EC2 P-256 key with the point compressed (``y`` is its sign bit)."""

    KTY = 1
    CRV = -1
    X = -2
    Y = -3
    KTY_EC2 = 2
    CRV_P256 = 1


class Colour(StrEnum):
    """Health colour. On the wire it is the small integer :attr:`code`."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def code(self) -> int:
        """The colour's wire value: 0 green, 1 yellow, 2 red."""
        return _COLOUR_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> Colour:
        """Return the colour with wire value ``code``; raises ``KeyError`` for any other."""
        return _COLOURS_BY_CODE[code]


_COLOUR_CODES = {Colour.GREEN: 0, Colour.YELLOW: 1, Colour.RED: 2}
_COLOURS_BY_CODE = {code: colour for colour, code in _COLOUR_CODES.items()}

#: The text prefix of a static credential: "HealthCode Credential, format 1".
CREDENTIAL_PREFIX = "HCC1:"
#: The text prefix of a holder's live presentation of a device-bound credential:
#: "HealthCode Presentation, format 1".
PRESENTATION_PREFIX = "HCP1:"
COSE_SIGN1_TAG = 18
