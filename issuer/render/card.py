"""The printed card's layout: a :class:`Card` (what it shows) as a PDF.

The layout is one A6 card (105 x 148 mm) with cut marks on an A4 page. It is meant to survive
black-and-white printers: the colour is written out in words on the colour band, and the QR
code is drawn as vector shapes at about 1.2 mm a module, which scans from a 150-dpi render.
Beside the code the card prints the holder's name and the last characters of their id number,
and tells the checkpoint to compare them with an ID document (:data:`CHECK_ID`).
:func:`render_card` is pure: the same card gives the same PDF bytes. What a card is and how one
is issued: :mod:`issuer.service.cards`.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from verifier.labels import Colour
from verifier.timefmt import local

from .qr import QUIET_ZONE, make_qr

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["CHECK_ID", "Card", "Fonts", "render_card"]

CHECK_ID = "Printed code: checkpoints must check the holder's ID"

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
#: Fonts for scripts DejaVu lacks, Chinese above all: the first one installed is used
#: (Debian packages fonts-wqy-microhei, fonts-droid-fallback, fonts-noto-cjk).
CJK_FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
             Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
             Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))

# Geometry, in millimetres: an A6 card centred on A4, top margin leaving room for cut marks.
PAGE_W, CARD_W, CARD_H, CARD_TOP = 210.0, 105.0, 148.0, 16.0
CARD_LEFT = (PAGE_W - CARD_W) / 2
MARGIN = 6.0
BAND_H = 22.0
#: Width of the QR code with its quiet zone.
QR_SIDE = 72.0
CUT_GAP, CUT_LEN = 2.0, 6.0

#: Band colours (RGB) and the text colour on them. All three stay readable in greyscale: green
#: and red print dark under white words, yellow light under black ones.
_BAND = {Colour.GREEN: ((0, 122, 51), 255), Colour.YELLOW: ((255, 204, 0), 0),
         Colour.RED: ((200, 16, 46), 255)}


@dataclass(frozen=True)
class Card:
    """Everything a card shows. ``text`` is the QR code's content; the rest is printed."""

    text: str
    cti: str
    colour: Colour
    score: int
    issued_at: int
    expires_at: int
    utc_offset: timezone
    holder: str
    id_tail: str
    issuer: str
    reasons: tuple[str, ...]

    def local(self, epoch: int) -> str:
        """``epoch`` as ``2026-12-02 16:40 (UTC+08:00)`` in the policy's display offset."""
        return local(epoch, self.utc_offset)


@dataclass(frozen=True)
class Fonts:
    """TrueType files for the card; without ``regular`` and ``bold`` it falls back to the PDF
    core font Helvetica (Latin-1 only: other letters are transliterated)."""

    regular: Path | None
    bold: Path | None
    cjk: Path | None = None

    @classmethod
    def installed(cls) -> Fonts:
        """DejaVu Sans (Debian fonts-dejavu-core) and the first CJK font found, if any."""
        regular, bold = _DEJAVU / "DejaVuSans.ttf", _DEJAVU / "DejaVuSans-Bold.ttf"
        have = regular.is_file() and bold.is_file()
        return cls(regular if have else None, bold if have else None,
                   next((p for p in CJK_FONTS if p.is_file()), None) if have else None)


