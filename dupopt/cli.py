"""The ``dupopt`` command line: ties the model (``optimizer``) to maps and reports (``geo``).

Exit codes: 0 success; 1 invalid input (every problem is listed); 2 wrong command-line
usage; 3 an internal error (a bug: please report it; set DUPOPT_DEBUG=1 for a traceback);
4 a solve did not reach optimality (the status and what to do are printed).
"""

from __future__ import annotations

import os
import sys
import textwrap
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import click

from optimizer.errors import DupoptError
from optimizer.model.backends import BACKENDS, REGISTRY

# pandas and the library are imported inside the commands that use them: `dupopt --help`
# and `--version` import neither (start-up time, benchmarks/bench_startup.py).
if TYPE_CHECKING:
    import pandas as pd

    from optimizer.scenario import Scenario

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL, EXIT_FAILED = 0, 1, 2, 3, 4

# The report options of `run` and `report`.
_FIGURE_FORMAT = click.option(
    "--figure-format",
    type=click.Choice(["png", "svg", "both"]),
    default="png",
    show_default=True,
    help="Files written per figure of the report (SVG maps are large).",
)
_SINGLE_FILE = click.option(
    "--single-file",
    is_flag=True,
    help="Write the report as one self-contained report.html (images and CSV links "
    "embedded), without a figures/ folder.",
)

_SCENARIO = click.argument(
    "scenario",
    required=False,
    type=click.Path(path_type=Path),
    metavar="[SCENARIO]",
)


def installed_version() -> str:
    """dupopt's version from the package metadata (nothing is imported), or the source
    tree's ``optimizer.__version__`` where dupopt is not installed."""
    from importlib import metadata

    try:
        return metadata.version("dupopt")
    except metadata.PackageNotFoundError:  # run from a checkout on PYTHONPATH
        from optimizer import __version__

        return __version__


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"dupopt {installed_version()}")
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
def cli() -> None:
    """Provincial investment-duplication optimizer.

    What would a coordinated allocation of China's priority-industry capacity have looked
    like, and how much stranded capacity and debt did duplication cost?

    SCENARIO arguments are a folder holding scenario.toml, or the TOML file itself; when
    omitted, the shipped default dataset is used.
    """


@cli.group()
def data() -> None:
    """Inspect and validate scenario data."""


@data.command("check")
@_SCENARIO
def data_check(scenario: Path | None) -> None:
    """Validate SCENARIO and print a summary of its data.

    Lists every problem found (file, line, column, what is wrong) and exits with code 1 if
    there is any. Otherwise prints regions, sectors, rows per table, the share of
    reported / estimated / assumed values, priority designations and the national balance.
    """
    import pandas as pd

    from optimizer.errors import count_issues
    from optimizer.scenario import summary

    s = _load(scenario)
    echo = click.echo
    n = count_issues(s.warnings)
    warned = f" ({n:,} warning{'s' if n != 1 else ''} on stderr)" if n else ""
    echo(f"Scenario '{s.name}' ({s.origin}) is valid{warned}. Base year {s.base_year}.")
    echo(f"Regions: {len(s.regions)} ({len(s.planning_regions)} take part in national planning)")
    echo(f"Sectors: {len(s.sectors)} ({', '.join(s.sectors['sector'])})")
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        echo("\nRows per table:")
        echo(summary.table_rows(s).T.to_string(index=False))
        echo(f"\nShare of the {s.base_year} value rows by quality flag:")
        echo(summary.quality_shares(s).map("{:.0%}".format).to_string())
        echo(
            f"\nProvenance of the {s.base_year} model inputs, per table and sector "
            "(methods: the method codes of the notes, with their rows; data/README.md "
            "says what each does):"
        )
        echo(_provenance_text(summary.provenance(s)))
        history = summary.provenance(s, "history")
        if len(history):
            echo(f"\nSeries kept for other years than {s.base_year} (not read by the model):")
            echo(_provenance_text(history))
        echo("\nPriority designations (national counts and what provincial documents support):")
        for line in summary.designation_lines(s):
            echo(f"  {line}")
        nb = summary.national_balance(s)
        echo(f"\nNational balance {s.base_year} (quantities in each sector's units):")
        # n/a: no global demand figure for the sector (an optional market row).
        echo(nb.to_string(float_format=lambda v: f"{v:,.4g}", na_rep="n/a"))
        echo("\nHeadline ratios with the basis of each figure (markets.basis):")
        for line in summary.headline_lines(s):
            echo(f"  {line}")


