"""Markdown output: tables and number formats shared by every section."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .timing import Comparison, Stats


def table(headers: Sequence[str], rows: Iterable[Sequence[object]],
          align: str | None = None) -> str:
    """Return a Markdown table; ``align`` holds one of ``l``/``r`` per column (default: the
    first column left, the others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(rule) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def us(seconds: float) -> str:
    """Microseconds with a precision that fits their size."""
    value = seconds * 1e6
    if value >= 1000:
        return f"{value:,.0f}"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def per_second(seconds: float) -> str:
    return f"{1 / seconds:,.0f}"


def ratio(value: float) -> str:
    """Two decimals; four below 0.05, so that a tiny ratio does not print as 0.00."""
    return f"{value:.2f}" if value >= 0.05 else f"{value:.4f}"


def stats_us(stats: Stats) -> str:
    """``median (min)`` in microseconds."""
    return f"{us(stats.median)} ({us(stats.best)})"


def stats_ns(stats: Stats) -> str:
    """``median (min)`` in nanoseconds (sub-microsecond lookups)."""
    return f"{stats.median * 1e9:.0f} ({stats.best * 1e9:.0f})"


def stats_ms(stats: Stats) -> str:
    """``median (min)`` in milliseconds."""
    return f"{ms(stats.median)} ({ms(stats.best)})"


def ratios(comparison: Comparison) -> str:
    """``median-of-rounds (min/min)`` ratio."""
    return f"**{ratio(comparison.ratio)}** ({ratio(comparison.ratio_best)})"


@dataclass(frozen=True)
class Section:
    """A section of the report: its Markdown, and its headline rows for the summary table
    (``[what, figure, note]``)."""

    body: str
    summary: list[list[str]] = field(default_factory=list)
