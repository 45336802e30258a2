"""The HTML report: files, headline numbers, escaping, and a real headless browser."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from geo.reports.run_report import report_context

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Where the browser test leaves its screenshots for a reviewer (besides its tmp dir).
SCREENSHOTS = os.environ.get("DUPOPT_SCREENSHOTS")


class Cells(HTMLParser):
    """Every table cell of a page: its table's id (or index), class and text; headers too."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[dict] = []
        self._tables: list[int] = []
        self._n = 0
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._n += 1
            self._tables.append(self._n)
        elif tag in ("td", "th") and self._tables:
            self._cell = {"tag": tag, "table": self._tables[-1], "text": "", **attrs}

    def handle_endtag(self, tag):
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag in ("td", "th") and self._cell is not None:
            self._cell["text"] = self._cell["text"].strip()
            self.cells.append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def cells(html: str) -> list[dict]:
    parser = Cells()
    parser.feed(html)
    return parser.cells


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "default"
    assert main(["run", "-o", str(out)]) == 0
    return out


def test_report_files(report_dir):
    """report.html, every figure as PNG only (SVG on request), the shown tables as CSV,
    and the whole folder of the default run under 5 MB."""
    assert (report_dir / "report.html").is_file()
    sectors = optimizer.load_scenario().sectors["sector"]
    for sector in sectors:
        assert (report_dir / "figures" / f"sector_{sector}.png").stat().st_size > 1000
    assert not list((report_dir / "figures").glob("*.svg"))
    for stem in ("headline", "sector_summary", "region_summary", "regional_gap", "concentration"):
        assert len(pd.read_csv(report_dir / "tables" / f"{stem}.csv")) > 0
    size = sum(p.stat().st_size for p in report_dir.rglob("*") if p.is_file())
    assert size < 5_000_000, f"the report folder holds {size:,} bytes"


def test_svg_figures_on_request(report_dir, tmp_path):
    out = tmp_path / "both"
    assert main(["report", str(report_dir), "-o", str(out), "--figure-format", "both"]) == 0
    figures = out / "figures"
    pngs, svgs = sorted(figures.glob("*.png")), sorted(figures.glob("*.svg"))
    assert len(pngs) == len(svgs) == len(list((report_dir / "figures").glob("*.png")))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'href="figures/sector_solar_pv.svg"' in html
    svg_only = tmp_path / "svg"
    assert main(["report", str(report_dir), "-o", str(svg_only), "--figure-format", "svg"]) == 0
    assert not list((svg_only / "figures").glob("*.png"))
    assert 'src="figures/sector_solar_pv.svg"' in (svg_only / "report.html").read_text("utf-8")


def test_single_file_report_holds_everything(report_dir, tmp_path):
    """--single-file: one report.html whose images and CSV links are data URIs; no
    figures/ folder and no reference to a file beside it."""
    out = tmp_path / "single"
    assert main(["report", str(report_dir), "-o", str(out), "--single-file"]) == 0
    assert not (out / "figures").exists()
    html = (out / "report.html").read_text(encoding="utf-8")
    sources = re.findall(r'<img src="([^"]+)"', html)
    assert len(sources) >= 12 and all(s.startswith("data:image/png;base64,") for s in sources)
    links = re.findall(r'href="([^"#][^"]*)"', html)
    assert links and all(link.startswith("data:") for link in links), links[:5]
    csv = next(link for link in links if link.startswith("data:text/csv"))
    text = base64.b64decode(csv.split(",", 1)[1]).decode("utf-8")
    assert text.splitlines()[0].startswith("metric,")


