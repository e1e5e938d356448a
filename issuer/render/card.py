"""The printed card's layout: a :class:`Card` (what it shows) as a PDF, in Chinese and English.

The layout is one A6 card (105 x 148 mm) with a back panel below it, to fold behind the card
along the dashed line, and cut marks around both, on an A4 page. Every label is printed in
Chinese first, then English (绿码 GREEN, 健康分 Score, 有效期至 / Valid until), and times in
the deployment's zone with their offset (:func:`verifier.i18n.format_time`). The back panel
says what to do on this colour, whom to contact, when the colour changes if nothing new is
recorded, and why. It is meant to survive black-and-white printers: the colour is written out
in words on the colour band, and the QR code is drawn as vector shapes at about 1.2 mm a
module, which scans from a 150-dpi render. Beside the code the card prints the holder's name
and the last characters of their id number, and tells the checkpoint to compare them with an
ID document (:data:`CHECK_ID`). :func:`render_card` is pure: the same card gives the same PDF
bytes. What a card is and how one is issued: :mod:`issuer.service.cards`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from verifier import i18n
from verifier.labels import Colour

from .pen import CJK_FONTS, Fonts, Pen
from .qr import QUIET_ZONE, code_matrix

if TYPE_CHECKING:
    from fpdf import FPDF

__all__ = ["CHECK_ID", "CJK_FONTS", "Card", "Fonts", "Said", "render_card"]

#: Words in both languages: (Chinese, English).
Said = tuple[str, str]
TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def N_(message: str) -> str:  # noqa: N802 (the extractor's keyword)
    return message


CHECK_ID = N_("Printed code: checkpoints must check the holder's ID")
_COLOUR = {Colour.GREEN: N_("GREEN"), Colour.YELLOW: N_("YELLOW"), Colour.RED: N_("RED")}

# Geometry, in millimetres: an A6 card and its back panel centred on A4.
PAGE_W, CARD_W, CARD_H, CARD_TOP = 210.0, 105.0, 148.0, 10.0
PANEL_H = 102.0
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
class Guidance:
    """The back panel's words, each (Chinese, English) or None: ``change`` (when the colour
    changes if nothing new is recorded), ``do``, ``contact``."""

    change: Said | None
    do: Said | None
    contact: Said | None


@dataclass(frozen=True)
class Card:
    """Everything a card shows. ``text`` is the QR code's content; the rest is printed.
    ``zone``: where its times are told (the deployment's); ``reasons``: lines that explain
    the colour, each (Chinese, English); ``policy``: the id of the policy that scored it."""

    text: str
    cti: str
    colour: Colour
    score: int
    issued_at: int
    expires_at: int
    zone: tzinfo
    holder: str
    id_tail: str
    issuer: str
    reasons: tuple[Said, ...]
    guidance: Guidance | None = None
    policy: str = ""

    def when(self, epoch: int) -> Said:
        """``epoch`` in both languages, in the card's zone, its offset written out."""
        return (i18n.format_time(epoch, "zh_CN", self.zone),
                i18n.format_time(epoch, "en", self.zone))


def _zh(message: str, **fields: object) -> str:
    text = i18n.translations("zh_CN", TRANSLATIONS).gettext(message)
    return text % fields if fields else text


def _both(message: str, **fields: object) -> Said:
    return _zh(message, **fields), (message % fields if fields else message)


def render_card(card: Card, fonts: Fonts | None = None) -> bytes:
    """Return the PDF of ``card``: an A4 page with one A6 card, its back panel and cut marks.
    Deterministic: the same card and fonts give the same bytes."""
    words = [_zh(CHECK_ID), *(r[0] for r in card.reasons), card.holder, card.issuer]
    pen = Pen(fonts or _installed_fonts(), card.issued_at, tuple(words))
    pdf = pen.pdf
    x0, y0 = CARD_LEFT, CARD_TOP
    inner = CARD_W - 2 * MARGIN
    _cut_marks(pdf, x0, y0, CARD_H + PANEL_H)

    fill, ink = _BAND[card.colour]
    pdf.set_fill_color(*fill)
    pdf.rect(x0, y0, CARD_W, BAND_H, style="F")
    pdf.set_text_color(ink)
    zh, en = _both(_COLOUR[card.colour])
    pen.line(f"{zh} {en}", x0 + MARGIN, y0 + 2, inner * 0.62, BAND_H - 4, size=24, bold=True)
    score = _both(N_("Score"))
    pen.line(f"{score[0]} {score[1]} {card.score}", x0 + MARGIN + inner * 0.62, y0 + 2,
             inner * 0.38, BAND_H - 4, size=13, bold=True, align="R")
    pdf.set_text_color(0)

    until, valid = card.when(card.expires_at), _both(N_("Valid until"))
    pen.line(f"{valid[0]} {until[0]}", x0 + MARGIN, y0 + BAND_H + 1.5, inner, 5, size=10,
             bold=True, align="C")
    pen.line(f"{valid[1]} {until[1]}", x0 + MARGIN, y0 + BAND_H + 6.5, inner, 4.5, size=9,
             align="C")
    qr_top = y0 + BAND_H + 11
    _draw_qr(pdf, card.text, x0 + (CARD_W - QR_SIDE) / 2, qr_top, QR_SIDE)

    y = qr_top + QR_SIDE
    pen.line(card.holder, x0 + MARGIN, y, inner, 7, size=14, bold=True, align="C", min_size=8)
    tail = _both(N_("ID number ending in %(tail)s"), tail=card.id_tail)
    pen.line(f"{tail[0]} · {tail[1]}", x0 + MARGIN, y + 7, inner, 5.5, size=9.5, align="C")
    pdf.set_line_width(0.6)
    pdf.rect(x0 + MARGIN, y + 14, inner, 11)
    check = _both(CHECK_ID)
    pen.line(check[0], x0 + MARGIN + 1.5, y + 14.5, inner - 3, 5, size=9, bold=True,
             align="C")
    pen.line(check[1], x0 + MARGIN + 1.5, y + 19.5, inner - 3, 5, size=8, bold=True,
             align="C")
    pen.line(card.issuer, x0 + MARGIN, y0 + CARD_H - 14.5, inner, 4.5, size=8, bold=True)
    issued = card.when(card.issued_at)
    made = N_("Card %(cti)s, issued %(when)s")
    pen.line(_zh(made, cti=card.cti[:8], when=issued[0]), x0 + MARGIN, y0 + CARD_H - 10,
             inner, 4, size=7)
    pen.line(made % {"cti": card.cti[:8], "when": issued[1]}, x0 + MARGIN, y0 + CARD_H - 6,
             inner, 4, size=7)

    _back_panel(pen, card, x0, y0 + CARD_H)
    pdf.set_text_color(90)
    bottom = y0 + CARD_H + PANEL_H + CUT_GAP + CUT_LEN + 2
    pen.paragraph(_zh(_PRINTING), x0, bottom, CARD_W, lines=2, size=8)
    pen.paragraph(_PRINTING, x0, bottom + 7.5, CARD_W, lines=3, size=8)
    return bytes(pdf.output())


_PRINTING = N_("Cut along the corner marks and fold along the dashed line. Print at actual size "
               "(100 %, not \"fit to page\") so the code keeps its size; keep the card flat "
               "and dry.")


def _back_panel(pen: Pen, card: Card, x0: float, top: float) -> None:
    """Below the card, to fold behind it: what to do, whom to contact, when the colour
    changes, why; each in Chinese, then in English."""
    pdf, inner = pen.pdf, CARD_W - 2 * MARGIN
    pdf.set_draw_color(120)
    pdf.set_line_width(0.3)
    with pdf.local_context(dash_pattern={"dash": 2, "gap": 1.5}):
        pdf.line(x0, top, x0 + CARD_W, top)
    pdf.set_draw_color(0)
    fold = _both(N_("Fold here"))
    pdf.set_text_color(110)
    pen.line(f"{fold[0]} {fold[1]}", x0, top + 0.5, CARD_W, 3.5, size=6.5, align="C")
    pdf.set_text_color(0)
    x, y = x0 + MARGIN, top + 6
    what, colour = _both(N_("What to do")), _both(_COLOUR[card.colour])
    pen.line(f"{what[0]} {what[1]} · {colour[0]} {colour[1]}", x, y, inner, 6, size=12,
             bold=True)
    y += 8
    guidance = card.guidance or Guidance(None, None, None)
    if guidance.change:
        y += pen.paragraph(guidance.change[0], x, y, inner, lines=2, size=9, bold=True)
        y += pen.paragraph(guidance.change[1], x, y, inner, lines=2, size=8.5, bold=True) + 2
    if guidance.do:
        y += pen.paragraph(guidance.do[0], x, y, inner, lines=6, size=8.5)
        y += pen.paragraph(guidance.do[1], x, y, inner, lines=6, size=8) + 2
    if guidance.contact:
        contact = _both(N_("Contact: %(who)s"), who="")
        y += pen.paragraph(contact[0] + guidance.contact[0], x, y, inner, lines=3, size=8.5)
        y += pen.paragraph(contact[1] + guidance.contact[1], x, y, inner, lines=3, size=8) + 2
    if card.reasons:
        why = _both(N_("Why this colour: %(reasons)s"), reasons="")
        y += pen.paragraph(why[0] + "；".join(r[0] for r in card.reasons), x, y, inner,
                           lines=3, size=7.5)
        y += pen.paragraph(why[1] + "; ".join(r[1] for r in card.reasons), x, y, inner,
                           lines=3, size=7.5) + 2
    if card.policy:
        rules = _both(N_("Scoring policy %(id)s"), id=card.policy)
        pen.line(f"{rules[0]} · {rules[1]}", x, min(y, top + PANEL_H - 8), inner, 4, size=7)


@lru_cache(maxsize=1)
def _installed_fonts() -> Fonts:
    return Fonts.installed()


def _draw_qr(pdf: FPDF, text: str, x: float, y: float, side: float) -> None:
    """The QR code of ``text`` (alphanumeric mode, ECC M) as one filled path of horizontal
    runs: a single path renders without hairline seams between modules."""
    matrix = code_matrix(text)
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


def _cut_marks(pdf: FPDF, x: float, y: float, height: float) -> None:
    """Short lines outside each corner of the card and its panel, and a faint outline."""
    pdf.set_draw_color(0)
    pdf.set_line_width(0.2)
    for cx, dx in ((x, -1), (x + CARD_W, 1)):
        for cy, dy in ((y, -1), (y + height, 1)):
            pdf.line(cx + dx * CUT_GAP, cy, cx + dx * (CUT_GAP + CUT_LEN), cy)
            pdf.line(cx, cy + dy * CUT_GAP, cx, cy + dy * (CUT_GAP + CUT_LEN))
    pdf.set_draw_color(200)
    pdf.set_line_width(0.1)
    pdf.rect(x, y, CARD_W, height)
    pdf.set_draw_color(0)
