"""Timing that survives a shared machine: batches, repeats, medians, and paired ratios.

A figure is never one long loop. Each function is called in batches of about
``Settings.batch_seconds``; a *round* times one batch, and a figure is the median (and the
minimum) over rounds. A comparison interleaves the candidate's and the baseline's batches round
by round, alternating which goes first, and reports the median of the per-round ratios: a
neighbour's burst of load slows both sides of the same round, so it cancels out of the ratio.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat

Call = Callable[[], object]


@dataclass(frozen=True)
class Settings:
    """How long to measure. ``quick`` is for a smoke run, not for figures."""

    rounds: int = 21
    batch_seconds: float = 0.04
    #: Rounds and batch length for calls that take milliseconds (image decoding).
    slow_rounds: int = 11
    slow_batch_seconds: float = 0.1
    #: Store sizes and worker counts of the reissue section (``--sizes``, ``--workers``);
    #: None: its own defaults.
    sizes: tuple[int, ...] | None = None
    workers: tuple[int, ...] | None = None
    #: Leaves the logappend section appends in batches (``--leaves``); None: its default.
    leaves: int | None = None

    @classmethod
    def quick(cls) -> Settings:
        return cls(rounds=3, batch_seconds=0.005, slow_rounds=3, slow_batch_seconds=0.01)

    def slow(self) -> Settings:
        """The settings for millisecond-scale calls."""
        return Settings(self.slow_rounds, self.slow_batch_seconds, self.slow_rounds,
                        self.slow_batch_seconds)


@dataclass(frozen=True)
class Stats:
    """Seconds per call, one sample per round."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def best(self) -> float:
        return min(self.samples)

    @property
    def median_us(self) -> float:
        return self.median * 1e6

    @property
    def best_us(self) -> float:
        return self.best * 1e6


@dataclass(frozen=True)
class Comparison:
    """A candidate timed against a baseline in interleaved rounds.

    Ratios are throughputs, candidate over baseline (= baseline time / candidate time): 1.0 means
    as fast as the baseline, 0.5 means half as many calls per second.
    """

    baseline: Stats
    candidate: Stats
    paired: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """Median of the per-round ratios: the headline figure."""
        return statistics.median(self.paired)

    @property
    def ratio_best(self) -> float:
        """Ratio of the minima over rounds (each side at its least disturbed)."""
        return self.baseline.best / self.candidate.best


def time_calls(fn: Call, number: int) -> float:
    """Return the mean seconds per call of ``number`` back-to-back calls (GC paused)."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in repeat(None, number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def calls_per_batch(fn: Call, batch_seconds: float) -> int:
    """Return how many calls fill about ``batch_seconds`` (the first calls also warm up)."""
    number = 1
    while True:
        per_call = time_calls(fn, number)
        if per_call * number >= batch_seconds / 4:
            return max(1, math.ceil(batch_seconds / per_call))
        number *= 4


def measure(fn: Call, settings: Settings) -> Stats:
    """Return the per-call time of ``fn`` over ``settings.rounds`` batches."""
    number = calls_per_batch(fn, settings.batch_seconds)
    return Stats(tuple(time_calls(fn, number) for _ in range(settings.rounds)))


def compare(baseline: Call, candidate: Call, settings: Settings) -> Comparison:
    """Time ``candidate`` against ``baseline`` in interleaved rounds; see :class:`Comparison`."""
    n_base = calls_per_batch(baseline, settings.batch_seconds)
    n_cand = calls_per_batch(candidate, settings.batch_seconds)
    base: list[float] = []
    cand: list[float] = []
    for round_no in range(settings.rounds):
        if round_no % 2:
            cand.append(time_calls(candidate, n_cand))
            base.append(time_calls(baseline, n_base))
        else:
            base.append(time_calls(baseline, n_base))
            cand.append(time_calls(candidate, n_cand))
    return Comparison(Stats(tuple(base)), Stats(tuple(cand)),
                      tuple(b / c for b, c in zip(base, cand, strict=True)))
