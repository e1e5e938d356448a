"""The monitor's report as one self-contained HTML page: Chinese first, then English; charts
drawn as inline SVG (no script, no style sheet or font from elsewhere, no plotting library, so
a checkpoint's installation stays light); every value from the log escaped.

:func:`render` takes the :class:`~verifier.tlog.monitor.Tally` of a verified log, its findings
and the monitor's result (as ``--json`` prints it) and returns the page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from html import escape
from typing import Any

from .i18n import translations
from .timefmt import shown
from .tlog.monitor import Finding, Tally

#: Most rows of the day table and bars of a chart drawn (the --json output has them all).
MAX_ROWS, MAX_BARS = 2_000, 60
COLOURS = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
_OTHER = "#607d8b"


def N_(text: str) -> str:  # noqa: N802 (the gettext marker the catalog extractor looks for)
    return text


TITLE = N_("Public log monitor report")
SUMMARY = N_("What was checked")
PER_DAY_CHART = N_("Colour changes per day, by the colour changed to")
RED_ACTORS = N_("Red changes by actor")
FLAGS = N_("Flagged")
NO_FLAGS = N_("Nothing flagged")
CONSISTENT = N_("Consistent with the checkpoint kept from the last run")
VERIFIED = N_("Leaves verified")
PER_DAY = N_("Every leaf per day: action, actor, reason, colours")
LIMITS = N_("What a monitor can and cannot see")
LIMITS_TEXT = N_("Each leaf's commitment to a person differs from leaf to leaf, so a monitor "
                 "cannot follow one person: it counts per actor and hour. A red change "
                 "without a test result recorded by the same actor in the same hour is not "
                 "proof of abuse, but it is what the public should ask about.")
KIND_NAMES = {"red_spike": N_("Many red changes by one actor in one hour"),
              "red_without_test": N_("Red changes without a test result by the same actor"),
              "backdated": N_("A leaf dated before one logged earlier"),
              "future": N_("A leaf dated in the future")}
COLUMNS = (N_("Day"), N_("Action"), N_("Actor"), N_("Reason"), N_("Colours"), N_("Count"))
FLAG_COLUMNS = (N_("Hour or time"), N_("What"), N_("Actor"), N_("Count"), N_("Limit"))


def _both(text: str, zh: Any) -> str:
    """``text`` in Chinese, then in English (escaped)."""
    chinese = zh.gettext(text)
    english = f'<span lang="en">{escape(text)}</span>'
    return english if chinese == text else f"{escape(chinese)} {english}"


def bar_chart(bars: Sequence[tuple[str, Counter[str]]], width: int = 720) -> str:
    """An SVG stacked bar chart: one bar per ``(label, {series: value})``, stacked in the
    order of :data:`COLOURS`, then the other series; an empty string for no bars."""
    bars = list(bars)[-MAX_BARS:]
    if not bars:
        return ""
    top = max(sum(c.values()) for _, c in bars) or 1
    height, base, step = 220, 190, width / len(bars)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img">',
             f'<line x1="0" y1="{base}" x2="{width}" y2="{base}" stroke="#999"/>',
             f'<text x="2" y="12" font-size="11">{top:,}</text>']
    for i, (label, counts) in enumerate(bars):
        x, y = i * step + step * 0.15, float(base)
        series = [k for k in COLOURS if k in counts] + sorted(set(counts) - set(COLOURS))
        for name in series:
            h = counts[name] / top * (base - 20)
            y -= h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                         f'height="{h:.1f}" fill="{COLOURS.get(name, _OTHER)}">'
                         f"<title>{escape(label)} {escape(name)}: {counts[name]:,}</title>"
                         "</rect>")
        if len(bars) <= 31 or i % (len(bars) // 15 + 1) == 0:
            parts.append(f'<text x="{x:.1f}" y="{base + 14}" font-size="10">'
                         f"{escape(label[-5:])}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]], zh: Any) -> str:
    head = "".join(f"<th>{_both(h, zh)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(tally: Tally, findings: Sequence[Finding], totals: Counter[str],
           result: dict[str, Any]) -> str:
    """The page (see the module doc)."""
    zh = translations("zh_CN")
    checked = (f"{escape(result['origin'])} · {_both(VERIFIED, zh)}: {result['leaves']:,} · "
               f"{escape(shown(tally.now, 'zh_CN'))}")
    checked_more = f"<p>{_both(CONSISTENT, zh)}</p>" if result.get("history") else ""
    red = tally.red_by_actor().most_common(MAX_BARS)
    flag_rows = [[shown(f.at, "zh_CN"), f.kind, f.actor, f.count, f.limit] for f in findings]
    flags = (_table(FLAG_COLUMNS, flag_rows, zh) if findings else f"<p>{_both(NO_FLAGS, zh)}</p>")
    kinds = "".join(f"<li>{_both(KIND_NAMES[k], zh)}: {v:,}</li>"
                    for k, v in sorted(totals.items()))
    day_rows = [[d["day"], d["action"], d["actor"], d["why"] or "-",
                 f"{d['from']}→{d['to']}" if d["action"] == "colour.change" else "-",
                 d["count"]] for d in result["days"][:MAX_ROWS]]
    return "\n".join([
        "<!DOCTYPE html>", '<html lang="zh-CN">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(zh.gettext(TITLE))} · {escape(TITLE)}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
        "text-align:left}svg{max-width:100%;height:auto}span[lang=en]{color:#555}</style>",
        "</head>", "<body>",
        f"<h1>{_both(TITLE, zh)}</h1>",
        f"<h2>{_both(SUMMARY, zh)}</h2>", f"<p>{checked}</p>", checked_more,
        f"<h2>{_both(FLAGS, zh)}</h2>", f"<ul>{kinds}</ul>" if kinds else "", flags,
        f"<h2>{_both(PER_DAY_CHART, zh)}</h2>", bar_chart(list(tally.colour_days().items())),
        f"<h2>{_both(RED_ACTORS, zh)}</h2>",
        bar_chart([(actor, Counter(red=n)) for actor, n in red]),
        f"<h2>{_both(PER_DAY, zh)}</h2>", _table(COLUMNS, day_rows, zh),
        f"<h2>{_both(LIMITS, zh)}</h2>", f"<p>{_both(LIMITS_TEXT, zh)}</p>",
        "</body>", "</html>", ""])
