"""Summaries of a scenario's data, as DataFrames that carry their name and unit.

``dupopt data check`` prints these; tests and reports consume the same frames.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from optimizer.model.results import named as _named
from optimizer.scenario.scenario import Scenario
from optimizer.scenario.schema import QUALITY_FLAGS, SPECS


def table_rows(scenario: Scenario) -> pd.DataFrame:
    """Rows per table.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> int(table_rows(load_scenario()).loc["regions", "rows"])
    34
    """
    rows = {name: len(frame) for name, frame in scenario.tables().items()}
    return _named(pd.DataFrame({"rows": pd.Series(rows)}), "rows per table", "rows")


def quality_shares(scenario: Scenario, years: str = "base") -> pd.DataFrame:
    """Share of value rows flagged reported / estimated / assumed, per table and overall.

    ``years`` as in :func:`provenance`: by default the base year's rows, what the model
    reads. Tables without rows (an optional table left out) are not listed: they have no
    shares.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> shares = quality_shares(load_scenario())
    >>> "capacity_tranches" in shares.index, bool(shares.notna().all().all())
    (False, True)
    """
    return quality_shares_of(scenario.tables(), scenario.base_year, years)


def quality_shares_of(
    tables: Mapping[str, pd.DataFrame], base_year: int, years: str = "base"
) -> pd.DataFrame:
    """:func:`quality_shares` of a scenario's tables as plain frames (tables in the order
    given), from :func:`provenance_of`."""
    p = provenance_of(tables, base_year, years)
    counts = p[list(QUALITY_FLAGS)].mul(p["rows"], axis=0).groupby(level="table", sort=False).sum()
    counts.loc["all"] = counts.sum()
    shares = counts.div(counts.sum(axis=1), axis=0)
    shares.index.name = None
    return _named(shares, f"share of value rows by quality flag ({years})", "fraction")


#: A method code opens the ``note`` of an estimated or assumed row ("M-GEM-SUM: ...").
_METHOD = r"^(M-[A-Z0-9]+(?:-[A-Z0-9]+)*)"


def provenance(scenario: Scenario, years: str = "base") -> pd.DataFrame:
    """Per table and sector (or region attribute): the value rows, the share flagged
    reported / estimated / assumed, and the method codes of the notes, most used first.

    ``years`` picks the rows of the tables keyed by year: ``"base"`` the base year's (what
    the model reads; tables without a year all count), ``"history"`` the other years'
    (the series kept for pathway work), ``"all"`` both.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> p = provenance(load_scenario())
    >>> list(p.columns)
    ['rows', 'reported', 'estimated', 'assumed', 'methods']
    >>> p.loc[("buildout", "crude_steel"), "methods"]
    'M-GEM-COUNT 28, M-GEM-FLOOR 14, M-GEM-SUM 14'
    """
    return provenance_of(scenario.tables(), scenario.base_year, years)


def provenance_of(
    tables: Mapping[str, pd.DataFrame], base_year: int, years: str = "base"
) -> pd.DataFrame:
    """:func:`provenance` of a scenario's tables as plain frames (a results folder's
    saved inputs, say): tables are listed in the order given.

    Examples
    --------
    >>> import pandas as pd
    >>> demand = pd.DataFrame({"region": ["110000"] * 3, "sector": "nev",
    ...     "year": [2022, 2023, 2023], "quality": ["reported", "estimated", "assumed"],
    ...     "note": ["", "M-SPREAD: ...", "a guess"]})
    >>> p = provenance_of({"demand": demand}, 2023)  # the 2023 rows only
    >>> r = p.loc[("demand", "nev")]
    >>> int(r["rows"]), float(r["estimated"]), float(r["assumed"]), r["methods"]
    (2, 0.5, 0.5, 'M-SPREAD 1')
    """
    if years not in {"base", "history", "all"}:
        raise ValueError(f"years must be 'base', 'history' or 'all', got {years!r}")
    parts = []
    for name, frame in tables.items():
        if "quality" not in frame.columns or not len(frame):
            continue
        spec = SPECS.get(name)
        if spec is not None and "year" in spec.key and years != "all":
            in_base = frame["year"].astype(int) == base_year
            frame = frame.loc[in_base if years == "base" else ~in_base]
        elif years == "history":
            continue
        group = next((c for c in ("sector", "attribute") if c in frame.columns), None)
        parts.append(
            pd.DataFrame(
                {
                    "table": name,
                    "group": frame[group].astype(str) if group else "all",
                    "quality": frame["quality"],
                    "method": frame["note"].astype("string").str.extract(_METHOD)[0]
                    if "note" in frame.columns
                    else pd.NA,
                }
            )
        )
    if not parts:
        empty = pd.DataFrame(columns=["rows", *QUALITY_FLAGS, "methods"])
        return _named(empty, f"provenance of the value rows ({years})", "rows; fraction")
    rows = pd.concat(parts, ignore_index=True)
    keys = ["table", "group"]
    counts = pd.crosstab([rows["table"], rows["group"]], rows["quality"])
    counts = counts.reindex(columns=list(QUALITY_FLAGS), fill_value=0)
    out = counts.div(counts.sum(axis=1), axis=0)
    out.insert(0, "rows", counts.sum(axis=1))

    def listing(codes: pd.Series) -> str:
        tally = codes.value_counts(sort=False)
        # Most used first; ties in alphabetical order so the listing is stable.
        order = sorted(range(len(tally)), key=lambda i: (-tally.iloc[i], tally.index[i]))
        tally = tally.iloc[order]
        return ", ".join(f"{code} {n}" for code, n in tally.items())

    methods = rows.dropna(subset=["method"]).groupby(keys)["method"].agg(listing)
    out["methods"] = methods.reindex(out.index).fillna("")
    order = {name: i for i, name in enumerate(tables)}
    out = out.sort_index(key=lambda level: level.map(order) if level.name == "table" else level)
    out.columns.name = None
    return _named(out, f"provenance of the value rows ({years})", "rows; fraction")


def provenance_markdown(table: pd.DataFrame) -> str:
    """The provenance table as ``data/README.md`` shows it (whole percents)."""
    lines = [
        "| table | sector or attribute | rows | reported | estimated | assumed | methods (rows) |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for (name, group), r in zip(table.index, table.itertuples(index=False), strict=True):
        lines.append(
            f"| {name} | {group} | {r.rows:,} | {r.reported:.0%} | {r.estimated:.0%} "
            f"| {r.assumed:.0%} | {r.methods} |"
        )
    return "\n".join(lines)


def designations(scenario: Scenario) -> pd.DataFrame:
    """Per sector and plan period: what the documents support, beside any national count.

    Columns: ``designated`` (regions whose row says designated), ``regions`` (all
    regions), then by basis (``priorities.basis``): ``by_name`` (the region's own document
    names the sector), ``by_umbrella_term`` (only an umbrella term such as "new energy"),
    ``national_count_only`` (no provincial document; the flag follows a national count),
    ``basis_not_given`` (a file without the ``basis`` column),
    ``not_designated`` (documents saying no); and the national count where one is shipped
    (``priority_counts``): ``count_designated`` of ``count_regions`` (NaN without).

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> d = designations(load_scenario())
    >>> d.loc[("solar_pv", "2010-2012"), ["designated", "by_name", "by_umbrella_term",
    ...     "national_count_only", "count_designated", "count_regions"]].astype(int).tolist()
    [31, 3, 3, 25, 31, 34]
    """
    p = scenario.priorities
    # Scenario files from before the basis column: every flag's basis is unknown.
    basis = p["basis"] if "basis" in p else pd.Series(None, index=p.index, dtype=object)
    yes = p["designated"].astype(bool)
    keys = [p["sector"], p["period"]]

    def count(mask: pd.Series) -> pd.Series:
        return mask.groupby(keys).sum().astype(int)

    out = pd.DataFrame(
        {
            "designated": count(yes),
            "regions": len(scenario.regions),
            "by_name": count(yes & basis.eq("provincial document")),
            "by_umbrella_term": count(yes & basis.eq("umbrella term")),
            "national_count_only": count(yes & basis.eq("national count only")),
            "basis_not_given": count(yes & basis.isna()),
            # Documented "no" (a plan's full list leaves it out); regions outside a national
            # count's scope are not counted here.
            "not_designated": count(~yes & basis.isin(["provincial document", "plan list"])),
        }
    )
    out.index.names = ["sector", "period"]
    counts = scenario.priority_counts.set_index(["sector", "period"])
    out = out.join(
        counts[["designated", "regions"]].rename(
            columns={"designated": "count_designated", "regions": "count_regions"}
        ),
        how="outer",
    )
    for column in (
        "designated",
        "by_name",
        "by_umbrella_term",
        "national_count_only",
        "basis_not_given",
    ):
        out[column] = out[column].fillna(0).astype(int)
    out["not_designated"] = out["not_designated"].fillna(0).astype(int)
    out["regions"] = len(scenario.regions)
    return _named(out, "regions designating each sector a priority, by basis", "regions")


def designation_lines(scenario: Scenario) -> list[str]:
    """The ``data check`` lines: per sector and period, the national count (where one is
    shipped) and what provincial documents support.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> import textwrap
    >>> lines = designation_lines(load_scenario())
    >>> print(textwrap.fill(next(t for t in lines if t.startswith("solar_pv 2010")), 80))
    solar_pv 2010-2012: national count 31 of 34; provincial documents name it in 3
    regions and an umbrella term in 3; 25 rest on the national count only
    """
    lines = []
    for r in designations(scenario).reset_index().itertuples(index=False):
        parts = []
        if pd.notna(r.count_designated):
            parts.append(f"national count {int(r.count_designated)} of {int(r.count_regions)}")
        if r.basis_not_given:
            parts.append(f"{r.designated} of {r.regions} regions designate it (no basis given)")
        else:
            plural = "s" * (r.by_name != 1)
            documented = f"provincial documents name it in {r.by_name} region{plural}"
            if r.by_umbrella_term:
                documented += f" and an umbrella term in {r.by_umbrella_term}"
            parts.append(documented)
        if r.national_count_only:
            parts.append(f"{r.national_count_only} rest on the national count only")
        if r.not_designated:
            parts.append(f"{r.not_designated} documented as not designating it")
        lines.append(f"{r.sector} {r.period}: " + "; ".join(parts))
    return lines


def national_balance(scenario: Scenario) -> pd.DataFrame:
    """Per sector, national totals for the base year in the sector's units.

    Columns: capacity and output (observed), domestic demand, export absorption, global
    demand, and the ratios capacity / global demand, output / global demand and
    capacity utilisation (output / capacity).
    """
    sectors = scenario.sectors.set_index("sector")
    out = pd.DataFrame(index=sectors.index)
    out["capacity_unit"] = sectors["capacity_unit"]
    out["capacity"] = scenario.observed("capacity").groupby(level="sector").sum()
    out["output"] = scenario.observed("output").groupby(level="sector").sum()
    out["domestic_demand"] = scenario.domestic_demand().groupby(level="sector").sum()
    out["export"] = scenario.market("export")
    out["global_demand"] = scenario.market("global")
    out["capacity_to_global_demand"] = out["capacity"] / out["global_demand"]
    out["output_to_global_demand"] = out["output"] / out["global_demand"]
    out["utilisation"] = out["output"] / out["capacity"]
    return _named(out, f"national balance {scenario.base_year}", "sector units (see capacity_unit)")


def headline_ratios(scenario: Scenario) -> pd.DataFrame:
    """Per sector with a global demand figure, the headline ratios with the basis of each
    figure, so that like is compared with like.

    ``global_basis`` is what the ``global`` market row counts (``markets.basis``; DC for PV,
    EV and storage for batteries). Where a ``global_alt`` row gives world demand on another
    basis, capacity and output are set against it too (``*_to_global_alt``; the observed
    capacity and output keep their own basis, so these ratios mix bases unless stated).
    Where an ``output_outside_global_scope`` row names the part of China's output outside
    the global figure's scope (consumer cells), ``output_in_global_scope`` is output less
    that part and ``output_in_scope_to_global_demand`` the like-for-like ratio.
    ``domestic_alt`` is China's own demand on another basis than ``demand.csv``.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> h = headline_ratios(load_scenario())
    >>> round(float(h.loc["li_ion_battery", "output_in_global_scope"]))
    860
    >>> h.loc["li_ion_battery", "global_basis"]
    'EV+storage'
    """
    nb = national_balance(scenario)
    m = scenario.markets
    m = m.loc[m["year"] == scenario.base_year].set_index(["sector", "market"])
    basis = m["basis"] if "basis" in m else pd.Series(None, index=m.index, dtype=object)
    publisher = scenario.sources.set_index("source_id")["publisher"]
    # The first cited source names the figure in the printed lines.
    first_id = m["source_id"].fillna("").str.split(";").str[0].str.strip()
    cited = first_id.map(publisher).fillna(first_id)

    def column(series: pd.Series, market: str) -> pd.Series:
        picked = series[series.index.get_level_values("market") == market]
        return picked.droplevel("market")

    out = nb.loc[nb["global_demand"].notna(), ["capacity", "output", "domestic_demand"]].copy()
    out["global_demand"] = nb["global_demand"]
    out["global_basis"] = column(basis, "global")
    out["global_source"] = column(cited, "global")
    out["capacity_to_global_demand"] = out["capacity"] / out["global_demand"]
    out["output_to_global_demand"] = out["output"] / out["global_demand"]
    out["global_alt"] = column(m["value"], "global_alt")
    out["global_alt_basis"] = column(basis, "global_alt")
    out["global_alt_source"] = column(cited, "global_alt")
    out["capacity_to_global_alt"] = out["capacity"] / out["global_alt"]
    out["output_to_global_alt"] = out["output"] / out["global_alt"]
    out["output_outside_global_scope"] = column(m["value"], "output_outside_global_scope")
    out["outside_basis"] = column(basis, "output_outside_global_scope")
    out["outside_source"] = column(cited, "output_outside_global_scope")
    out["output_in_global_scope"] = out["output"] - out["output_outside_global_scope"]
    out["output_in_scope_to_global_demand"] = out["output_in_global_scope"] / out["global_demand"]
    out["domestic_alt"] = column(m["value"], "domestic_alt")
    out["domestic_alt_basis"] = column(basis, "domestic_alt")
    out["domestic_alt_source"] = column(cited, "domestic_alt")
    out["unit"] = column(m["unit"], "global")
    return _named(out, f"headline ratios {scenario.base_year}", "sector units (see unit)")


def headline_lines(scenario: Scenario) -> list[str]:
    """The ``data check`` lines: capacity and output against global demand, with the basis
    of each figure, and the like-for-like variants the data support.

    Examples
    --------
    >>> from optimizer import load_scenario
    >>> import textwrap
    >>> lines = headline_lines(load_scenario())
    >>> print(textwrap.fill(next(t for t in lines if t.startswith("solar_pv: capacity")), 80))
    solar_pv: capacity 998 / global demand 447 GW (DC, SolarPower Europe) = 2.23x;
    output 499 = 1.12x
    """

    def q(v: float) -> str:
        return f"{v:,.4g}"

    def basis(b: object, source: object) -> str:
        return f"({b}, {source})" if isinstance(b, str) and b else f"(basis not stated, {source})"

    lines = []
    for r in headline_ratios(scenario).reset_index().itertuples(index=False):
        lines.append(
            f"{r.sector}: capacity {q(r.capacity)} / global demand {q(r.global_demand)} {r.unit} "
            f"{basis(r.global_basis, r.global_source)} = {r.capacity_to_global_demand:.2f}x; "
            f"output {q(r.output)} = {r.output_to_global_demand:.2f}x"
        )
        if pd.notna(r.global_alt):
            lines.append(
                f"{r.sector}: global demand on another basis {q(r.global_alt)} {r.unit} "
                f"{basis(r.global_alt_basis, r.global_alt_source)}: capacity "
                f"{r.capacity_to_global_alt:.2f}x, output {r.output_to_global_alt:.2f}x "
                f"(mixed bases: capacity and output as counted in buildout.csv)"
            )
        if pd.notna(r.output_outside_global_scope):
            lines.append(
                f"{r.sector}: output in the scope of global demand {q(r.output_in_global_scope)} "
                f"({q(r.output)} less {q(r.output_outside_global_scope)} {r.outside_basis}, "
                f"{r.outside_source}) = {r.output_in_scope_to_global_demand:.2f}x"
            )
        if pd.notna(r.domestic_alt):
            lines.append(
                f"{r.sector}: domestic demand {q(r.domestic_demand)} as the model uses it; "
                f"{q(r.domestic_alt)} {basis(r.domestic_alt_basis, r.domestic_alt_source)}"
            )
    return lines
