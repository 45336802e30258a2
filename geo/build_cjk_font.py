"""Rebuild ``geo/fonts/DupoptCJK-Regular.otf``, the Chinese font of the maps and reports.

Run from the repository root on a machine with Debian's ``fonts-noto-cjk`` package::

    apt-get install fonts-noto-cjk
    python -m geo.build_cjk_font [--source /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc]

This is a maintainer's tool: nothing imports it at run time; the maps and reports only read
the file it writes (:mod:`geo.cjk`).

Source and licence
------------------
Noto Sans CJK SC Regular (the Simplified Chinese face of ``NotoSansCJK-Regular.ttc``,
Debian ``fonts-noto-cjk`` 1:20220127, upstream https://github.com/googlefonts/noto-cjk),
SIL Open Font License 1.1 (``geo/fonts/OFL.txt``; Reserved Font Name "Source"). The subset
is a Modified Version under the OFL: it carries the licence, and is renamed "dupopt CJK"
(it may not use the Reserved Font Name, and it should not pass for the full Noto font).

What it holds
-------------
The 3,755 characters of GB 2312 level 1 (the common hanzi: every provincial, prefectural
and most county names), every CJK character of the shipped data (``data/*.csv``,
``optimizer/analysis/reference_figures.csv``), CJK punctuation and the full-width forms:
about 0.8 MB instead of 19 MB. Latin text keeps DejaVu Sans (matplotlib) or the page's
font (browsers); this font is only their fallback for characters those lack. A report
embeds a further subset holding only the characters its page uses; for the shipped data
that subset is made here once (``DupoptCJK-data.woff``, its characters listed in
``DupoptCJK-data.txt``).
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "fonts" / "DupoptCJK-Regular.otf"
SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
FAMILY = "dupopt CJK"
#: The characters of the shipped data, as a ready-made WOFF, and the list of them.
DATA_WOFF = "DupoptCJK-data.woff"
DATA_CHARS = "DupoptCJK-data.txt"
#: CJK ideographs, CJK symbols and punctuation, full-width forms.
CJK = re.compile(r"[\u2E80-\u2FFF\u3000-\u303F\u3400-\u9FFF\uF900-\uFAFF\uFF00-\uFFEF]")


def gb2312_level1() -> set[str]:
    """The 3,755 hanzi of GB 2312 level 1 (rows 16-55)."""
    chars = set()
    for row in range(0xB0, 0xD8):
        for cell in range(0xA1, 0xFF):
            try:
                chars.add(bytes([row, cell]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return chars


def data_characters() -> set[str]:
    """Every CJK character in the shipped data files."""
    files = [
        *sorted((ROOT / "data").glob("*.csv")),
        ROOT / "optimizer/analysis/reference_figures.csv",
    ]
    return {c for path in files for c in CJK.findall(path.read_text(encoding="utf-8"))}


def punctuation() -> set[str]:
    return {chr(c) for c in [*range(0x3000, 0x3040), *range(0xFF01, 0xFF5F)]}


def build(source: Path = SOURCE, out: Path = OUT) -> Path:
    """Subset Noto Sans CJK SC to the characters above, rename it, write ``out``."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(source, fontNumber=2) if source.suffix == ".ttc" else TTFont(source)
    if "SC" not in font["name"].getDebugName(1):
        raise SystemExit(
            f"{source}: face 2 is {font['name'].getDebugName(1)!r}, not Noto Sans CJK SC"
        )
    options = subset.Options()
    options.layout_features = []  # no vertical forms or locale variants: Latin stays DejaVu
    options.hinting = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 13, 14]  # copyright, names, licence
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="".join(sorted(gb2312_level1() | data_characters() | punctuation())))
    subsetter.subset(font)
    names = font["name"]
    for record in list(names.names):
        if record.nameID in (1, 16):
            record.string = FAMILY
        elif record.nameID == 4:
            record.string = f"{FAMILY} Regular"
        elif record.nameID in (3, 6):
            record.string = "DupoptCJK-Regular"
    names.names = [r for r in names.names if r.nameID not in (16, 17)]  # typographic names
    if "CFF " in font:  # the PostScript name inside the CFF table, too
        cff = font["CFF "].cff
        cff.fontNames = ["DupoptCJK-Regular"]
        top = cff.topDictIndex[0]
        top.FamilyName = FAMILY
        top.FullName = f"{FAMILY} Regular"
    out.parent.mkdir(parents=True, exist_ok=True)
    font.save(out)
    # What a report of the shipped data embeds, ready-made (no subsetting per report).
    data = "".join(sorted(data_characters() | punctuation()))
    options.flavor = "woff"
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=data)
    small = TTFont(out)
    subsetter.subset(small)
    small.save(out.with_name(DATA_WOFF))
    out.with_name(DATA_CHARS).write_text(data + "\n", encoding="utf-8")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    path = build(args.source, args.out)
    print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
