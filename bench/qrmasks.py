"""``python -m bench.qrmasks [--frames N] [--px P] [VERSION ...]``: which data mask reads best.

For each QR version (default: those of ``issuer.render.qrmask.FIXED_MASKS``), N hard camera
frames from ``bench.scanframes`` (rotation, perspective, blur, noise, glare, JPEG; about P
pixels a module, cards and phone screens alternating), each showing a random code text of that
version; the same frames (draws and texts) for each of the eight masks and for segno's mask
search. Each is read with ``verifier.image.decode_frame``, the kiosk's decoder. Prints a
Markdown table: frames read per mask (the version's best in bold), each mask's mean ISO/IEC
18004 penalty over the same texts, and the totals over the versions: the table takes the
mask of the highest total. Minutes per version.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from collections.abc import Callable

import segno
from PIL import Image

from issuer.render.qrmask import FIXED_MASKS, penalty, sample_texts
from verifier.image import decode_frame

from .scanframes import draw_for, frame


def _maker(mask: int | None) -> Callable[[str], segno.QRCode]:
    return lambda text: segno.make_qr(text, error="m", mode="alphanumeric", mask=mask,
                                      boost_error=False)


def reads(version: int, mask: int | None, frames: int, px: float) -> int:
    """How many of the version's ``frames`` hard frames decode_frame reads with ``mask``
    (None: segno's search)."""
    texts = sample_texts(version, frames, seed=4049)
    read = 0
    for seed, text in enumerate(texts):
        jpeg = frame(text, draw_for(seed, px, (640, 480)), seed, screen=bool(seed % 2),
                     make=_maker(mask))
        read += decode_frame(Image.open(io.BytesIO(jpeg)).convert("L")) == [text]
    return read


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.qrmasks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("versions", nargs="*", type=int, default=list(FIXED_MASKS))
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--px", type=float, default=1.8, help="pixels a module")
    args = parser.parse_args(argv)
    print(f"| version | {' | '.join(f'mask {m}' for m in range(8))} | search | table |")
    print("|---:|" + "---:|" * 10)
    totals = [0] * 9
    for version in args.versions:
        texts = sample_texts(version, args.frames, seed=4049)
        means = [statistics.fmean(penalty(_maker(m)(t).matrix) for t in texts)
                 for m in range(8)]
        counts = [reads(version, mask, args.frames, args.px) for mask in [*range(8), None]]
        best = max(range(8), key=lambda m: (counts[m], -means[m]))  # bold: the version's own
        cells = [f"{'**' if m == best else ''}{counts[m]}{'**' if m == best else ''} "
                 f"({means[m]:,.0f})" for m in range(8)]
        totals = [a + b for a, b in zip(totals, counts, strict=True)]
        print(f"| {version} | {' | '.join(cells)} | {counts[8]} | {FIXED_MASKS.get(version, '')}"
              " |", flush=True)
    print(f"| all | {' | '.join(str(total) for total in totals)} | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