def _provenance_text(table: pd.DataFrame) -> str:
    """The provenance table as text: shares in whole percents, rows with separators."""
    shown = table.assign(
        rows=table["rows"].map("{:,}".format),
        **{q: table[q].map("{:.0%}".format) for q in ("reported", "estimated", "assumed")},
    )
    width = int(shown["methods"].str.len().max() or 0)
    shown["methods"] = shown["methods"].str.ljust(width)
    return shown.to_string(justify="left")


@cli.command("run")
@_SCENARIO
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the results and report. An earlier `dupopt run` output there is "
    "replaced as a whole; a folder holding anything else (or the scenario's inputs) is "
    "refused. Default: reports/<scenario name>.",
)
@click.option(
    "--backend",
    type=click.Choice(list(BACKENDS)),
    default=BACKENDS[0],
    show_default=True,
    help="How the model is rendered; all solve with HiGHS. "
    + "; ".join(f"{b.name}: {b.description}" for b in REGISTRY.values()),
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["parquet", "csv"]),
    default="parquet",
    show_default=True,
    help="File format of the result tables.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Seconds per solve before giving up.",
)
@click.option(
    "--mip-gap",
    "mip_rel_gap",
    type=click.FloatRange(min=0, max=1, max_open=True),
    default=None,
    help="With lumpy plants (a MILP): stop once the plan's cost is proven within this "
    "fraction of the optimum (default 0.0001).",
)
@click.option("--no-report", is_flag=True, help="Write the result tables only (no maps).")
@_FIGURE_FORMAT
@_SINGLE_FILE
@click.option(
    "--uncertainty",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Sweep file of the uncertain inputs ([monte_carlo], each with a reason) that give "
    "the headline its range; default: <scenario folder>/sweeps/uncertainty.toml where it "
    "exists.",
)
@click.option(
    "--samples",
    type=click.IntRange(min=0),
    default=None,
    help="Draws for the headline's range (0: no range; default: the file's samples).",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Print the solver logs on stderr (they are always written to solver.log).",
)
def run(
    scenario: Path | None,
    output: Path | None,
    backend: str,
    fmt: str,
    time_limit: float | None,
    mip_rel_gap: float | None,
    no_report: bool,
    figure_format: str,
    single_file: bool,
    uncertainty: Path | None,
    samples: int | None,
    verbose: bool,
) -> None:
    """Solve the coordinated plan, evaluate the observed buildout, compare, and write.

    Writes <OUTPUT>/coordinated/*, <OUTPUT>/observed/* (allocation, shipments, exports,
    unmet demand, debt, cost terms, marginal costs), <OUTPUT>/comparison/* (regional gap,
    sector and region summaries, headline), <OUTPUT>/scenario/* (the inputs) and
    manifest.json; then the report: <OUTPUT>/report.html with maps and charts in
    <OUTPUT>/figures (PNG; SVG with --figure-format) and the tables it shows in
    <OUTPUT>/tables (CSV).
    Prints the headline.
    """
    from optimizer.analysis.comparison import compare, headline_notes
    from optimizer.model import evaluate_observed, solve
    from optimizer.model.solver_log import tail
    from optimizer.output.folders import check_target
    from optimizer.output.results_folder import write_results

    s = _load(scenario)
    folder = output or Path("reports") / s.name
    # Refuse a folder that is not ours before spending time on the solves.
    check_target(folder, "run", inputs=[(p, "the scenario input") for p in s.inputs])
    # The uncertain inputs are read and checked before any solve: a bad file costs nothing.
    sweep = inputs_table = None
    if uncertainty is None and s.inputs:
        shipped = s.inputs[0].parent / "sweeps" / "uncertainty.toml"
        uncertainty = shipped if shipped.exists() else None
    if uncertainty is not None and samples != 0:
        from optimizer.analysis.uncertainty import uncertain_inputs
        from optimizer.sweeps.sweep_file import load_sweep

        sweep = load_sweep(uncertainty, s)
        inputs_table = uncertain_inputs(sweep)
    options = {"backend": backend, "time_limit": time_limit, "mip_rel_gap": mip_rel_gap}
    coordinated = solve(s, **options)
    observed = evaluate_observed(s, **options)
    if verbose:
        for r in (coordinated, observed):
            click.echo(f"--- solver log, {r.mode} ---\n{r.log.rstrip()}", err=True)
    failed = [r for r in (coordinated, observed) if not r.status.ok]
    if failed:
        # No figures from a solve that did not reach optimality, and nothing written.
        for r in failed:
            click.echo(f"error: the {r.mode} solve ended {r.status.explain()}.", err=True)
            if not verbose and r.log.strip():
                click.echo(f"last lines of its solver log:\n{tail(r.log)}", err=True)
        click.echo("No results were written.", err=True)
        raise SystemExit(EXIT_FAILED)
    gap = compare(observed, coordinated)
    runs = {"coordinated": coordinated, "observed": observed}
    report = nullcontext(None)
    if not no_report:
        from geo.reports.run_report import early_report

        # The report's figures are drawn in the background while the range is solved.
        report = early_report(s, runs, gap, figure_format, single_file)
    with report as draw:
        if sweep is not None:
            from optimizer.analysis.uncertainty import base_metrics, headline_range

            # The draws run on the sweep fast path (warm re-solves): seconds for 50 draws;
            # the base case is the headline just printed.
            gap.headline_range = headline_range(
                s, sweep, samples=samples, base=base_metrics(gap.headline)
            )
            gap.uncertain_inputs = inputs_table
        # Results, solver logs and report are staged together and swapped in at once.
        logs = "".join(f"=== {r.mode} ({r.solver}) ===\n{r.log}\n" for r in runs.values())
        write_results(folder, s, runs, gap, fmt=fmt, report=draw, extra_files={"solver.log": logs})
    notes = headline_notes(gap.headline)  # unmet demand, fiscal limits exceeded
    if gap.headline_range is not None:
        from optimizer.analysis.uncertainty import range_sentence

        notes = [range_sentence(gap.headline_range), *notes]
    lines = headline_lines(s, gap) + notes + sector_lines(gap) + non_unique_lines(s, gap)
    click.echo("\n".join(lines))
    click.echo(f"\nResults written to {folder}")
    if draw is not None:
        click.echo(f"Report: {folder / 'report.html'}")


