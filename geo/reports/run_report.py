"""The HTML report: maps, charts, headline sentences and sortable tables from saved results.

The report only consumes result tables (:func:`optimizer.read_results`); it never solves.
It opens offline: images are files in the same folder, styles and the sorting script are
inline, and every string that comes from data is escaped by Jinja2.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from geo import maps
from geo.reports.html import REPORT_FILE, report_folder, table, write_page, write_tables
from optimizer.analysis.comparison import PARTS, headline_notes
from optimizer.analysis.uncertainty import range_sentence
from optimizer.model.results import NON_RESOURCE_TERMS
from optimizer.output.folders import OutputError, require_kind, staged_output, to_json
from optimizer.output.results_folder import read_results
from optimizer.scenario.readers import display_path

#: What a report adds to a folder; the rest of a results folder is results.
REPORT_ENTRIES = frozenset({REPORT_FILE, "figures", "tables"})
QUALITY = ("reported", "estimated", "assumed")


def _names(results: dict, table: str, key: str, column: str) -> dict[str, str]:
    frame = results.get("scenario", {}).get(table)
    if frame is None or column not in frame:
        return {}
    return dict(zip(frame[key].astype(str), frame[column].astype(str), strict=True))


def _last_year(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The rows of a per-year table in its last year, and that year."""
    year = int(frame["year"].max())
    return frame.loc[frame["year"] == year], year


def sector_sentences(sector_summary: pd.DataFrame, names: dict[str, str]) -> list[str]:
    """One headline sentence per sector, in the last year of the model (named), numbers
    taken from ``sector_summary``.

    Examples
    --------
    >>> s = pd.DataFrame({"sector": ["solar_pv"], "year": [2023], "regions_observed": [31],
    ...     "regions_coordinated": [12], "stranded_capacity_observed": [521.8],
    ...     "stranded_capacity_coordinated": [0.0], "stranded_debt_cny_bn_observed": [204.1],
    ...     "capacity_unit": ["GW/yr"]})
    >>> sector_sentences(s, {"solar_pv": "Solar PV modules"})[0][:68]
    'Solar PV modules in 2023: 31 divisions built capacity; the coordinat'
    """
    rows, year = _last_year(sector_summary)
    out = []
    for row in rows.itertuples(index=False):
        out.append(
            f"{names.get(row.sector, row.sector)} in {year}: {int(row.regions_observed)} "
            "divisions built "
            f"capacity; the coordinated plan uses {int(row.regions_coordinated)}; "
            f"{row.stranded_capacity_observed:,.1f} {row.capacity_unit} of capacity stranded "
            f"({row.stranded_capacity_coordinated:,.1f} in the plan); CNY "
            f"{row.stranded_debt_cny_bn_observed:,.1f} bn of debt tied to stranded capacity."
        )
    return out


def national_sentence(headline: pd.DataFrame) -> str:
    """The cost of non-coordination and stranded capital, from the ``headline`` table,
    each with the years it covers (its ``years`` column).

    Examples
    --------
    >>> h = pd.DataFrame({"metric": ["total_cost", "stranded_capital", "stranded_debt"],
    ...     "observed": [10.0, 5.0, 2.0], "coordinated": [8.0, 0.0, 0.0],
    ...     "difference": [2.0, 5.0, 2.0], "years": "2023"})
    >>> national_sentence(h)[:61]
    'Cost of non-coordination in 2023: CNY 2.0 bn per year (observ'
    """
    h = headline.set_index("metric")
    cost, stranded, debt = h.loc["total_cost"], h.loc["stranded_capital"], h.loc["stranded_debt"]
    over = "in" if "-" not in str(cost["years"]) else "over"
    return (
        f"Cost of non-coordination {over} {cost['years']}: CNY {cost['difference']:,.1f} bn "
        f"per year (observed buildout CNY {cost['observed']:,.1f} bn/yr vs coordinated plan "
        f"CNY {cost['coordinated']:,.1f} bn/yr). Stranded capital in {stranded['years']}: CNY "
        f"{stranded['observed']:,.1f} bn observed vs CNY {stranded['coordinated']:,.1f} bn in "
        f"the plan; debt tied to it: CNY {debt['observed']:,.1f} bn vs CNY "
        f"{debt['coordinated']:,.1f} bn."
    )


