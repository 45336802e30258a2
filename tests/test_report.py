"""The HTML report: files, headline numbers, escaping, and a real headless browser."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

import optimizer
from dupopt.cli import main
from geo.reports.run_report import report_context

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "default"
    assert main(["run", "-o", str(out)]) == 0
    return out


def test_report_files(report_dir):
    """report.html, every map as PNG and SVG, and the shown tables as CSV."""
    assert (report_dir / "report.html").is_file()
    sectors = optimizer.load_scenario().sectors["sector"]
    for sector in sectors:
        for suffix in (".png", ".svg"):
            assert (report_dir / "figures" / f"sector_{sector}{suffix}").stat().st_size > 1000
    for stem in ("headline", "sector_summary", "region_summary", "regional_gap"):
        assert len(pd.read_csv(report_dir / "tables" / f"{stem}.csv")) > 0


def test_headline_numbers_equal_the_tables(report_dir):
    """Each sector sentence names its year and states the numbers of the sector summary
    table in that year; the national sentence names the years of the headline."""
    results = optimizer.read_results(report_dir)
    manifest = __import__("json").loads((report_dir / "manifest.json").read_text())
    context = report_context(results, manifest)
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    summary = results["comparison"]["sector_summary"].set_index("sector")
    assert set(summary["year"]) == {2023}
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


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("DUPOPT_REQUIRE_BROWSER"),
    reason="no chromium on this machine (CI installs it and sets DUPOPT_REQUIRE_BROWSER)",
)
def test_report_in_a_headless_browser(report_dir):
    """The report renders in Chromium with no console errors and no network request, its
    images load, and a table sorts when its header is clicked."""
    assert CHROMIUM, "DUPOPT_REQUIRE_BROWSER is set but chromium is not installed"
    sync_api = pytest.importorskip("playwright.sync_api")
    errors, requests = [], []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.goto((report_dir / "report.html").as_uri(), wait_until="load")
        broken = page.evaluate(
            "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0)"
            ".map(i => i.src)"
        )
        n_images = page.evaluate("document.images.length")
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
        browser.close()
    assert errors == []
    external = [u for u in requests if not u.startswith(report_dir.as_uri())]
    assert external == [], f"external requests: {external}"
    assert n_images >= 10 and broken == []
    assert float(first) == min(values)


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