def render_card(card: Card, fonts: Fonts | None = None) -> bytes:
    """Return the PDF of ``card``: an A4 page with one A6 card and cut marks. Deterministic:
    the same card and fonts give the same bytes."""
    pen = _Pen(fonts or _installed_fonts(), card.issued_at,
               (card.holder, card.issuer, *card.reasons))
    pdf = pen.pdf
    x0, y0 = CARD_LEFT, CARD_TOP
    inner = CARD_W - 2 * MARGIN
    _cut_marks(pdf, x0, y0)

    fill, ink = _BAND[card.colour]
    pdf.set_fill_color(*fill)
    pdf.rect(x0, y0, CARD_W, BAND_H, style="F")
    pdf.set_text_color(ink)
    pen.line(card.colour.value.upper(), x0 + MARGIN, y0 + 2, inner * 0.62, BAND_H - 4,
             size=28, bold=True)
    pen.line(f"Score {card.score}", x0 + MARGIN + inner * 0.62, y0 + 2, inner * 0.38,
             BAND_H - 4, size=16, bold=True, align="R")
    pdf.set_text_color(0)

    pen.line(f"Valid until {card.local(card.expires_at)}", x0 + MARGIN, y0 + BAND_H + 1.5,
             inner, 6, size=10, bold=True, align="C")
    qr_top = y0 + BAND_H + 8
    _draw_qr(pdf, card.text, x0 + (CARD_W - QR_SIDE) / 2, qr_top, QR_SIDE)

    y = qr_top + QR_SIDE
    pen.line(card.holder, x0 + MARGIN, y, inner, 7, size=14, bold=True, align="C", min_size=8)
    pen.line(f"ID number ending in {card.id_tail}", x0 + MARGIN, y + 7, inner, 5.5, size=10,
             align="C")
    pdf.set_line_width(0.6)
    pdf.rect(x0 + MARGIN, y + 14, inner, 8)
    pen.line(CHECK_ID, x0 + MARGIN + 1.5, y + 14, inner - 3, 8, size=8.5, bold=True, align="C")
    if card.reasons:
        why = f"Why {card.colour.value}: " + "; ".join(card.reasons)
        pen.paragraph(why, x0 + MARGIN, y + 24, inner, lines=2, size=7.5)
    pen.line(card.issuer, x0 + MARGIN, y0 + CARD_H - 11, inner, 4.5, size=8, bold=True)
    pen.line(f"Card {card.cti[:8]}, issued {card.local(card.issued_at)}", x0 + MARGIN,
             y0 + CARD_H - 6.5, inner, 4, size=7)

    pdf.set_text_color(90)
    pen.paragraph("Cut along the corner marks. Print at actual size (100 %, not \"fit to "
                  "page\") so the code keeps its size; keep the card flat and dry.",
                  x0, y0 + CARD_H + CUT_GAP + CUT_LEN + 4, CARD_W, lines=2, size=8)
    return bytes(pdf.output())


@lru_cache(maxsize=1)
def _installed_fonts() -> Fonts:
    return Fonts.installed()


#: The narrowest letter of the card's fonts, in ems (DejaVu's "i" and "l" are 0.28 em).
_NARROWEST_EM = 0.2
_MM_PER_POINT = 25.4 / 72


def _most_letters(width: float, size: float) -> int:
    """More letters than a line ``width`` mm wide can hold at ``size`` points."""
    return int(width / (size * _MM_PER_POINT * _NARROWEST_EM)) + 1


#: Letters that Unicode does not decompose into a base letter and a mark.
_PLAIN = str.maketrans({"Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ħ": "H", "ħ": "h", "ı": "i",
                        "Ŧ": "T", "ŧ": "t", "Œ": "OE", "œ": "oe"})


def _latin1(code: int) -> bool:
    """Whether the core fonts (Latin-1, printable) have the character."""
    return 32 <= code < 127 or 160 <= code < 256


