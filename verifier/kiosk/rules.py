"""Checkpoint rules: which valid codes a checkpoint admits.

A rule is a comma-separated list of terms, fixed when the kiosk starts:

- colours: ``green``, ``yellow``, ``red``: the code's colour must be one of those named
  (no colour named: any colour);
- score conditions: ``score>=60`` (also ``>``, ``<=``, ``<``, ``=``): every one must hold;
- foreign formats (:mod:`verifier.formats`): ``dcc:`` (EU certificates), ``shc:`` (SMART Health
  Cards) or ``nzcp:`` (NZ COVID Passes), then the kinds admitted, the next terms continuing the
  list: ``dcc:vaccination,recovery``; ``any`` admits every kind (``dcc:any``, ``shc:any``,
  ``nzcp:any``). Kinds: ``dcc`` vaccination, test, recovery; ``shc`` immunization,
  laboratory; ``nzcp`` pass.

``green`` admits green codes; ``green,yellow`` green or yellow; ``score>=60`` any colour scoring
60 or more; ``green,score>=80`` green codes scoring 80 or more. Colours and scores apply to our
codes only; a foreign code is admitted only by a term naming its format and kind, so a rule
without one refuses every foreign code ("this checkpoint does not accept EU certificates").
A rule of foreign terms only keeps the default for our codes (``dcc:any`` is
``green,dcc:any``): naming foreign formats never opens the checkpoint to red codes. Whether
static (printed) codes are accepted is a separate switch of the kiosk.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..claims import SCORE_MAX, SCORE_MIN, Credential
from ..formats import ForeignCode
from ..labels import Colour
from .verdicts import FORMAT_NAMES, KIND_WORDS, reader

DEFAULT_RULE = "green"
MAX_RULE_LENGTH = 200
#: Each foreign format a rule may name and the kinds it may admit (``ForeignCode.kind``).
FOREIGN_KINDS = {"dcc": ("vaccination", "test", "recovery"),
                 "shc": ("immunization", "laboratory"), "nzcp": ("pass",)}
ANY = "any"
_SCORE_TERM = re.compile(r"score\s*(>=|<=|>|<|==|=)\s*(\d{1,3})")
_FOREIGN_TERM = re.compile(r"([a-z0-9]+)\s*:\s*([a-z-]*)")
_COMPARE: dict[str, Callable[[int, int], bool]] = {
    ">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt,
    "=": operator.eq, "==": operator.eq}
#: The rule's words, in the reader's language (English outside a request).
_COLOURS = {Colour.GREEN: _l("green"), Colour.YELLOW: _l("yellow"), Colour.RED: _l("red")}
_CONDITIONS = {">=": _l("score at least %(value)s"), "<=": _l("score at most %(value)s"),
               ">": _l("score above %(value)s"), "<": _l("score below %(value)s"),
               "=": _l("score exactly %(value)s"), "==": _l("score exactly %(value)s")}
_REFUSALS = {">=": _l("score %(score)s is not at least %(value)s"),
             "<=": _l("score %(score)s is not at most %(value)s"),
             ">": _l("score %(score)s is not above %(value)s"),
             "<": _l("score %(score)s is not below %(value)s"),
             "=": _l("score %(score)s is not exactly %(value)s"),
             "==": _l("score %(score)s is not exactly %(value)s")}
_NOT_ACCEPTED = {"dcc": _l("this checkpoint does not accept EU certificates"),
                 "shc": _l("this checkpoint does not accept SMART Health Cards"),
                 "nzcp": _l("this checkpoint does not accept NZ COVID Passes")}


class RuleError(ValueError):
    """The rule text does not parse; the message says which term and why."""


@dataclass(frozen=True)
class Rule:
    """A parsed checkpoint rule. :meth:`decide` returns None to admit, else why not."""

    text: str
    colours: frozenset[Colour]
    scores: tuple[tuple[str, int], ...]
    #: Each foreign format admitted and its kinds (``frozenset({"any"})``: every kind).
    foreign: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Rule:
        if len(text) > MAX_RULE_LENGTH:
            raise RuleError(f"the rule is longer than {MAX_RULE_LENGTH} characters")
        colours: set[Colour] = set()
        scores: list[tuple[str, int]] = []
        foreign: dict[str, set[str]] = {}
        listing: str | None = None  # the format whose kinds the terms are continuing
        terms = [term.strip().lower() for term in text.split(",")]
        if not any(terms):
            raise RuleError("the rule is empty: say e.g. green, green,yellow or score>=60")
        for term in terms:
            if term in Colour.__members__.values():
                colours.add(Colour(term))
                listing = None
                continue
            named = _FOREIGN_TERM.fullmatch(term)
            if named is not None or (listing is not None and ":" not in term
                                     and _SCORE_TERM.fullmatch(term) is None):
                listing, kind = named.groups() if named else (listing, term)
                foreign.setdefault(listing, set()).add(_kind(listing, kind, term))
                continue
            listing = None
            match = _SCORE_TERM.fullmatch(term)
            if match is None:
                raise RuleError(f"{term!r} is neither a colour (green, yellow, red), a score "
                                f"condition such as score>=60, nor a foreign format's kinds "
                                f"such as dcc:vaccination,recovery, shc:any or nzcp:any")
            value = int(match.group(2))
            if not SCORE_MIN <= value <= SCORE_MAX:
                raise RuleError(f"{term!r}: scores run from {SCORE_MIN} to {SCORE_MAX}")
            scores.append((match.group(1), value))
        if foreign and not colours and not scores:
            colours.add(Colour(DEFAULT_RULE))  # foreign terms never open the door to red
        kinds = tuple((name, frozenset({ANY}) if ANY in foreign[name]
                       else frozenset(foreign[name]))
                      for name in FOREIGN_KINDS if name in foreign)
        canonical = ",".join([c.value for c in Colour if c in colours]
                             + [f"score{op}{value}" for op, value in scores]
                             + [f"{name}:" + ",".join(k for k in (ANY, *FOREIGN_KINDS[name])
                                                       if k in admitted)
                                for name, admitted in kinds])
        return cls(canonical, frozenset(colours), tuple(scores), kinds)

    def decide(self, code: Credential | ForeignCode) -> str | None:
        """None if the rule admits this (valid) code, else the reason in plain words."""
        if isinstance(code, ForeignCode):
            return self._decide_foreign(code)
        if self.colours and code.colour not in self.colours:
            return _("%(colour)s is not admitted here", colour=_COLOURS[code.colour])
        for op, value in self.scores:
            if not _COMPARE[op](code.score, value):
                return str(_REFUSALS[op]) % {"score": code.score, "value": value}
        return None

    def _decide_foreign(self, code: ForeignCode) -> str | None:
        admitted = dict(self.foreign).get(code.format)
        if admitted is None:
            return str(_NOT_ACCEPTED[code.format])
        if ANY in admitted or code.kind in admitted:
            return None
        return _("%(format)s of this kind (%(kind)s) are not accepted here",
                 format=FORMAT_NAMES[code.format][1],
                 kind=KIND_WORDS.get(code.kind, code.kind))

    def describe(self) -> str:
        """The rule in plain words, for the screen."""
        locale = reader()
        parts = []
        if self.colours:
            names = [str(_COLOURS[c]) for c in Colour if c in self.colours]
            parts.append(_("%(colours)s codes",
                           colours=format_list(names, style="or", locale=locale)))
        else:
            parts.append(_("codes of any colour"))
        parts += [str(_CONDITIONS[op]) % {"value": value} for op, value in self.scores]
        ours = ("，" if locale == "zh_CN" else ", ").join(parts)
        others = [_("%(format)s of any kind", format=FORMAT_NAMES[name][1]) if ANY in admitted
                  else _("%(format)s for %(kinds)s", format=FORMAT_NAMES[name][1],
                         kinds=format_list([str(KIND_WORDS[k]) for k in FOREIGN_KINDS[name]
                                            if k in admitted], style="or", locale=locale))
                  for name, admitted in self.foreign]
        return _("Admits %(what)s", what=("；" if locale == "zh_CN" else "; ").join(
            [ours, *others]))


def _kind(name: str, kind: str, term: str) -> str:
    """A foreign term's kind, checked against its format's."""
    if name not in FOREIGN_KINDS:
        raise RuleError(f"{term!r}: {name!r} is not a format this checkpoint reads "
                        f"(dcc, shc, nzcp)")
    if kind != ANY and kind not in FOREIGN_KINDS[name]:
        raise RuleError(f"{term!r}: the kinds of {name} are {', '.join(FOREIGN_KINDS[name])} "
                        f"(or any)")
    return kind