def test_headline_numbers_equal_the_tables(report_dir):
    """Each sector sentence names its year and states the numbers of the sector summary
    table in that year, sectors ordered by stranded capital; the national sentence names
    the years of the headline."""
    results = optimizer.read_results(report_dir)
    manifest = json.loads((report_dir / "manifest.json").read_text())
    context = report_context(results, manifest)
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    summary = results["comparison"]["sector_summary"].set_index("sector")
    assert set(summary["year"]) == {2023}
    summary = summary.sort_values("stranded_capital_cny_bn_observed", ascending=False)
    names = results["scenario"]["sectors"].set_index("sector")["name"]
    for sentence, (sector, row) in zip(
        context["sector_sentences"], summary.iterrows(), strict=True
    ):
        assert sentence.startswith(f"{names[sector]} in 2023: ")
        sentence_numbers = sentence.removeprefix(f"{names[sector]} in 2023: ")
        numbers = [
            float(n.replace(",", "")) for n in re.findall(r"\d[\d,]*\.?\d*", sentence_numbers)
        ]
        assert numbers[0] == row["regions_observed"]
        assert numbers[1] == row["regions_coordinated"]
        assert numbers[2] == pytest.approx(round(row["stranded_capacity_observed"], 1))
        assert numbers[-1] == pytest.approx(round(row["stranded_debt_cny_bn_observed"], 1))
        assert sentence in html
    head = results["comparison"]["headline"].set_index("metric")
    cost = f"in 2023: CNY {head.loc['total_cost', 'difference']:,.1f} bn per year"
    assert cost in context["national_sentence"] and cost in html
    assert "Stranded capital in 2023: CNY" in context["national_sentence"]


def test_the_page_opens_with_the_answer_its_range_and_its_scale(report_dir):
    """The first section holds the cost of non-coordination, stranded capital and the
    debt tied to it, as the headline table has them, with the headline_range's 5th-95th
    percentiles and their share of system cost and GDP; then the PV case."""
    results = optimizer.read_results(report_dir)
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    head = results["comparison"]["headline"].set_index("metric")
    ranges = results["comparison"]["headline_range"].set_index("metric")
    html = unescape(html)  # compare text as the reader sees it
    answer = html[html.index('<section id="answer">') : html.index('<section id="focus">')]
    expected = {
        "total_cost": (head.loc["total_cost", "difference"], "cost_of_non_coordination"),
        "stranded_capital": (head.loc["stranded_capital", "observed"], "stranded_capital_observed"),
        "stranded_debt": (head.loc["stranded_debt", "observed"], "stranded_debt_observed"),
    }
    cards = {
        re.match(r' data-metric="(\w+)"', part).group(1): part
        for part in answer.split('<div class="card"')[1:]
    }
    assert list(cards) == list(expected)  # in this order, first on the page
    for metric, (value, range_metric) in expected.items():
        card = cards[metric]
        assert f'<span class="value">{value:,.1f}</span>' in card
        r = ranges.loc[range_metric]
        assert f"Range: {r['p05']:,.1f}–{r['p95']:,.1f}" in card
    cost = head.loc["total_cost"]
    share = 100 * cost["difference"] / cost["observed"]
    assert f"{share:.1f} % of the observed buildout's system cost" in answer
    # GDP of the base year (the shipped table also has 2015-2024).
    gdp = results["scenario"]["region_attributes"].query("attribute == 'gdp' and year == 2023")
    gdp = gdp["value"].sum()
    assert f"of the provinces' combined GDP (CNY {gdp:,.0f} bn" in answer
    # The PV case comes next, its title from the numbers.
    pv = results["comparison"]["sector_summary"].set_index("sector").loc["solar_pv"]
    focus = html[html.index('<section id="focus">') :]
    assert focus.index("provinces, not") < 400
    assert (
        f"in {int(pv['regions_coordinated'])} provinces, not {int(pv['regions_observed'])}"
        in focus[:400]
    )
    assert "31 of 34 provincial-level divisions designated it a priority" in focus
    assert "against global demand of" in focus and " times" in focus