@cli.command("report")
@click.argument("results", type=click.Path(path_type=Path, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the report (default: RESULTS itself for a results folder; the store's "
    "path without .duckdb for a batch store). An earlier dupopt report folder there is "
    "replaced as a whole; a folder holding anything else is refused.",
)
@_FIGURE_FORMAT
@_SINGLE_FILE
def report(results: Path, output: Path | None, figure_format: str, single_file: bool) -> None:
    """Draw the report of RESULTS, without solving.

    RESULTS is a folder written by `dupopt run` (maps of the gap), or a batch store
    written by `dupopt batch` (distributions of the key metrics across scenarios and
    robustness maps).
    """
    if results.is_file():
        from geo.reports.sweep_report import render_batch_report

        path = render_batch_report(
            results, output, figure_format=figure_format, single_file=single_file
        )
        click.echo(f"Report: {path}")
        return
    from geo.reports.run_report import render_report

    # Refuses a folder that is not `dupopt run` results (naming what it is instead).
    path = render_report(results, output, figure_format=figure_format, single_file=single_file)
    click.echo(f"Report: {path}")


@cli.command("batch")
@click.argument("sweep", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--store",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="DuckDB results store. Default: reports/<sweep name>.duckdb.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="A running Dask scheduler (tls://HOST:8786 with Dask's TLS configuration, or "
    "tcp://); its workers need dupopt installed. Tasks are pickled: use only a cluster you "
    "trust (docs/batch.md). Default: a local cluster for this run, on 127.0.0.1.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Local workers, one HiGHS thread each; 0 runs in this process without Dask. "
    "Default: in this process for a sweep of fewer than 2000 scenarios to run (a local "
    "cluster's start-up costs more than it wins), else one worker per core.",
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Continue into an existing store, skipping what is done; --no-resume refuses an "
    "existing store.",
)
@click.option("--retry-failed", is_flag=True, help="Run again the scenarios recorded as failed.")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=None,
    help="Scenarios per task (default: the sweep's chunk_size, else about four tasks per "
    "worker, at most 50).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--dashboard",
    is_flag=True,
    help="Start the local cluster's Dask dashboard on 127.0.0.1 at a free port and print "
    "its link (default: no dashboard).",
)
def batch(
    sweep: Path,
    store: Path | None,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    retry_failed: bool,
    chunk_size: int | None,
    no_progress: bool,
    dashboard: bool,
) -> None:
    """Run the scenario sweep described in SWEEP (a TOML file) into a DuckDB store.

    Every scenario is solved in both modes (observed buildout and coordinated plan) on
    models kept alive in the workers (hot start). Each finished chunk is committed to the
    store in one transaction; kill the run at any moment and rerun the same command to
    resume. A failing scenario is recorded with its error and does not stop the batch.
    Ctrl-C stops it (exit code 130) after committing what is solved. The local cluster
    listens on 127.0.0.1 only. See docs/batch.md for the sweep file format, the store's
    tables and how to use a remote scheduler securely.
    """
    from optimizer.sweeps.driver import Interrupted, run_sweep
    from optimizer.sweeps.sweep_file import load_sweep

    if dashboard and (scheduler is not None or workers == 0):
        raise click.UsageError(
            "--dashboard starts the local cluster's dashboard; it cannot go with "
            "--scheduler (which serves its own) or --workers 0 (no Dask)"
        )
    try:
        spec = load_sweep(sweep)
        target = store or Path("reports") / f"{spec.name}.duckdb"
        click.echo(
            f"Sweep '{spec.name}': {len(spec.jobs)} scenarios of '{spec.scenario.name}' "
            f"-> {target}",
            err=True,
        )
        summary = run_sweep(
            spec,
            target,
            scheduler=scheduler,
            workers=workers,
            resume=resume,
            retry_failed=retry_failed,
            chunk_size=chunk_size,
            progress=not no_progress,
            dashboard=dashboard,
        )
    except Interrupted as exc:
        click.echo(str(exc.summary), err=True)
        raise SystemExit(130) from None
    except KeyboardInterrupt:  # before the sweep started: nothing was solved
        click.echo(
            "batch interrupted before it started; rerun the same command to run it", err=True
        )
        raise SystemExit(130) from None
    click.echo(str(summary))
    click.echo(f'Query it: dupopt query {target} "SELECT * FROM scenarios LIMIT 5"')


@cli.command("query")
@click.argument("store", type=click.Path(path_type=Path, dir_okay=False))
@click.argument("sql")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "csv"]),
    default="table",
    show_default=True,
    help="Print as an aligned table or as CSV.",
)
def query_cmd(store: Path, sql: str, fmt: str) -> None:
    """Run a read-only SQL query (DuckDB dialect) on a batch store and print the result.

    SQL is one SELECT statement (also WITH ... SELECT, FROM ..., DESCRIBE, SHOW TABLES,
    SUMMARIZE). Anything that writes, reads other files, uses the network, loads
    extensions or changes settings is refused (exit code 1).

    Example: dupopt query reports/sensitivity.duckdb "SELECT scenario,
    cost_of_non_coordination FROM scenarios ORDER BY 2 DESC LIMIT 5"
    """
    import pandas as pd

    from optimizer.sweeps.store import query

    frame = query(store, sql)
    if fmt == "csv":
        click.echo(frame.to_csv(index=False), nl=False)
    else:
        with pd.option_context("display.width", 160, "display.max_columns", 30):
            click.echo(frame.to_string(index=False))