def quality_shares(scenario: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Share of value rows by quality flag per scenario table (from the saved inputs)."""
    counts = {
        name: frame["quality"].value_counts().reindex(QUALITY, fill_value=0)
        for name, frame in sorted(scenario.items())
        if "quality" in frame.columns and len(frame)
    }
    shares = pd.DataFrame(counts).T
    shares.loc["all"] = shares.sum()
    return shares.div(shares.sum(axis=1), axis=0)


def _figures(results: dict, folder: Path) -> dict[str, list[dict]]:
    from geo import maps

    comp = results["comparison"]
    gap, summary = comp["regional_gap"], comp["sector_summary"]
    # Every figure shows one year, the model's last, named in its title and caption.
    year = int(summary["year"].max())
    regions = results["scenario"]["regions"]
    names = _names(results, "sectors", "sector", "name")
    (folder / "figures").mkdir()
    out: dict[str, list[dict]] = {"sector": [], "region": [], "chart": []}

    def save(kind: str, fig, stem: str, title: str, caption: str) -> None:
        png, svg = maps.save_figure(fig, folder / "figures" / stem)
        out[kind].append(
            {
                "png": f"figures/{png.name}",
                "svg": f"figures/{svg.name}",
                "title": title,
                "caption": caption,
            }
        )

    fig = maps.gap_small_multiples(gap, regions, year=year)
    save(
        "sector",
        fig,
        "gap_all_sectors",
        "Gap for all sectors",
        f"Overview: observed minus coordinated capacity in {year}, every sector on one page "
        "(each map has its own symmetric scale, in the sector's capacity unit).",
    )
    for sector in summary["sector"].unique():
        fig = maps.sector_figure(gap, results["observed"]["allocation"], sector, regions, year=year)
        name = names.get(sector, sector)
        save(
            "sector",
            fig,
            f"sector_{sector}",
            name,
            f"{name}: observed and coordinated capacity, the gap, and the stranded share "
            f"of observed capacity, in {year}.",
        )
    fig = maps.region_figure(comp["region_summary"], regions, year=year)
    save(
        "region",
        fig,
        "regions",
        "Regions",
        "Debt tied to stranded capacity (observed), sectors in which each region's "
        f"observed capacity exceeds the plan, and the Krugman specialisation index, in {year}.",
    )
    save(
        "chart",
        maps.regions_bar(summary, year=year),
        "regions_with_capacity",
        "Regions with capacity",
        f"Regions with capacity per sector in {year}: observed vs coordinated.",
    )
    save(
        "chart",
        maps.stranded_chart(summary, year=year),
        "stranded",
        "Stranded capacity and debt",
        f"Stranded capital and the debt tied to it in {year} (CNY bn).",
    )
    # Resource costs only, as the headline: the unmet-demand penalty is no cost (unmet
    # demand is stated as quantities) and the stranded and debt weights only steer.
    costs = {
        mode: results[mode]["costs"].loc[lambda c: ~c["term"].isin(NON_RESOURCE_TERMS)]
        for mode in ("observed", "coordinated")
    }
    save(
        "chart",
        maps.cost_chart(costs["observed"], costs["coordinated"], year=year),
        "costs",
        "Cost breakdown",
        f"Resource cost by term in {year} (CNY bn/yr); no unmet-demand penalty or weights.",
    )
    return out


def report_context(results: dict, manifest: dict) -> dict:
    """Everything the template shows except figures: sentences, tables, sources, notes."""
    comp = results["comparison"]
    sector_names = _names(results, "sectors", "sector", "name")
    region_names = _names(results, "regions", "region", "name_en")
    summary = comp["sector_summary"]
    region_summary = comp["region_summary"].copy()
    region_summary.insert(1, "name", region_summary["region"].astype(str).map(region_names))
    gap = comp["regional_gap"].copy()
    gap.insert(1, "name", gap["region"].astype(str).map(region_names))
    tables = [
        (comp["headline"], "Headline", "see unit column", "headline"),
        (
            summary,
            "Sector summary, observed vs coordinated",
            "regions; capacity units; CNY bn; fraction",
            "sector_summary",
        ),
        (
            region_summary,
            "Region summary, observed vs coordinated",
            "CNY bn; sectors; index",
            "region_summary",
        ),
        (
            gap,
            "Capacity gap by region and sector (observed - coordinated)",
            "capacity units; CNY bn",
            "regional_gap",
        ),
    ]
    if "decomposition" in comp:  # results written before the decomposition have none
        parts = comp["decomposition"].pivot_table(
            index=["sector", "year"], columns="part", values="value", aggfunc="sum"
        )
        parts = parts[[p for p in PARTS if p in parts]].reset_index()
        tables.insert(
            1,
            (
                parts,
                "Cost of non-coordination by part, sector and year (adds up to the total)",
                "CNY bn/yr",
                "decomposition",
            ),
        )
    if "headline_range" in comp:  # dupopt run with uncertain inputs
        tables.insert(
            1,
            (
                comp["headline_range"],
                "Headline over draws of the uncertain inputs (base case, percentiles, range)",
                "see unit column; base_percentile in %",
                "headline_range",
            ),
        )
    if "non_unique" in comp and len(comp["non_unique"]):
        tables.append(
            (
                comp["non_unique"],
                "Not unique: quantities that differ between equally cheap optima, by mode "
                "and sector (max_shift: how far one of them moves along one edge)",
                "sector units",
                "non_unique",
            )
        )
    if "uncertain_inputs" in comp:
        tables.append(
            (
                comp["uncertain_inputs"],
                "Uncertain inputs and why (multipliers on the scenario's values)",
                "",
                "uncertain_inputs",
            )
        )
    notes = headline_notes(comp["headline"])  # unmet demand and fiscal limits exceeded
    if "headline_range" in comp:
        notes.insert(0, range_sentence(comp["headline_range"]))
    runs = manifest.get("runs", {})
    if any(r.get("alternative_optima") for r in runs.values()):
        notes.append(
            "Ties: other allocations reach exactly the same cost (the solver found "
            "non-basic variables with zero reduced cost), typically because regional costs "
            "are uniform in the data. Totals and costs are unique; the quantities the "
            "table 'Not unique' names are one choice among equally good ones, and every "
            "other quantity is the same in all optima."
        )
    scenario = results.get("scenario", {})
    quality = quality_shares(scenario) if scenario else pd.DataFrame(columns=QUALITY)
    sources = scenario.get("sources", pd.DataFrame()).fillna("")
    return {
        "scenario": {**manifest["scenario"], "description": _description(manifest)},
        "manifest": manifest,
        "national_sentence": national_sentence(comp["headline"]),
        "sector_sentences": sector_sentences(summary, sector_names),
        "notes": notes,
        # Floats with four significant digits, however large, as the run report shows them.
        "tables": [
            table(f, stem, title, unit, round_large=False) for f, title, unit, stem in tables
        ],
        "table_frames": {stem: f for f, _t, _u, stem in tables},
        "quality": {
            "columns": list(quality.columns),
            "rows": list(zip(quality.index, quality.to_numpy().tolist(), strict=True)),
        },
        "sources": {
            "columns": list(sources.columns),
            "rows": sources.astype(str).itertuples(index=False),
        },
        "parameters_json": to_json(manifest.get("parameters", {})),
        "manifest_json": to_json(manifest),
        "map_note": (
            "Maps use an Albers equal-area projection for China; the South China Sea "
            "islands are shown in an inset. Hatched regions hold estimated, not reported, "
            "capacity figures; grey regions are outside national planning or have no "
            "capacity."
        ),
    }


def _require_years(results: dict, folder: Path) -> None:
    """Refuse results whose tables have no ``year`` (written by an older dupopt), with
    what to do, rather than failing half-way through the drawing."""
    comp = results.get("comparison", {})
    keyed = {"sector_summary": "year", "region_summary": "year", "headline": "years"}
    missing = [
        f"comparison/{name}"
        for name, column in keyed.items()
        if name not in comp or column not in comp[name].columns
    ]
    if missing:
        raise OutputError(
            f"{display_path(folder)}: the results have no year ({', '.join(missing)}): "
            "they were written by an older dupopt, or are incomplete. Run dupopt run again "
            "to write them with this version"
        )


def _description(manifest: dict) -> str:
    s = manifest["scenario"]
    return f"Scenario '{s['name']}', base year {s['base_year']}"


def draw_report(results_dir: str | Path, folder: str | Path | None = None) -> Path:
    """Draw the maps and charts and write ``report.html``, ``figures/`` and ``tables/``
    into ``folder`` (default ``results_dir``), in place.

    Meant for a folder being built (such as the staging folder handed over by
    :func:`optimizer.write_results`'s ``report`` hook): ``folder`` must not hold a report
    yet. To (re)draw the report of a finished folder, use :func:`render_report`, which
    stages and swaps.

    Returns
    -------
    Path
        The report's HTML file.
    """
    results_dir = Path(results_dir)
    folder = Path(folder) if folder is not None else results_dir
    manifest = require_kind(results_dir, "run")
    results = read_results(results_dir)
    _require_years(results, results_dir)
    sectors = results.get("scenario", {}).get("sectors")
    names = maps.SECTOR_NAMES if sectors is None else sectors.set_index("sector")["name"]
    with maps.sector_names(dict(names)):  # the run's own sectors, in its order
        context = report_context(results, manifest)
        figures = _figures(results, folder)
    write_tables(folder, context.pop("table_frames"))
    return write_page(
        folder,
        "run.html.j2",
        **context,
        sector_figures=figures["sector"],
        region_figures=figures["region"],
        chart_figures=figures["chart"],
    )


def render_report(results_dir: str | Path, out_dir: str | Path | None = None) -> Path:
    """Draw the report of a results folder; the output folder is swapped in as a whole.

    Parameters
    ----------
    results_dir
        A folder written by ``dupopt run`` / :func:`optimizer.write_results`.
    out_dir
        Where to put the report. Default (or ``results_dir`` itself): redraw in place,
        a copy of the results plus the new report is staged and swapped for the folder.
        Another folder becomes a report folder (``report.html``, ``figures/``,
        ``tables/`` and a ``manifest.json`` of kind ``"report"``); it may be missing,
        empty or an earlier report folder, anything else is refused
        (:func:`optimizer.output.folders.check_target`).

    Returns
    -------
    Path
        The report's HTML file.

    Raises
    ------
    optimizer.output.folders.OutputError
        ``results_dir`` is not a results folder, or ``out_dir`` may not be replaced.
    """
    results_dir = Path(results_dir)
    require_kind(results_dir, "run")
    if out_dir is None or Path(out_dir).resolve() == results_dir.resolve():
        with staged_output(results_dir, "run") as stage:
            # Everything but the old report (and hidden leftovers) is carried over.
            for entry in sorted(results_dir.iterdir()):
                if entry.name in REPORT_ENTRIES or entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    shutil.copytree(entry, stage / entry.name, symlinks=True)
                else:
                    shutil.copy2(entry, stage / entry.name, follow_symlinks=False)
            draw_report(stage)
        return results_dir / REPORT_FILE
    out_dir = Path(out_dir)
    with report_folder(out_dir, results_dir, "the results folder", "run") as stage:
        draw_report(results_dir, stage)
    return out_dir / REPORT_FILE