def test_tables_are_formatted_for_reading(report_dir):
    """On the rendered page: no exponent and no float noise in any number, years without
    a thousands separator, human headers with units, text left and numbers right."""
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    found = cells(html)
    headers = [c for c in found if c["tag"] == "th"]
    data = [c for c in found if c["tag"] == "td"]
    assert len(data) > 1000
    for c in headers:
        assert "_" not in c["text"], c
    assert "Stranded capital, observed (CNY bn)" in {c["text"] for c in headers}
    assert "Utilisation, observed (%)" in {c["text"] for c in headers}
    numbers = [c for c in data if c.get("class") == "num"]
    texts = [c for c in data if c.get("class") == "text"]
    assert numbers and texts and len(numbers) + len(texts) == len(data)
    for c in numbers:
        assert not re.search(r"\d[eE][+-]?\d", c["text"]), c
        value = c.get("data-value")
        if value and value not in ("", "nan") and abs(float(value)) < 1e-9:
            assert c["text"].rstrip(" %") in ("0", "0.0", "0.00", "0.000"), c
    # Years: the year columns show 2023, never 2,023.
    years = [c for c in data if c.get("data-value") == "2023"]
    assert years and all(c["text"] == "2023" for c in years)
    # Number columns hold numbers (or nothing), right-aligned by their class.
    number = r"[-+]?[\d,.]*( %)?"
    assert all(re.fullmatch(rf"{number}( → {number})?|yes|no", c["text"]) for c in numbers)
    # Large numbers carry thousands separators.
    assert any(re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d)?", c["text"]) for c in numbers)


def test_concentration_is_measured_by_share_on_the_page(report_dir):
    """The page shows per sector and mode the provinces holding >= 5 % of national
    capacity, the HHI and the top-three share, as the concentration function gives them."""
    from optimizer.analysis.concentration import concentration

    results = optimizer.read_results(report_dir)
    table = concentration({m: results[m]["allocation"] for m in ("observed", "coordinated")})
    saved = pd.read_csv(report_dir / "tables" / "concentration.csv")
    assert len(saved) == len(table) == 2 * len(results["comparison"]["sector_summary"])
    merged = saved.merge(table, on=["sector", "year", "mode"], suffixes=("", "_fn"))
    assert (merged["regions_at_or_above_share"] == merged["regions_at_or_above_share_fn"]).all()
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    pv = table.set_index(["sector", "mode"]).loc["solar_pv"]
    holders = (
        f"{int(pv.loc['observed', 'regions_at_or_above_share'])} → "
        f"{int(pv.loc['coordinated', 'regions_at_or_above_share'])}"
    )
    assert holders in html
    assert "Holding at least 5% of national capacity" in html


def test_the_page_embeds_the_chinese_glyphs_it_uses(report_dir):
    """Chinese names render without a CJK font on the machine: the page embeds a subset
    of the shipped font holding every CJK character it shows."""
    from fontTools.ttLib import TTFont

    from geo.cjk import cjk_characters

    html = (report_dir / "report.html").read_text(encoding="utf-8")
    match = re.search(r"url\(data:font/woff;base64,([A-Za-z0-9+/=]+)\)", html)
    assert match, "no embedded font"
    font = TTFont(io.BytesIO(base64.b64decode(match.group(1))))
    cmap = font.getBestCmap()
    body = html[html.index("<body>") :]
    used = cjk_characters(body)
    assert "北" in used and "京" in used
    assert [c for c in used if ord(c) not in cmap] == []
    assert '"dupopt CJK"' in html[: html.index("</style>")]


