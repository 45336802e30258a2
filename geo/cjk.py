"""The Chinese font of the maps and the reports, shipped with dupopt (no download).

``geo/fonts/DupoptCJK-Regular.otf`` is a subset of Noto Sans CJK SC (SIL Open Font
License 1.1, ``geo/fonts/OFL.txt``; rebuilt by ``python -m geo.build_cjk_font``): the
3,755 common hanzi of GB 2312 level 1 and every CJK character of the shipped data. It is
the fallback after DejaVu Sans in every figure (:func:`register`), and a report page
embeds the part of it its own text uses (:func:`font_face_css`), so Chinese names render
on a machine without any CJK font, offline.
"""

from __future__ import annotations

import base64
import io
import re
from functools import cache, lru_cache
from pathlib import Path

__all__ = ["FAMILY", "FONT_FILE", "cjk_characters", "font_face_css", "register"]

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "DupoptCJK-Regular.otf"
#: The font's family name (what matplotlib and the page's CSS ask for).
FAMILY = "dupopt CJK"
#: CJK ideographs, CJK symbols and punctuation, full-width forms.
_CJK = re.compile(r"[\u2E80-\u2FFF\u3000-\u303F\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")


@cache
def register() -> str:
    """Make the font known to matplotlib (once per process); return its family name.

    Examples
    --------
    >>> from matplotlib import font_manager
    >>> family = register()
    >>> Path(font_manager.findfont(family, fallback_to_default=False)).name
    'DupoptCJK-Regular.otf'
    """
    import dataclasses

    from matplotlib import font_manager

    manager = font_manager.fontManager
    manager.addfont(str(FONT_FILE))
    # One weight only: bold text (titles) gets the regular glyphs for its Chinese
    # characters, rather than a warning per text and the same glyphs anyway.
    entry = next(f for f in manager.ttflist if f.fname == str(FONT_FILE))
    manager.ttflist.append(dataclasses.replace(entry, weight=700))
    return FAMILY


def cjk_characters(text: str) -> str:
    """The distinct CJK characters of ``text``, sorted.

    >>> cjk_characters("Beijing 北京市, Tianjin 天津市")
    '京北天市津'
    """
    return "".join(sorted(set(_CJK.findall(text))))


@lru_cache(maxsize=8)
def _woff(characters: str) -> bytes:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.flavor = "woff"  # zlib-compressed; WOFF 2 would need brotli
    options.layout_features = []
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # the OFL wants its notice kept
    font = TTFont(FONT_FILE, lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=characters)
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@cache
def _ready_made() -> tuple[frozenset[str], Path]:
    """The characters of the ready-made subset of the shipped data, and its file."""
    chars = FONT_FILE.with_name("DupoptCJK-data.txt")
    if not chars.is_file():
        return frozenset(), chars
    return frozenset(chars.read_text(encoding="utf-8").strip()), chars.with_suffix(".woff")


def font_face_css(text: str) -> str:
    """A CSS ``@font-face`` rule for :data:`FAMILY` whose source is a data URI holding
    only the glyphs of the CJK characters in ``text``; ``""`` when it has none.

    Characters the shipped font lacks are left to the browser's own fonts.

    Examples
    --------
    >>> font_face_css("no Chinese here")
    ''
    >>> css = font_face_css("北京市")
    >>> css.startswith('@font-face { font-family: "dupopt CJK"; src: url(data:font/woff;base64,')
    True
    >>> len(css) < 100_000
    True
    """
    characters = cjk_characters(text)
    if not characters:
        return ""
    ready, woff = _ready_made()
    if set(characters) <= ready:  # the shipped data's characters: made once, at build
        data = base64.b64encode(woff.read_bytes()).decode("ascii")
    else:
        data = base64.b64encode(_woff(characters)).decode("ascii")
    return (
        f'@font-face {{ font-family: "{FAMILY}"; src: url(data:font/woff;base64,{data}) '
        'format("woff"); font-display: block; }'
    )
