"""``python -m bench [--quick] [--sizes N,N] [--workers N,N] [--leaves N] [SECTION ...]``: run
the benchmarks, print a Markdown report.

The report's top heading is level 2, so it pastes as is under docs/PERFORMANCE.md's title.

Sections: verify, issue, qr, base45, scan, size, reissue, api, kiosk, kiosk-browser,
checkpoint-browser, revocation, audit, guidance, scan-distance, js-verify, js_foreign, score, load,
tlog, monitor, logappend (default: all, in that order).
``--quick`` takes fewer, shorter rounds: a smoke test of the harness, not figures to publish.
``--sizes``/``--workers``: people per store and worker counts of the reissue section, e.g.
``python -m bench reissue --sizes 10000,100000,1000000 --workers 1,2``.
``--leaves``: leaves the logappend section appends (default 1,000,000; ``--quick``: 2,000).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable

from . import (
    api,
    audit,
    checkpoint_browser,
    codec,
    distance,
    foreign,
    guidance,
    issue,
    js_foreign,
    js_verify,
    kiosk,
    kiosk_browser,
    load,
    logappend,
    machine,
    monitor,
    qr,
    qrsize,
    reissue,
    report,
    revocation,
    scan,
    score,
    tlog,
    verify_text,
)
from .timing import Settings

SECTIONS: dict[str, Callable[[Settings], report.Section]] = {
    "verify": verify_text.run,
    "foreign": foreign.run,
    "issue": issue.run,
    "qr": qr.run,
    "base45": codec.run,
    "scan": scan.run,
    "size": qrsize.run,
    "reissue": reissue.run,
    "api": api.run,
    "kiosk": kiosk.run,
    "kiosk-browser": kiosk_browser.run,
    "checkpoint-browser": checkpoint_browser.run,
    "revocation": revocation.run,
    "audit": audit.run,
    "guidance": guidance.run,
    "scan-distance": distance.run,
    "js-verify": js_verify.run,
    "js-foreign": js_foreign.run,
    "score": score.run,
    "load": load.run,
    "tlog": tlog.run,
    "monitor": monitor.run,
    "logappend": logappend.run,
}


def _counts(text: str) -> tuple[int, ...]:
    try:
        counts = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of whole numbers: {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("each number must be at least 1")
    return counts


def _count(text: str) -> int:
    counts = _counts(text)
    if len(counts) != 1:
        raise argparse.ArgumentTypeError(f"not one whole number: {text!r}")
    return counts[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sections", nargs="*", metavar="SECTION",
                        help=f"one of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smoke run: few short rounds")
    parser.add_argument("--sizes", type=_counts, help="reissue: people per store, e.g. "
                        "10000,100000,1000000")
    parser.add_argument("--workers", type=_counts, help="reissue: worker counts, e.g. 1,2")
    parser.add_argument("--leaves", type=_count, help="logappend: leaves appended in "
                        "batches (default 1,000,000)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    settings = dataclasses.replace(Settings.quick() if args.quick else Settings(),
                                   sizes=args.sizes, workers=args.workers, leaves=args.leaves)
    core = machine.pin_to_one_core()
    started = time.perf_counter()
    print(machine.describe(core))
    if args.quick:
        print("- **--quick run: smoke test only, figures not for publication**")
    summary: list[list[str]] = []
    for name in args.sections or SECTIONS:
        section = SECTIONS[name](settings)
        summary += section.summary
        print()
        print(section.body, flush=True)
    print("\n### Summary\n")
    print(report.table(["what", "result, median (min/min)", "note"], summary, align="lrl"))
    print(f"\n_Whole run: {time.perf_counter() - started:.0f} s._")
    return 0


if __name__ == "__main__":
    sys.exit(main())