def test_markup_in_names_is_escaped(tmp_path):
    """A region or sector name containing <script> appears escaped in the report."""
    scenario = tmp_path / "scenario"
    shutil.copytree(
        optimizer.default_data_dir(), scenario, ignore=shutil.ignore_patterns("*.gpkg", "README.md")
    )
    regions = pd.read_csv(scenario / "regions.csv", dtype=str)
    regions.loc[regions["region"] == "320000", "name_en"] = "<script>alert('x')</script>"
    regions.to_csv(scenario / "regions.csv", index=False)
    sectors = pd.read_csv(scenario / "sectors.csv", dtype=str)
    sectors.loc[sectors["sector"] == "cement", "name"] = "Cement <b onmouseover=x>"
    sectors.to_csv(scenario / "sectors.csv", index=False)
    out = tmp_path / "out"
    assert main(["run", str(scenario), "-o", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Cement &lt;b onmouseover=x&gt;" in html
    assert "<script>alert" not in html and "<b onmouseover" not in html


def test_report_redraws_from_saved_results(report_dir, tmp_path):
    """`dupopt report` redraws the report from a results folder without solving."""
    out = tmp_path / "redrawn"
    assert main(["report", str(report_dir), "-o", str(out)]) == 0
    assert (out / "report.html").read_text(encoding="utf-8") == (
        report_dir / "report.html"
    ).read_text(encoding="utf-8")


def test_report_of_a_folder_without_results_fails_cleanly(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 1
    assert "not a dupopt results folder" in capsys.readouterr().err


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
needs_browser = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("DUPOPT_REQUIRE_BROWSER"),
    reason="no chromium on this machine (CI installs it and sets DUPOPT_REQUIRE_BROWSER)",
)


def _shots(tmp_path: Path) -> list[Path]:
    """Where the screenshots go: the test's tmp dir, and DUPOPT_SCREENSHOTS when set."""
    folders = [tmp_path / "screenshots"]
    if SCREENSHOTS:
        folders.append(Path(SCREENSHOTS))
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    return folders


@needs_browser
def test_report_in_a_headless_browser(report_dir, tmp_path):
    """The report renders in Chromium with no console error and no request outside its
    folder; images load; a table sorts on a header click; pointing at a province shows
    its figures; clicking it opens its section; the first section's numbers are the
    result tables'; nothing is wider than a 1440 px window. Screenshots at 1440 and
    390 px are left for a reviewer."""
    assert CHROMIUM, "DUPOPT_REQUIRE_BROWSER is set but chromium is not installed"
    sync_api = pytest.importorskip("playwright.sync_api")
    results = optimizer.read_results(report_dir)
    head = results["comparison"]["headline"].set_index("metric")
    ranges = results["comparison"]["headline_range"].set_index("metric")
    labels = results["scenario"]["regions"].set_index("region")
    errors, requests = [], []
    folders = _shots(tmp_path)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((report_dir / "report.html").as_uri(), wait_until="load")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src)"
        )
        n_images = page.evaluate("document.images.length")
        overflow = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        cards = page.evaluate(
            "Array.from(document.querySelectorAll('#answer .card')).map(c => "
            "[c.dataset.metric, c.querySelector('.value').textContent, "
            "c.querySelector('.range').dataset.p05, c.querySelector('.range').dataset.p95])"
        )
        for folder in folders:
            page.screenshot(path=str(folder / "report-1440.png"))
        # Point at Sichuan on the PV maps: the hover text is its own.
        shape = page.locator('#fig-sector_solar_pv use[href="#shape-510000"]').first
        shape.scroll_into_view_if_needed()
        box = shape.bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        page.mouse.move(x, y)
        under = page.evaluate(
            f"document.elementFromPoint({x}, {y}).closest('[data-tip]').getAttribute('data-tip')"
        )
        tip_visible = page.locator("#tip").is_visible()
        tip = page.locator("#tip").inner_text()
        for folder in folders:
            page.screenshot(path=str(folder / "report-1440-hover.png"))
        page.mouse.click(x, y)
        page.wait_for_function("document.getElementById('province-510000').open")
        opened = page.evaluate("location.hash")
        table = page.locator("table.sortable").nth(1)
        table.locator("th").nth(1).click()
        first = table.locator("tbody tr").first.locator("td").nth(1).get_attribute("data-value")
        values = [
            float(v)
            for v in table.locator("tbody td:nth-child(2)").evaluate_all(
                "cells => cells.map(c => c.getAttribute('data-value'))"
            )
            if v
        ]
        narrow = browser.new_page(viewport={"width": 390, "height": 844})
        narrow.on("pageerror", lambda e: errors.append(str(e)))
        narrow.goto((report_dir / "report.html").as_uri(), wait_until="load")
        for folder in folders:
            narrow.screenshot(path=str(folder / "report-390.png"))
        browser.close()
    assert errors == []
    external = [u for u in requests if not u.startswith((report_dir.as_uri(), "data:"))]
    assert external == [], f"external requests: {external}"
    assert n_images >= 12 and broken == []
    assert overflow[0] <= overflow[1], f"the page is {overflow[0]} px wide in a 1440 px window"
    expected = {
        "total_cost": (head.loc["total_cost", "difference"], "cost_of_non_coordination"),
        "stranded_capital": (head.loc["stranded_capital", "observed"], "stranded_capital_observed"),
        "stranded_debt": (head.loc["stranded_debt", "observed"], "stranded_debt_observed"),
    }
    assert [c[0] for c in cards] == list(expected)
    for metric, shown, p05, p95 in cards:
        value, range_metric = expected[metric]
        assert shown == f"{value:,.1f}"
        assert float(p05) == pytest.approx(ranges.loc[range_metric, "p05"])
        assert float(p95) == pytest.approx(ranges.loc[range_metric, "p95"])
    sichuan = f"{labels.loc['510000', 'name_en']} {labels.loc['510000', 'name_zh']}"
    assert under.splitlines()[0] == sichuan
    assert tip_visible and tip.splitlines()[0] == sichuan
    assert "observed:" in tip and "coordinated:" in tip and "data:" in tip
    assert opened == "#province-510000"
    assert float(first) == min(values)
    for folder in folders:
        assert (folder / "report-1440.png").stat().st_size > 10_000
        assert (folder / "report-390.png").stat().st_size > 10_000


