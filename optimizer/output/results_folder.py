"""Writing results to a folder: one file per table plus ``manifest.json``.

Writers are free functions. A folder is written through
:func:`optimizer.output.folders.staged_output`:
built in a hidden sibling and swapped in whole at the end, so an interrupted run never
leaves a half-written folder, and a folder that is not a dupopt output (a user's files,
the scenario's inputs) is refused, never replaced.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from optimizer import __version__
from optimizer.analysis.comparison import Comparison
from optimizer.model.backends import library_versions
from optimizer.model.results import Result
from optimizer.output.folders import MANIFEST, OutputError, require_kind, staged_output, to_json
from optimizer.scenario.scenario import Scenario

FORMATS = ("parquet", "csv")


def write_table(frame: pd.DataFrame, path: Path, fmt: str = "parquet") -> Path:
    """Write one table as Parquet or CSV; returns the file written."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    target = path.with_suffix(f".{fmt}")
    frame = frame.reset_index(drop=True)
    if fmt == "parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_csv(target, index=False, lineterminator="\n")
    return target


def manifest(scenario: Scenario, results: dict[str, Result], fmt: str) -> dict:
    """What was run, on which data, with which solver and options, and how it ended."""
    return {
        "dupopt_version": __version__,
        "kind": "run",
        "scenario": {
            "name": scenario.name,
            "origin": scenario.origin,
            "base_year": scenario.base_year,
            "dataset_sha256": scenario.fingerprint(),
        },
        "parameters": dict(scenario.parameters.__dict__),
        "format": fmt,
        "python": platform.python_version(),
        "solver_libraries": library_versions(),
        "runs": {
            mode: {
                "status": r.status.value,
                "message": r.message,
                "objective_cny_bn_per_yr": r.objective,
                "total_cost_cny_bn_per_yr": r.total_cost if r.status.ok else None,
                # With lumpy plants: the LP relaxation, a lower bound on the optimum (NaN,
                # written as null by to_json, for an LP).
                "lp_relaxation_cny_bn_per_yr": r.lp_relaxation,
                "solver": r.solver,
                "backend": r.backend,
                "alternative_optima": r.alternative_optima,
                "options": r.options,
                "timings_s": {k: round(v, 4) for k, v in r.timings.items()},
            }
            for mode, r in results.items()
        },
    }


def write_results(
    folder: str | Path,
    scenario: Scenario,
    results: dict[str, Result],
    comparison: Comparison | None = None,
    *,
    fmt: str = "parquet",
    extra_files: Mapping[str, str] | None = None,
    report: Callable[[Path], object] | None = None,
) -> Path:
    """Write every result table (``<mode>/<table>``), the comparison and a manifest.

    The folder is built beside ``folder`` and swapped in as a whole once complete
    (:func:`optimizer.output.folders.staged_output`): ``folder`` may be missing, empty or an
    earlier run's results; a folder holding anything else, or one that is or holds the
    scenario's input files, is refused with :class:`~optimizer.output.folders.OutputError` and
    left as it was. A result that did not reach optimality raises
    :class:`~optimizer.model.status.SolveError` before anything is written.

    Parameters
    ----------
    folder
        The results folder.
    scenario, results, comparison
        What was run and its results by mode (``"coordinated"``, ``"observed"``).
    fmt
        ``"parquet"`` or ``"csv"`` for the result tables.
    extra_files
        Text files to add at the top of the folder, by file name (e.g. a solver log).
    report
        Called with the staging folder once the tables and manifest are written, e.g.
        :func:`geo.reports.run_report.draw_report`: what it writes is part of the same
        swap, so the results and their report appear together or not at all.

    Examples
    --------
    >>> import optimizer, tempfile
    >>> s = optimizer.load_scenario()
    >>> out = write_results(tempfile.mkdtemp() + "/run", s, {"coordinated": optimizer.solve(s)})
    >>> (out / "coordinated" / "allocation.parquet").exists()
    True
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    for result in results.values():
        result.raise_for_status()  # a solve that did not reach optimality has no tables
    folder = Path(folder)
    inputs = [(path, "the scenario input") for path in scenario.inputs]
    with staged_output(folder, "run", inputs=inputs) as stage:
        write_result_files(stage, scenario, results, comparison, fmt=fmt, extra_files=extra_files)
        if report is not None:
            report(stage)
    return folder


def write_result_files(
    folder: Path,
    scenario: Scenario,
    results: dict[str, Result],
    comparison: Comparison | None = None,
    *,
    fmt: str = "parquet",
    extra_files: Mapping[str, str] | None = None,
) -> None:
    """Write the tables, inputs, extra files and manifest into an existing (staging) folder.

    Use :func:`write_results`, which stages and swaps; this writes in place.
    """
    # Also what a report adds (report.html, figures/, tables/): the report hook writes there.
    reserved = {MANIFEST, "scenario", "comparison", "report.html", "figures", "tables", *results}
    for name in extra_files or {}:
        if Path(name).name != name or name.startswith(".") or name in reserved:
            raise OutputError(f"extra file name {name!r} must be one plain, unused file name")
    for mode, result in results.items():
        (folder / mode).mkdir()
        for name, table in result.tables.items():
            write_table(table, folder / mode / name, fmt)
    if comparison is not None:
        (folder / "comparison").mkdir()
        for name, table in comparison.tables().items():
            # The summaries are indexed by (sector, year) or (region, year): keep the keys.
            named_index = any(n is not None for n in table.index.names)
            write_table(
                table.reset_index() if named_index else table, folder / "comparison" / name, fmt
            )
    # The inputs travel with the results, so a report can be redrawn from the folder.
    (folder / "scenario").mkdir()
    for name, table in scenario.tables().items():
        write_table(table, folder / "scenario" / name, "csv")
    for name, text in (extra_files or {}).items():
        (folder / name).write_text(text, encoding="utf-8")
    # Last: a folder with a manifest is complete.
    text = to_json(manifest(scenario, results, fmt))
    (folder / MANIFEST).write_text(text + "\n", encoding="utf-8")


def read_results(folder: str | Path) -> dict[str, dict[str, pd.DataFrame]]:
    """Read a results folder back: ``{"coordinated": {"allocation": df, ...}, ...}``."""
    folder = Path(folder)
    info = require_kind(folder, "run")
    fmt = info["format"]
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for sub in ("coordinated", "observed", "comparison"):
        if (folder / sub).is_dir():
            out[sub] = {f.stem: _read(f) for f in sorted((folder / sub).glob(f"*.{fmt}"))}
    if (folder / "scenario").is_dir():
        out["scenario"] = {f.stem: _read(f) for f in sorted((folder / "scenario").glob("*.csv"))}
    return out


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    # Region codes are text ("110000"), not numbers.
    codes = {c: str for c in ("region", "from_region", "to_region", "source_id")}
    return pd.read_csv(path, dtype=codes, keep_default_na=True)