@cli.command("export")
@click.argument("store", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the Parquet files. An earlier `dupopt export` there is replaced as a "
    "whole; a folder holding anything else is refused. Default: the store's path without "
    ".duckdb, plus -parquet.",
)
def export(store: Path, output: Path | None) -> None:
    """Export every table of a batch store to Parquet (one file per table)."""
    from optimizer.sweeps.store import export_parquet

    folder = output or store.with_name(f"{store.stem}-parquet")
    files = export_parquet(store, folder)
    click.echo(f"{len(files)} tables written to {folder}")


def load_scenario(path: Path | None) -> Scenario:
    """:func:`optimizer.load_scenario`, imported on first use (it loads pandas)."""
    from optimizer.scenario import load_scenario as load

    return load(path)


def _load(scenario: Path | None) -> Scenario:
    """Load SCENARIO; list the values outside their plausible range on stderr (not fatal)."""
    from optimizer.errors import count_issues, format_issues

    s = load_scenario(scenario)
    if s.warnings:
        n = count_issues(s.warnings)
        head = f"warning: {n:,} value{'s' if n != 1 else ''} outside the plausible range:"
        click.echo(format_issues(head, s.warnings), err=True)
    return s


#: One line each for the terms the headline uses (docs/model.md, "Reported quantities").
DEFINITIONS = (
    "stranded capacity: capacity not needed even at maximum utilisation, K-X/u "
    "(idle capacity, K-X, also counts the maintenance margin and is not used here)",
    "debt tied to stranded capacity: the debt-financed share of the capital value of "
    "stranded capacity, debt_share x capex x stranded capacity (CNY bn)",
    "cost of non-coordination: total annual system cost of the observed buildout minus "
    "that of the coordinated plan (CNY bn/yr; the stranded and debt weights excluded)",
)