@needs_browser
def test_single_file_report_opens_offline(report_dir, tmp_path):
    """The single-file report alone (copied away from the results) shows every image and
    asks for nothing but itself."""
    sync_api = pytest.importorskip("playwright.sync_api")
    out = tmp_path / "single"
    assert main(["report", str(report_dir), "-o", str(out), "--single-file"]) == 0
    alone = tmp_path / "alone" / "report.html"
    alone.parent.mkdir()
    shutil.copy(out / "report.html", alone)
    requests, errors = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(alone.as_uri(), wait_until="load")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
        )
        n_images = page.evaluate("document.images.length")
        browser.close()
    assert errors == [] and broken == 0 and n_images >= 12
    assert [u for u in requests if not u.startswith("data:")] == [alone.as_uri()]


def test_both_report_pages_take_styles_and_sorting_from_the_shared_base():
    """The run and the sweep page extend base.html.j2; neither carries its own copy of
    the page head, the table styles or the sorting script."""
    from geo.reports.html import TEMPLATES

    base = (TEMPLATES / "base.html.j2").read_text(encoding="utf-8")
    assert "<script>" in base and "<style>" in base and "th.sorted-asc" in base
    for page in ("run.html.j2", "sweep.html.j2"):
        text = (TEMPLATES / page).read_text(encoding="utf-8")
        assert text.startswith('{%- extends "base.html.j2" -%}'), page
        for copied in ("<script>", "<style>", "<head>", "th.sorted-asc", 'table.sortable")'):
            assert copied not in text, (page, copied)


def test_figures_drawn_in_one_process_or_two_give_the_same_page(report_dir, tmp_path, monkeypatch):
    """dupopt run draws the figures while it solves the range, in two worker processes;
    with one (DUPOPT_REPORT_WORKERS=1) it draws them when the results are written. Both
    give the same page, and neither leaves its scratch folder behind."""
    import tempfile

    # A temporary folder of this test's own: other processes on the machine (another
    # test run) make and remove their scratch folders in the shared one meanwhile.
    own = tmp_path / "tmp"
    own.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(own))
    scratch = sorted(Path(tempfile.gettempdir()).glob("dupopt-figures-*"))
    monkeypatch.setenv("DUPOPT_REPORT_WORKERS", "1")
    serial = tmp_path / "serial"
    assert main(["report", str(report_dir), "-o", str(serial)]) == 0
    html = (serial / "report.html").read_text(encoding="utf-8")
    assert html == (report_dir / "report.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in (serial / "figures").iterdir()) == sorted(
        p.name for p in (report_dir / "figures").iterdir()
    )
    run = tmp_path / "run"
    assert main(["run", "-o", str(run), "--samples", "0"]) == 0
    assert (run / "report.html").is_file() and len(list((run / "figures").glob("*.png"))) >= 12
    assert sorted(Path(tempfile.gettempdir()).glob("dupopt-figures-*")) == scratch
