"""The ``dupopt`` command line: ties the model (``optimizer``) to maps and reports (``geo``).

Exit codes: 0 success; 1 invalid input (every problem is listed); 2 wrong command-line
usage; 3 an internal error (a bug: please report it; set DUPOPT_DEBUG=1 for a traceback);
4 a solve did not reach optimality (the status and what to do are printed).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import pandas as pd

from optimizer import __version__
from optimizer.errors import DupoptError
from optimizer.scenario import load_scenario

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL, EXIT_FAILED = 0, 1, 2, 3, 4

_SCENARIO = click.argument(
    "scenario",
    required=False,
    type=click.Path(path_type=Path),
    metavar="[SCENARIO]",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="dupopt", message="%(prog)s %(version)s")
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
    from optimizer import summary

    s = load_scenario(scenario)
    echo = click.echo
    echo(f"Scenario '{s.name}' ({s.origin}) is valid. Base year {s.base_year}.")
    echo(f"Regions: {len(s.regions)} ({len(s.planning_regions)} take part in national planning)")
    echo(f"Sectors: {len(s.sectors)} ({', '.join(s.sectors['sector'])})")
    with pd.option_context("display.width", 140, "display.max_columns", 20):
        echo("\nRows per table:")
        echo(summary.table_rows(s).T.to_string(index=False))
        echo("\nShare of value rows by quality flag:")
        echo(summary.quality_shares(s).map("{:.0%}".format).to_string())
        echo("\nPriority designations (regions designating the sector, of all regions):")
        for sector, row in summary.designations(s).iterrows():
            echo(f"  {sector}: {row['designated']} of {row['regions']} (period {row['period']})")
        nb = summary.national_balance(s)
        echo(f"\nNational balance {s.base_year} (quantities in each sector's units):")
        echo(nb.to_string(float_format=lambda v: f"{v:,.4g}"))


@cli.command("run")
@_SCENARIO
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the results (replaced if it exists). Default: reports/<scenario name>.",
)
@click.option(
    "--backend",
    type=click.Choice(["highs", "pyomo", "pulp"]),
    default="highs",
    show_default=True,
    help="How the model is rendered; all solve with HiGHS.",
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
@click.option("--no-report", is_flag=True, help="Write the result tables only (no maps).")
def run(
    scenario: Path | None,
    output: Path | None,
    backend: str,
    fmt: str,
    time_limit: float | None,
    no_report: bool,
) -> None:
    """Solve the coordinated plan, evaluate the observed buildout, compare, and write.

    Writes <OUTPUT>/coordinated/*, <OUTPUT>/observed/* (allocation, shipments, exports,
    unmet demand, debt, cost terms, marginal costs), <OUTPUT>/comparison/* (regional gap,
    sector and region summaries, headline), <OUTPUT>/scenario/* (the inputs) and
    manifest.json; then the report: <OUTPUT>/report.html with maps and charts in
    <OUTPUT>/figures (PNG and SVG) and the tables it shows in <OUTPUT>/tables (CSV).
    Prints the headline.
    """
    from optimizer.compare import compare, headline_notes
    from optimizer.model import evaluate_observed, solve
    from optimizer.writers import write_results

    s = load_scenario(scenario)
    options = {"backend": backend, "time_limit": time_limit}
    coordinated = solve(s, **options)
    observed = evaluate_observed(s, **options)
    failed = [r for r in (coordinated, observed) if not r.status.ok]
    for r in failed:
        click.echo(f"error: the {r.mode} run ended {r.status.value}: {r.message}", err=True)
    gap = None if failed else compare(observed, coordinated)
    folder = output or Path("reports") / s.name
    write_results(folder, s, {"coordinated": coordinated, "observed": observed}, gap, fmt=fmt)
    if failed:
        raise SystemExit(EXIT_FAILED)
    _print_headline(s, gap)
    for note in headline_notes(gap.headline):  # unmet demand, fiscal limits exceeded
        click.echo(note)
    click.echo(f"\nResults written to {folder}")
    if not no_report:
        from geo.report import render_report

        click.echo(f"Report: {render_report(folder)}")


@cli.command("report")
@click.argument("results", type=click.Path(path_type=Path, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Folder for the report (default: RESULTS for a results folder; the store's path "
    "without .duckdb for a batch store).",
)
def report(results: Path, output: Path | None) -> None:
    """Draw the report of RESULTS, without solving.

    RESULTS is a folder written by `dupopt run` (maps of the gap), or a batch store
    written by `dupopt batch` (distributions of the key metrics across scenarios and
    robustness maps).
    """
    if results.is_file():
        from geo.batch_report import render_batch_report

        click.echo(f"Report: {render_batch_report(results, output)}")
        return
    from geo.report import render_report

    if not (results / "manifest.json").is_file():
        raise DupoptError(
            f"{results} holds no manifest.json: not a dupopt results folder (or batch store)"
        )
    click.echo(f"Report: {render_report(results, output)}")


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
    help="A running Dask scheduler (tcp://HOST:8786); its workers need dupopt installed. "
    "Default: a local cluster for this run.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Local workers (default: one per core, one HiGHS thread each); 0 runs in this "
    "process without Dask.",
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
def batch(
    sweep: Path,
    store: Path | None,
    scheduler: str | None,
    workers: int | None,
    resume: bool,
    retry_failed: bool,
    chunk_size: int | None,
    no_progress: bool,
) -> None:
    """Run the scenario sweep described in SWEEP (a TOML file) into a DuckDB store.

    Every scenario is solved in both modes (observed buildout and coordinated plan) on
    models kept alive in the workers (hot start). Each finished chunk is committed to the
    store in one transaction; kill the run at any moment and rerun the same command to
    resume. A failing scenario is recorded with its error and does not stop the batch.
    See docs/batch.md for the sweep file format and the store's tables.
    """
    from optimizer.runner import Interrupted, run_sweep
    from optimizer.sweep import load_sweep

    spec = load_sweep(sweep)
    target = store or Path("reports") / f"{spec.name}.duckdb"
    click.echo(
        f"Sweep '{spec.name}': {len(spec.jobs)} scenarios of '{spec.scenario.name}' -> {target}",
        err=True,
    )
    try:
        summary = run_sweep(
            spec,
            target,
            scheduler=scheduler,
            workers=workers,
            resume=resume,
            retry_failed=retry_failed,
            chunk_size=chunk_size,
            progress=not no_progress,
        )
    except Interrupted as exc:
        click.echo(str(exc.summary), err=True)
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

    Example: dupopt query reports/sensitivity.duckdb "SELECT scenario,
    cost_of_non_coordination FROM scenarios ORDER BY 2 DESC LIMIT 5"
    """
    from optimizer.store import query

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
    help="Folder for the Parquet files (replaced if it exists). Default: the store's path "
    "without .duckdb, plus -parquet.",
)
def export(store: Path, output: Path | None) -> None:
    """Export every table of a batch store to Parquet (one file per table)."""
    from optimizer.store import export_parquet

    folder = output or store.with_name(f"{store.stem}-parquet")
    files = export_parquet(store, folder)
    click.echo(f"{len(files)} tables written to {folder}")


def _print_headline(s, gap) -> None:
    h = gap.headline.set_index("metric")
    cost = h.loc["total_cost"]
    click.echo(
        f"Scenario '{s.name}', {s.base_year}. Cost of non-coordination: "
        f"CNY {cost['difference']:,.1f} bn/yr (observed {cost['observed']:,.1f}, "
        f"coordinated {cost['coordinated']:,.1f})."
    )
    stranded, debt = h.loc["stranded_capital"], h.loc["stranded_debt"]
    click.echo(
        f"Stranded capital (capacity not needed even at maximum utilisation): "
        f"CNY {stranded['observed']:,.0f} bn observed vs "
        f"{stranded['coordinated']:,.0f} bn coordinated; debt tied to it CNY "
        f"{debt['observed']:,.0f} bn vs {debt['coordinated']:,.0f} bn."
    )
    t = gap.sector_summary
    table = pd.DataFrame(
        {
            "unit": t["capacity_unit"],
            "regions obs": t["regions_observed"],
            "regions coord": t["regions_coordinated"],
            "util obs": t["utilisation_observed"].map("{:.0%}".format),
            "util coord": t["utilisation_coordinated"].map("{:.0%}".format),
            "idle obs": t["stranded_capacity_observed"].map("{:,.1f}".format),
            "idle coord": t["stranded_capacity_coordinated"].map("{:,.1f}".format),
            "idle debt obs (CNY bn)": t["stranded_debt_cny_bn_observed"].map("{:,.1f}".format),
        }
    )
    click.echo("\n" + table.to_string())


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
