"""How wide a line of text is in DejaVu Sans, without a font library.

The SVG writer lays out labels, legends and margins before any browser sees the
text, so it needs each string's width. The advances below (thousandths of an em,
no kerning) were read once from matplotlib's own DejaVu Sans and DejaVu Sans Bold
(``FT2Font(path).set_size(1000, 72)``, ``load_char(c).linearHoriAdvance / 65536``,
matplotlib 3.10). A character not listed counts as a wide one (the em's 0.84), so
an estimate errs wide: a label may get a little more room than it needs, never less.
Fallback fonts (Liberation Sans, Arial) are narrower than DejaVu Sans, so the same
margins hold for them.
"""

from __future__ import annotations

_CHARS = (" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`"
          "abcdefghijklmnopqrstuvwxyz{|}~−×→←–—…€£¥₹°±≥≤·éèáíóúñçöüäßÉ’‘“”✓✗")
_REGULAR = (
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698,
    770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
    684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635,
    634, 278, 278, 579, 278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592,
    525, 636, 337, 636, 838, 838, 838, 838, 838, 500, 1000, 1000, 636, 636, 636, 636, 500, 838,
    838, 838, 318, 615, 615, 613, 278, 612, 634, 634, 550, 612, 634, 613, 630, 632, 318, 318,
    518, 518, 838, 838)
_BOLD = (
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734,
    830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
    774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716,
    712, 343, 343, 665, 343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652,
    582, 712, 365, 712, 838, 838, 838, 838, 838, 500, 1000, 1000, 696, 696, 696, 696, 500, 838,
    838, 838, 380, 678, 678, 675, 343, 687, 712, 712, 593, 687, 712, 675, 719, 683, 380, 380,
    657, 657, 838, 838)
_WIDE = 838

REGULAR = dict(zip(_CHARS, _REGULAR, strict=True))
BOLD = dict(zip(_CHARS, _BOLD, strict=True))

#: the font's height above the baseline and below it, in ems (DejaVu Sans: ascender
#: 1901, descender 483 of 2048 units); a line of text is drawn ASCENT + DESCENT high
ASCENT = 0.928
DESCENT = 0.236


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of ``text`` set at ``size`` (the font size, in the same unit as the result)."""
    table = BOLD if bold else REGULAR
    return size * sum(table.get(ch, _WIDE) for ch in text) / 1000.0
