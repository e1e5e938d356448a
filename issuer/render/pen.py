"""Text on the printed card that always fits its box: shrunk to a smallest size, then cut with
an ellipsis; paragraphs wrapped (Chinese between characters, other scripts between words);
letters the fonts lack transliterated. Used by :mod:`issuer.render.card`."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["CJK_FONTS", "Fonts", "Pen"]

_DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
#: Fonts for scripts DejaVu lacks, Chinese above all: the first one installed is used
#: (Debian packages fonts-wqy-microhei, fonts-droid-fallback, fonts-noto-cjk).
CJK_FONTS = (Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
             Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
             Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"))


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


class Pen:
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
        # Always emitted again: fpdf2 (2.8.9) draws a fallback-font fragment with its own Tf
        # and does not restore the font after it, so a line that ended in Chinese left the
        # next line's Latin letters drawn with the Chinese font ("120" came out as "Gre").
        self.pdf.font_family = ""
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
                  size: float, bold: bool = False) -> float:
        """At most ``lines`` lines of wrapped text, the last one ellipsised if cut; return the
        height used. Chinese wraps between any two characters (never before a closing mark),
        other scripts between words."""
        text = self.printable(text)
        self._set(size, bold)
        height = size * 0.3528 * 1.3  # points to millimetres, with leading
        tokens, rows = _TOKENS.findall(text), []
        while tokens and len(rows) < lines:
            row = [tokens.pop(0).lstrip()]
            while tokens and self._width("".join(row) + tokens[0].rstrip()) <= w:
                row.append(tokens.pop(0))
            if tokens and tokens[0] in _CLOSING and len(row) > 1:
                tokens.insert(0, row.pop())  # a closing mark takes its letter along
            rows.append("".join(row).rstrip())
        for i, row in enumerate(rows):
            rest = "".join(tokens) if i == len(rows) - 1 else ""
            self.line(row + rest, x, y + i * height, w, height, size=size, bold=bold,
                      min_size=size)
        return len(rows) * height


#: A paragraph's breakable pieces: one CJK character or mark, or a word with its spaces.
_CJK = "\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_TOKENS = re.compile(f"[{_CJK}]|[^\\s{_CJK}]+\\s*|\\s+")
#: Marks that never begin a line.
_CLOSING = set("，。、；：！？）」』》〉,.;:!?)")
