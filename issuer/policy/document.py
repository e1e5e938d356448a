"""Published scoring policies: TOML documents under ``issuer/policy/policies/``
(docs/POLICY.md).

A policy's exact bytes are what is published, and each credential carries
``sha256(document)[:8]``, so anyone can check which rules produced a code. This module reads
and checks documents; :mod:`issuer.policy.scoring` holds the rules and the scoring, and
:mod:`issuer.policy.observations` the inputs.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import timedelta, timezone
from decimal import Decimal
from enum import StrEnum
from importlib import resources
from typing import Any

from verifier.claims import SCORE_MAX
from verifier.labels import Colour

from .observations import Kind, ObservationError, validate_observation
from .scoring import Policy
from .terms import DAY, Factor, Method, Recourse, Retention, Rounding, Rule
from .wording import TAGS, Guidance, Text

#: The policy a service scores with unless told otherwise (HEALTHCODE_POLICY).
DEFAULT_POLICY = "hangzhou-2020-v3"
#: Policy ids double as file names: nothing that could leave the policies folder.
POLICY_ID = re.compile(r"[a-z0-9-]{1,64}")
_OFFSET = re.compile(r"([+-])(0\d|1[0-4]):([0-5]\d)")
_RULE_FIELDS = {"date", "until", "days", "value", "cap"}
_FACTOR_FIELDS = {"average", "points", "at_least", "per"}
_NUMERIC_KINDS = {Kind.STEPS, Kind.SLEEP_HOURS, Kind.ALCOHOL_ML, Kind.CIGARETTES}
#: The colours a bilingual document must say what to do about.
_GUIDED = (Colour.YELLOW, Colour.RED)
#: Whether the document being read (in this thread) writes its texts in both languages.
_BILINGUAL: ContextVar[bool] = ContextVar("bilingual", default=False)

__all__ = ["DEFAULT_POLICY", "POLICY_ID", "PolicyError", "PolicyProblem", "list_policies",
           "load_policy", "parse_policy"]


class PolicyProblem(StrEnum):
    """Why a policy could not be loaded (stable strings)."""

    BAD_ID = "bad_id"  # not [a-z0-9-]{1,64}
    NOT_FOUND = "not_found"
    MALFORMED = "malformed"  # not UTF-8 TOML, or not a valid policy


class PolicyError(Exception):
    """A policy id or document was refused; ``reason`` says why, ``policy_id`` which."""

    def __init__(self, reason: PolicyProblem, policy_id: str | None, detail: str) -> None:
        super().__init__(f"policy {policy_id!r}: {detail}")
        self.reason, self.policy_id, self.detail = reason, policy_id, detail


def _folder() -> Any:
    return resources.files(__package__ or "issuer") / "policies"


def list_policies() -> list[str]:
    """Return the ids of the published policies, sorted."""
    names = (entry.name.removesuffix(".toml") for entry in _folder().iterdir()
             if entry.name.endswith(".toml"))
    return sorted(name for name in names if POLICY_ID.fullmatch(name))


def load_policy(policy_id: str) -> Policy:
    """Return the published policy ``policy_id``. Raises :class:`PolicyError` with reason
    ``bad_id`` for an id that is not ``[a-z0-9-]{1,64}`` (no paths), ``not_found``, or
    ``malformed`` for a document that does not parse or names another id."""
    if not isinstance(policy_id, str) or not POLICY_ID.fullmatch(policy_id):
        raise PolicyError(PolicyProblem.BAD_ID, str(policy_id)[:80], "not a policy id")
    try:
        document = (_folder() / f"{policy_id}.toml").read_bytes()
    except FileNotFoundError:
        raise PolicyError(PolicyProblem.NOT_FOUND, policy_id, "no such policy") from None
    policy = parse_policy(document)
    if policy.id != policy_id:
        raise PolicyError(PolicyProblem.MALFORMED, policy_id, f"the file says id {policy.id!r}")
    return policy


class _Bad(Exception):
    """A document problem, raised while reading and turned into a :class:`PolicyError`."""


def parse_policy(document: bytes) -> Policy:
    """Return the policy written in ``document`` (UTF-8 TOML, the exact published bytes).

    Raises :class:`PolicyError` (``malformed``) for anything that is not a valid policy:
    missing, mistyped or unknown keys, out-of-range numbers, bad templates.
    """
    try:
        data = tomllib.loads(document.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(PolicyProblem.MALFORMED, None, f"not UTF-8 TOML: {exc}") from None
    policy_id = data.get("id") if isinstance(data.get("id"), str) else None
    try:
        return _build(data, bytes(document))
    except _Bad as exc:
        raise PolicyError(PolicyProblem.MALFORMED, policy_id, str(exc)) from None


def _build(data: dict[str, Any], document: bytes) -> Policy:
    _only(data, "document", {"id", "version", "title", "description", "score", "colours",
                             "display", "recourse", "retention", "rules", "factors",
                             "guidance"})
    if not POLICY_ID.fullmatch(policy_id := _get(data, "id", str)):
        raise _Bad("id: not [a-z0-9-]{1,64}")
    # A document writes every text in both languages ({ zh-CN = "…", en = "…" }), or, as
    # documents did before, every text as one English string.
    _BILINGUAL.set(isinstance(data.get("title"), dict))
    score = _only(_get(data, "score", dict), "score",
                  {"base", "min", "max", "points_places", "rounding"})
    base, low, high = (_get(score, key, int, "score") for key in ("base", "min", "max"))
    places = _get(score, "points_places", int, "score")
    if not 0 <= low <= base <= high <= SCORE_MAX or not 0 <= places <= 6:
        raise _Bad(f"score: need 0 <= min <= base <= max <= {SCORE_MAX}, 0 <= points_places <= 6")
    colours = _only(_get(data, "colours", dict), "colours", {"green_at", "yellow_at"})
    green_at, yellow_at = (_get(colours, key, int, "colours") for key in ("green_at", "yellow_at"))
    if not low <= yellow_at <= green_at <= high:
        raise _Bad("colours: need min <= yellow_at <= green_at <= max")
    display = _only(_get(data, "display", dict), "display", {"utc_offset"})
    if not (offset := _OFFSET.fullmatch(_get(display, "utc_offset", str, "display"))):
        raise _Bad("display.utc_offset: write it as +08:00")
    sign = -1 if offset[1] == "-" else 1
    guidance = _guidance(_get(data, "guidance", dict, default={}))
    rules = tuple(_rule(table, f"rules[{i}]", low, high)
                  for i, table in enumerate(_get(data, "rules", list, default=[])))
    factors = tuple(_factor(table, f"factors[{i}]")
                    for i, table in enumerate(_get(data, "factors", list, default=[])))
    ids = [item.id for item in (*rules, *factors)]
    if len(set(ids)) != len(ids):
        raise _Bad("rule and factor ids must be unique")
    return Policy(
        id=policy_id, version=_positive(data, "version", "document"),
        title=_words(data, "title", "document"),
        description=_words(data, "description", "document"),
        document=document, base=base, minimum=low, maximum=high, places=places,
        rounding=_choice(Rounding, _get(score, "rounding", str, "score"), "score.rounding"),
        green_at=green_at, yellow_at=yellow_at,
        utc_offset=timezone(sign * timedelta(hours=int(offset[2]), minutes=int(offset[3]))),
        rules=rules, factors=factors, guidance=guidance,
        recourse=_recourse(_get(data, "recourse", dict, default={})),
        retention=_retention(_get(data, "retention", dict, default=None)))


def _recourse(table: dict[str, Any]) -> Recourse:
    """``[recourse]``: absent in documents before version 3 (no undo, no review deadline)."""
    table = _only(table, "recourse", {"holder_undo_hours", "review_days"})
    undo = _get(table, "holder_undo_hours", int, "recourse", default=0)
    review = _get(table, "review_days", int, "recourse", default=None)
    if not 0 <= undo <= 24 * 30 or (review is not None and not 1 <= review <= 365):
        raise _Bad("recourse: holder_undo_hours 0..720, review_days 1..365")
    return Recourse(undo=undo * 3600, review=None if review is None else review * DAY)


def _retention(table: dict[str, Any] | None) -> Retention | None:
    """``[retention]``: absent in documents before version 3 (nothing deleted)."""
    if table is None:
        return None
    names = ("observation", "credential", "appeal", "audit")
    table = _only(table, "retention", {f"{name}_days" for name in names})
    days = {name: _positive(table, f"{name}_days", "retention") for name in names}
    if days["audit"] < max(days.values()):
        raise _Bad("retention: the audit is kept at least as long as anything it speaks of")
    return Retention(**{name: value * DAY for name, value in days.items()})


def _guidance(table: dict[str, Any]) -> dict[Colour, Guidance]:
    _only(table, "guidance", {colour.value for colour in Colour})
    missing = [c.value for c in _GUIDED if c.value not in table] if _BILINGUAL.get() else []
    if missing:
        raise _Bad(f"guidance: say what to do on {' and '.join(missing)}")
    found = {}
    for name, entry in table.items():
        where = f"guidance.{name}"
        entry = _only(entry, where, {"do", "contact"})
        contact = _words(entry, "contact", where) if "contact" in entry else None
        found[Colour(name)] = Guidance(do=_words(entry, "do", where), contact=contact)
    return found


def _rule(table: Any, where: str, low: int, high: int) -> Rule:
    table = _only(table, where, {"id", "name", "kind", "matches", "window_days", "colour",
                                 "cap", "text"})
    kind = _choice(Kind, _get(table, "kind", str, where), f"{where}.kind")
    try:
        matches = tuple(validate_observation(kind, m) for m in _get(table, "matches", list, where))
    except ObservationError as exc:
        raise _Bad(f"{where}.matches: {exc}") from None
    cap = _get(table, "cap", int, where, default=None)
    if not matches or (cap is not None and not low <= cap <= high):
        raise _Bad(f"{where}: needs a value to match, and a cap within min..max")
    return Rule(id=_ident(table, where), name=_words(table, "name", where), kind=kind,
                matches=matches, window_days=_positive(table, "window_days", where),
                colour=_choice(Colour, _get(table, "colour", str, where), f"{where}.colour"),
                cap=cap, text=_template(table, "text", _RULE_FIELDS, where))


def _factor(table: Any, where: str) -> Factor:
    table = _only(table, where, {"id", "kind", "method", "window_days", "points", "at_least",
                                 "per", "text", "text_unmet"})
    kind = _choice(Kind, _get(table, "kind", str, where), f"{where}.kind")
    method = _choice(Method, _get(table, "method", str, where), f"{where}.method")
    numbers = {key: _get(table, key, int | Decimal, where, default=None)
               for key in ("points", "at_least", "per")}
    wanted = {"points", "at_least" if method is Method.THRESHOLD else "per"}
    given = {key for key, value in numbers.items() if value is not None}
    if (kind not in _NUMERIC_KINDS or given != wanted
            or not all(Decimal(numbers[key]).is_finite() for key in wanted)
            or (method is Method.PROPORTIONAL and numbers["per"] <= 0)):
        raise _Bad(f"{where}: a numeric kind with finite {' and '.join(sorted(wanted))}"
                   " (per > 0)")
    text = _template(table, "text", _FACTOR_FIELDS, where)
    return Factor(id=_ident(table, where), kind=kind, method=method,
                  window_days=_positive(table, "window_days", where),
                  **{key: None if value is None else Decimal(value)
                     for key, value in numbers.items()},
                  text=text, text_unmet=_template(table, "text_unmet", _FACTOR_FIELDS, where,
                                                  default=text))


_REQUIRED: Any = object()


def _get(table: Mapping[str, Any], key: str, kind: Any, where: str = "document",
         default: Any = _REQUIRED) -> Any:
    value = table.get(key, default)
    if value is _REQUIRED:
        raise _Bad(f"{where}.{key} is missing")
    if value is not default and (isinstance(value, bool) or not isinstance(value, kind)):
        raise _Bad(f"{where}.{key}: wrong type")
    return value


def _only(table: Any, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(table, dict):
        raise _Bad(f"{where}: expected a table")
    if unknown := set(table) - keys:
        raise _Bad(f"{where}: unknown keys {sorted(unknown)}")
    return table


def _words(table: Mapping[str, Any], key: str, where: str) -> Text:
    texts = _languages(table, key, where)
    if not all(text.strip() for text in texts.values()):
        raise _Bad(f"{where}.{key} is empty")
    return Text(**{TAGS[tag]: text.strip() for tag, text in texts.items()})


def _languages(table: Mapping[str, Any], key: str, where: str, default: Any = _REQUIRED
               ) -> dict[str, str]:
    """The text ``key`` by language tag: both tags of a bilingual document, each a string
    (a language missing is an error), or the one English string of an older document."""
    value = _get(table, key, dict if _BILINGUAL.get() else str, where, default)
    if not _BILINGUAL.get():
        return dict.fromkeys(TAGS, value)
    if set(value) != set(TAGS) or not all(isinstance(v, str) for v in value.values()):
        raise _Bad(f"{where}.{key}: write it in {' and '.join(TAGS)}: "
                   f"{{ zh-CN = \"…\", en = \"…\" }}")
    return value


def _ident(table: Mapping[str, Any], where: str) -> str:
    # Lower-case words and dashes: never "score.base" and the like, the engine's own steps.
    if not POLICY_ID.fullmatch(ident := _get(table, "id", str, where)):
        raise _Bad(f"{where}.id: not [a-z0-9-]{{1,64}}")
    return ident


def _positive(table: Mapping[str, Any], key: str, where: str) -> int:
    if (value := _get(table, key, int, where)) < 1:
        raise _Bad(f"{where}.{key}: must be at least 1")
    return value


def _choice(enum: Any, value: str, where: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        raise _Bad(f"{where}: one of {', '.join(enum)}") from None


def _template(table: Mapping[str, Any], key: str, fields: set[str], where: str,
              default: Any = _REQUIRED) -> Text:
    if key not in table and default is not _REQUIRED:
        return default
    texts = _languages(table, key, where)
    for text in texts.values():
        try:
            parts = list(string.Formatter().parse(text))
        except ValueError:
            raise _Bad(f"{where}.{key}: unbalanced braces") from None
        # Plain named fields only: no attribute or index lookups, conversions or format specs.
        if any(name is not None and (name not in fields or spec or conversion)
               for _, name, spec, conversion in parts):
            raise _Bad(f"{where}.{key}: fields are {', '.join(sorted(fields))}")
        if not text.strip():
            raise _Bad(f"{where}.{key} is empty")
    return Text(**{TAGS[tag]: text for tag, text in texts.items()})