#: How the parts of the cost of non-coordination are printed (comparison.PARTS).
PART_LABELS = {
    "carrying_capacity": "carrying capacity beyond the plan's",
    "costlier_places": "producing in costlier places",
    "sub_scale_plants": "sub-scale plants (more, smaller plants)",
    "transport": "extra transport",
    "other": "other resource costs",
}


def headline_lines(s, gap) -> list[str]:
    """The printed headline: every number named, with its unit."""
    h = gap.headline.set_index("metric")
    cost, stranded, debt = h.loc["total_cost"], h.loc["stranded_capital"], h.loc["stranded_debt"]
    rows = [
        ("total annual system cost, observed buildout", cost["observed"], "CNY {:,.1f} bn/yr"),
        ("total annual system cost, coordinated plan", cost["coordinated"], "CNY {:,.1f} bn/yr"),
        ("cost of non-coordination", cost["difference"], "CNY {:,.1f} bn/yr"),
        ("stranded capital, observed buildout", stranded["observed"], "CNY {:,.1f} bn"),
        ("stranded capital, coordinated plan", stranded["coordinated"], "CNY {:,.1f} bn"),
        ("debt tied to stranded capacity, observed buildout", debt["observed"], "CNY {:,.1f} bn"),
        ("debt tied to stranded capacity, coordinated plan", debt["coordinated"], "CNY {:,.1f} bn"),
    ]
    width = max(len(label) for label, _, _ in rows) + 1
    # The years the figures cover (headline ``years``): costs over the model's years,
    # capital and debt in its last year; one year (the base year) today.
    flows, stocks = cost["years"], stranded["years"]
    when = f"figures for {flows}"
    if flows != stocks:
        when = f"costs over {flows}, capital and debt in {stocks}"
    lines = [f"Scenario '{s.name}', base year {s.base_year}; {when}."]
    lines += [f"  {label + ':':<{width}} {fmt.format(value)}" for label, value, fmt in rows]
    if gap.decomposition is not None:
        from optimizer.analysis.comparison import decomposition_totals

        parts = decomposition_totals(gap.decomposition)
        lines += ["", "Cost of non-coordination by part (CNY bn/yr; they add up to the total):"]
        width = max(len(PART_LABELS[p]) for p in parts.index) + 1
        lines += [
            # round then add 0.0: a difference of -1e-13 prints as 0.0, not -0.0
            f"  {PART_LABELS[p] + ':':<{width}} {round(v, 1) + 0.0:,.1f}"
            for p, v in parts.items()
        ]
    lines += ["", "Definitions:"]
    for d in DEFINITIONS:
        lines += textwrap.wrap(d, 96, initial_indent="  ", subsequent_indent="    ")
    return lines


