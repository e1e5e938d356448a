"""What a monitor of the issuer's log tells the public: counts and flags from the leaves alone.

A leaf (docs/FORMAT.md, "Transparency log") says when (``t``), what (``a``), who did it
(``by``: a token id or a role), why (``why``: a category) and, for a colour change, the colours
before and after (``from``, ``to``). Its ``who`` is a commitment that differs for every leaf of
the same person, by design, so nothing here can follow one person: every check works on counts
per actor and hour, which the leaves do support.

:class:`Tally` reads leaves one at a time (:meth:`Tally.add`) and keeps only aggregates: counts
per day (in the deployment's zone) by action, actor, reason, from and to; per (hour, actor) the
red changes and the test results recorded; the newest time seen. :meth:`Tally.findings` turns
them into :class:`Finding` flags:

- ``red_spike``: more red changes by one actor in one hour than ``Thresholds.red_per_hour``;
- ``red_without_test``: an actor's red changes in an hour outnumber the test results that same
  actor recorded in that hour. The issuer logs the colour change an observation causes in the
  same transaction, under the same actor and time, so a red change that follows a positive
  test always has its ``observation.add`` of kind ``test_result`` beside it; the rest came from
  something else (a policy re-issue, a low lifestyle score, another kind of observation, an
  edit): not proof of abuse, but what the public should look at;
- ``backdated``: a leaf dated more than ``Thresholds.backdate`` before a leaf logged earlier
  (leaves are appended in order, so their times should only grow);
- ``future``: a leaf dated after ``now`` (plus ``Thresholds.skew``).

A leaf that is not the issuer's JSON (not UTF-8 JSON, not an object, an unknown version, a time
that is not a plausible epoch second, a field that is not a short printable string) is refused
(:class:`MonitorError`, ``bad_leaf``): the log's operator signed it, so it is a fault to report,
not a row to skip. Memory is bounded by the number of distinct groups
(:data:`MAX_GROUPS`, ``too_many_groups`` beyond it), never by the number of leaves.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from .errors import TlogError

LEAF_VERSION = 1
#: The latest time a leaf may carry: 9999-12-31T23:59:59Z (anything later is garbage).
MAX_TIME = 253_402_300_799
MAX_FIELD = 128
#: Most distinct groups (day × action × actor × reason × colours, and hour × actor) kept.
MAX_GROUPS = 1_000_000
#: Most findings of each kind kept in full (the rest are counted).
MAX_FINDINGS = 1_000
HOUR, DAY = 3600, 86_400
RED = "red"
TEST_RESULT = "test_result"
_FIELDS = ("a", "by", "why", "from", "to", "kind")


class MonitorReason(StrEnum):
    """Why a monitor refused a log. Values are part of the interface (``--json`` ``reason``)."""

    BAD_LEAF = "bad_leaf"
    SPLIT_VIEW = "split_view"
    ROLLED_BACK = "rolled_back"
    TOO_MANY_GROUPS = "too_many_groups"
    BAD_STATE = "bad_state"


EXPLANATIONS: dict[MonitorReason, str] = {
    MonitorReason.BAD_LEAF: "a leaf of the log is not one the issuer writes",
    MonitorReason.SPLIT_VIEW: "two checkpoints of the same size with different roots: the log "
                              "shows different histories to different readers",
    MonitorReason.ROLLED_BACK: "the log is smaller than a checkpoint it signed before",
    MonitorReason.TOO_MANY_GROUPS: "the log has more distinct groups than a monitor keeps",
    MonitorReason.BAD_STATE: "the monitor's state file is unreadable or of another log",
}


class MonitorError(TlogError):
    """A log refused by the monitor (``reason``: a :class:`MonitorReason`), with context."""

    reasons = MonitorReason
    explanations = EXPLANATIONS


@dataclass(frozen=True)
class Thresholds:
    """When the monitor raises a flag (see the module doc)."""

    red_per_hour: int = 50
    backdate: int = HOUR
    skew: int = 300


class Leaf(NamedTuple):
    """The public fields of one leaf that the monitor counts."""

    t: int
    a: str
    by: str
    why: str | None
    from_: str | None
    to: str | None
    kind: str | None


def read_leaf(index: int, data: bytes) -> Leaf:
    """The :class:`Leaf` in ``data`` (leaf number ``index``). Raises :class:`MonitorError`
    (``bad_leaf``) for anything the issuer does not write."""
    try:
        body = json.loads(data)  # bytes: UTF-8 checked by json itself
    except (ValueError, RecursionError):
        raise MonitorError(MonitorReason.BAD_LEAF, f"leaf {index} is not JSON",
                           index=index) from None
    if not isinstance(body, dict) or body.get("v") != LEAF_VERSION:
        raise MonitorError(MonitorReason.BAD_LEAF, f"leaf {index} is not a version-1 leaf",
                           index=index)
    t = body.get("t")
    if type(t) is not int or not 0 <= t <= MAX_TIME:
        raise MonitorError(MonitorReason.BAD_LEAF, f"leaf {index} has no plausible time",
                           index=index)
    values = [body.get(name) for name in _FIELDS]
    for name, value in zip(_FIELDS, values, strict=True):
        if not (value is None and name not in ("a", "by") or _printable(value)):
            raise MonitorError(MonitorReason.BAD_LEAF,
                               f"leaf {index}: {name!r} is not a short printable string",
                               index=index, field=name)
    return Leaf(t, *values)


def _printable(value: object) -> bool:
    return isinstance(value, str) and 0 < len(value) <= MAX_FIELD and value.isprintable()


@dataclass(frozen=True)
class Finding:
    """One flag: its ``kind``, the hour (or the leaf's time) and actor, the counts, and the
    index of a leaf when it is about one leaf."""

    kind: str
    at: int
    actor: str
    count: int
    limit: int
    index: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "at": self.at, "actor": self.actor, "count": self.count,
                "limit": self.limit, "index": self.index}


@dataclass
class Tally:
    """Aggregates of a log read leaf by leaf (see the module doc). ``zone`` decides which
    day a leaf falls on; ``now`` is when the log was read."""

    zone: ZoneInfo
    now: int
    thresholds: Thresholds = field(default_factory=Thresholds)
    leaves: int = 0
    days: Counter[tuple[str, str, str, str | None, str | None, str | None]] = \
        field(default_factory=Counter)
    #: (hour, actor) -> [red changes, test results recorded]
    hours: dict[tuple[int, str], list[int]] = field(default_factory=dict)
    late: list[Finding] = field(default_factory=list)
    late_count: Counter[str] = field(default_factory=Counter)
    newest: int | None = None
    _day_of_hour: dict[int, str] = field(default_factory=dict)

    def add(self, index: int, data: bytes) -> Leaf:
        """Count leaf ``index`` (its bytes). Raises :class:`MonitorError` (``bad_leaf``,
        ``too_many_groups``)."""
        leaf = read_leaf(index, data)
        hour = leaf.t // HOUR
        day = self._day_of_hour.get(hour)
        if day is None:
            day = self._day_of_hour[hour] = datetime.fromtimestamp(
                hour * HOUR, self.zone).date().isoformat()
        colour = leaf.a == "colour.change"
        self.days[(day, leaf.a, leaf.by, leaf.why, leaf.from_ if colour else None,
                   leaf.to if colour else None)] += 1
        if colour and leaf.to == RED or leaf.a == "observation.add" and leaf.kind == TEST_RESULT:
            counts = self.hours.setdefault((hour, leaf.by), [0, 0])
            counts[0 if colour else 1] += 1
        if len(self.days) + len(self.hours) + len(self._day_of_hour) > MAX_GROUPS:
            raise MonitorError(MonitorReason.TOO_MANY_GROUPS, index=index, limit=MAX_GROUPS)
        limits = self.thresholds
        if self.newest is not None and leaf.t < self.newest - limits.backdate:
            self._late("backdated", leaf, index, self.newest - leaf.t, limits.backdate)
        if leaf.t > self.now + limits.skew:
            self._late("future", leaf, index, leaf.t - self.now, limits.skew)
        self.newest = leaf.t if self.newest is None else max(self.newest, leaf.t)
        self.leaves += 1
        return leaf

    def _late(self, kind: str, leaf: Leaf, index: int, seconds: int, limit: int) -> None:
        self.late_count[kind] += 1
        if self.late_count[kind] <= MAX_FINDINGS:
            self.late.append(Finding(kind, leaf.t, leaf.by, seconds, limit, index))

    def findings(self) -> tuple[list[Finding], Counter[str]]:
        """The flags raised (at most :data:`MAX_FINDINGS` of each kind, by time), and how
        many of each kind there were in all."""
        found: list[Finding] = list(self.late)
        total = Counter(self.late_count)
        limit = self.thresholds.red_per_hour
        for (hour, actor), (red, tests) in sorted(self.hours.items()):
            if red > limit:
                total["red_spike"] += 1
                found.append(Finding("red_spike", hour * HOUR, actor, red, limit))
            if red > tests:
                total["red_without_test"] += 1
                found.append(Finding("red_without_test", hour * HOUR, actor, red, tests))
        kept: Counter[str] = Counter()
        shown = []
        for finding in sorted(found, key=lambda f: (f.at, f.kind, f.actor)):
            kept[finding.kind] += 1
            if kept[finding.kind] <= MAX_FINDINGS:
                shown.append(finding)
        return shown, total

    def per_day(self) -> list[dict[str, Any]]:
        """The day groups, by day, then action, actor, reason, colours."""
        return [{"day": day, "action": a, "actor": by, "why": why, "from": from_, "to": to,
                 "count": count}
                for (day, a, by, why, from_, to), count in
                sorted(self.days.items(), key=lambda item: tuple(str(k) for k in item[0]))]

    def colour_days(self) -> dict[str, Counter[str]]:
        """Colour changes per day by the colour changed to: ``{day: {colour: count}}``."""
        out: dict[str, Counter[str]] = {}
        for (day, a, _by, _why, _from, to), count in self.days.items():
            if a == "colour.change":
                out.setdefault(day, Counter())[str(to)] += count
        return dict(sorted(out.items()))

    def red_by_actor(self) -> Counter[str]:
        """Red changes per actor over the whole log."""
        out: Counter[str] = Counter()
        for (_hour, actor), (red, _tests) in self.hours.items():
            out[actor] += red
        return out
