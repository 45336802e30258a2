"""The ``dupopt`` command line.

Exit codes: 0 success; 1 invalid input (every problem is listed); 2 wrong command-line
usage; 3 an internal error (a bug: please report it; set DUPOPT_DEBUG=1 for a traceback).
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

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3

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


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script exits with it)."""
    try:
        cli.main(args=argv, prog_name="dupopt", standalone_mode=False)
    except DupoptError as exc:
        click.echo(f"error: {exc}", err=True)
        return _finish(EXIT_INVALID, argv)
    except click.exceptions.Exit as exc:
        return _finish(exc.exit_code, argv)
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