class _Pen:
    """An A4 FPDF page with the card's fonts, writing text that always fits its box."""

    def __init__(self, fonts: Fonts, created: int, texts: tuple[str, ...]) -> None:
        # Imported here, not at the top: fpdf2 takes ~0.3 s to import, and every command of
        # the CLI imports this module.
        from fpdf import FPDF

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_creation_date(datetime.fromtimestamp(created, UTC))
        pdf.set_title("Health code card")
        pdf.set_auto_page_break(False)
        pdf.set_margins(0, 0)
        self.unicode = fonts.regular is not None and fonts.bold is not None
        self.covered: set[int] = set()
        if self.unicode:
            pdf.add_font("card", "", fonts.regular)
            pdf.add_font("card", "B", fonts.bold)
            # A letter is kept only when both weights have it (names are set in bold).
            self.covered = set(pdf.fonts["card"].cmap) & set(pdf.fonts["cardB"].cmap)
            # Loading a CJK font costs a quarter of a second: only for a card that needs it.
            lacking = any(ord(ch) not in self.covered for text in texts for ch in text)
            if fonts.cjk is not None and lacking:
                pdf.add_font("cjk", "", fonts.cjk)
                self.covered |= set(pdf.fonts["cjk"].cmap)
                pdf.set_fallback_fonts(["cjk"], exact_match=False)
        self.family = "card" if self.unicode else "helvetica"
        pdf.add_page()
        self.pdf = pdf

    def printable(self, text: str) -> str:
        """``text`` with every character the fonts lack transliterated (é -> e) or replaced."""
        text = " ".join(text.split())
        if self.unicode:
            ok = self.covered.__contains__
        else:
            ok = _latin1
        out = []
        for ch in text:
            if ok(ord(ch)):
                out.append(ch)
                continue
            plain = "".join(c for c in unicodedata.normalize("NFKD", ch.translate(_PLAIN))
                            if not unicodedata.combining(c))
            out.append(plain if plain and all(ok(ord(c)) for c in plain) else "?")
        return "".join(out)

    def _set(self, size: float, bold: bool) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def _width(self, text: str) -> float:
        if not self.unicode:
            return self.pdf.get_string_width(text)
        # Letters the fallback font draws are counted one em wide (CJK ideographs are).
        cmap = self.pdf.current_font.cmap
        own = "".join(ch for ch in text if ord(ch) in cmap)
        return self.pdf.get_string_width(own) + (len(text) - len(own)) * self.pdf.font_size

    def line(self, text: str, x: float, y: float, w: float, h: float, *, size: float,
             bold: bool = False, align: str = "L", min_size: float = 6.0) -> None:
        """One line in the box (x, y, w, h), shrunk to fit, cut with an ellipsis if need be."""
        # Never more letters than the box holds at min_size, however long the text: each
        # measurement costs its length (a name of 200 wide ligatures took 18 s, measured once
        # per letter cut), so the text is bounded first and cut by bisection.
        text = self.printable(text)[:_most_letters(w, min_size)]
        self._set(size, bold)
        width = self._width(text)
        if width > w and size > min_size:  # widths scale with the size: one step, then check
            size = max(math.floor(2 * size * w / width) / 2, min_size)
            self._set(size, bold)
            width = self._width(text)
        while width > w and size > min_size:
            size = max(size - 0.5, min_size)
            self._set(size, bold)
            width = self._width(text)
        if width > w:
            dots = "..." if not self.unicode else "\u2026"
            fits, cut = 0, len(text)  # text[:fits] + dots fits, text[:cut] + dots does not
            while cut - fits > 1:
                middle = (fits + cut) // 2
                if self._width(text[:middle] + dots) <= w:
                    fits = middle
                else:
                    cut = middle
            text = text[:fits].rstrip() + dots
        self.pdf.set_xy(x, y)
        self.pdf.cell(w, h, text, align=align)

    def paragraph(self, text: str, x: float, y: float, w: float, *, lines: int,
                  size: float) -> None:
        """At most ``lines`` lines of wrapped text, the last one ellipsised if cut."""
        text = self.printable(text)
        self._set(size, False)
        height = size * 0.3528 * 1.3  # points to millimetres, with leading
        words, rows = text.split(" "), []
        while words and len(rows) < lines:
            row = words.pop(0)
            while words and self._width(f"{row} {words[0]}") <= w:
                row += " " + words.pop(0)
            rows.append(row)
        for i, row in enumerate(rows):
            if i == len(rows) - 1 and words:
                self.line(row + " " + " ".join(words), x, y + i * height, w, height, size=size,
                          min_size=size)
            else:
                self.line(row, x, y + i * height, w, height, size=size, min_size=size)


def _draw_qr(pdf: FPDF, text: str, x: float, y: float, side: float) -> None:
    """The QR code of ``text`` (alphanumeric mode, ECC M) as one filled path of horizontal
    runs: a single path renders without hairline seams between modules."""
    matrix = make_qr(text).matrix
    module = side / (len(matrix) + 2 * QUIET_ZONE)
    left, top = x + QUIET_ZONE * module, y + QUIET_ZONE * module
    pdf.set_fill_color(0)
    with pdf.new_path() as path:
        path.style.fill_color = "#000000"
        path.style.stroke_color = None
        for row, cells in enumerate(matrix):
            start = None
            for col, dark in enumerate([*cells, 0]):
                if dark and start is None:
                    start = col
                elif not dark and start is not None:
                    path.rectangle(left + start * module, top + row * module,
                                   (col - start) * module, module)
                    start = None


def _cut_marks(pdf: FPDF, x: float, y: float) -> None:
    """Short lines outside each corner of the card, and a faint outline for scissors."""
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    for cx, dx in ((x, -1), (x + CARD_W, 1)):
        for cy, dy in ((y, -1), (y + CARD_H, 1)):
            pdf.line(cx + dx * CUT_GAP, cy, cx + dx * (CUT_GAP + CUT_LEN), cy)
            pdf.line(cx, cy + dy * CUT_GAP, cx, cy + dy * (CUT_GAP + CUT_LEN))
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, CARD_W, CARD_H)
    pdf.set_draw_color(0)