def non_unique_lines(s, gap) -> list[str]:
    """What the optima leave open (other optimal solutions cost the same): per mode, the
    sectors whose same variables are open in the same regions on one line, with region
    names and how far each sector's quantities move; nothing where the backend does not
    tell."""
    table = gap.non_unique
    if table is None:
        return []
    if table.empty:
        return ["", "Both optima are unique (no other allocation costs the same)."]
    names = s.regions.set_index("region")["name_en"]
    label = {"observed": "observed buildout", "coordinated": "coordinated plan"}
    lines = ["", "Not unique (other allocations cost the same; table non_unique):"]
    for (mode, variables, regions), rows in table.groupby(
        ["mode", "variables", "regions"], sort=False
    ):
        where = ", ".join(names.get(r, r) for r in regions.split(";") if r)
        shifts = "; ".join(
            f"{r.sector} {r.year} up to {r.max_shift:,.1f} {r.unit}"
            + ("" if r.certain else " (possibly)")
            for r in rows.itertuples(index=False)
        )
        text = (
            f"{label[mode]}: {variables} in {rows['n_regions'].iloc[0]} regions ({where}): {shifts}"
        )
        lines += textwrap.wrap(text, 96, initial_indent="  ", subsequent_indent="    ")
    return lines


def sector_lines(gap) -> list[str]:
    """Per sector in the last year of the model (named in the header), the observed
    buildout above the coordinated plan, units in the header."""
    import pandas as pd

    year = gap.sector_summary.index.get_level_values("year").max()
    t = gap.sector_summary.xs(year, level="year")
    frames = {}
    for mode, label in (("observed", "observed buildout"), ("coordinated", "coordinated plan")):
        frames[label] = pd.DataFrame(
            {
                "capacity unit": t["capacity_unit"],
                "regions with capacity": t[f"regions_{mode}"].map("{:d}".format),
                "utilisation": t[f"utilisation_{mode}"].map("{:.0%}".format),
                "stranded capacity": t[f"stranded_capacity_{mode}"].map("{:,.1f}".format),
                "debt tied to stranded (CNY bn)": t[f"stranded_debt_cny_bn_{mode}"].map(
                    "{:,.1f}".format
                ),
            }
        )
    table = pd.concat(frames).swaplevel().sort_index(level=0, sort_remaining=False)
    table.index.names = [None, None]
    return ["", f"By sector in {year} (stranded capacity in the capacity unit):", table.to_string()]


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    try:
        cli.main(args=argv, prog_name="dupopt", standalone_mode=False)
    except DupoptError as exc:
        click.echo(f"error: {exc}", err=True)
        return _finish(EXIT_INVALID, argv)
    except click.exceptions.Exit as exc:
        return _finish(exc.exit_code, argv)
    except SystemExit as exc:
        return _finish(int(exc.code or 0), argv)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return _finish(130, argv)
    except click.ClickException as exc:
        exc.show()
        return _finish(EXIT_USAGE, argv)
    except Exception as exc:
        if os.environ.get("DUPOPT_DEBUG"):
            raise
        click.echo(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in dupopt; rerun with DUPOPT_DEBUG=1 for a traceback and report it.",
            err=True,
        )
        return _finish(EXIT_INTERNAL, argv)
    return _finish(EXIT_OK, argv)


def _finish(code: int, argv: list[str] | None) -> int:
    # Called as the console script (argv None): exit the process with the code.
    if argv is None:
        sys.exit(code)
    return code


if __name__ == "__main__":
    main()
