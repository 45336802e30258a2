"""Writing results to a folder: one file per table plus ``manifest.json``.

Writers are free functions. A folder is written to a temporary sibling first and moved
into place at the end, so an interrupted run never leaves a half-written folder.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from optimizer import __version__
from optimizer.compare import Comparison
from optimizer.results import Result
from optimizer.scenario import Scenario

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
        "scenario": {
            "name": scenario.name,
            "origin": scenario.origin,
            "base_year": scenario.base_year,
            "dataset_sha256": scenario.fingerprint(),
        },
        "parameters": dict(scenario.parameters.__dict__),
        "format": fmt,
        "python": platform.python_version(),
        "runs": {
            mode: {
                "status": r.status.value,
                "message": r.message,
                "objective_cny_bn_per_yr": r.objective,
                "total_cost_cny_bn_per_yr": r.total_cost if r.status.ok else None,
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
) -> Path:
    """Write every result table (``<mode>/<table>``), the comparison and a manifest.

    An existing folder is replaced only once the new one is complete.

    Examples
    --------
    >>> import optimizer, tempfile
    >>> s = optimizer.load_scenario()
    >>> out = write_results(tempfile.mkdtemp() + "/run", s, {"coordinated": optimizer.solve(s)})
    >>> (out / "coordinated" / "allocation.parquet").exists()
    True
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        for mode, result in results.items():
            (tmp / mode).mkdir()
            for name, table in result.tables.items():
                write_table(table, tmp / mode / name, fmt)
        if comparison is not None:
            (tmp / "comparison").mkdir()
            for name, table in comparison.tables().items():
                write_table(
                    table.reset_index() if table.index.name else table,
                    tmp / "comparison" / name,
                    fmt,
                )
        # The inputs travel with the results, so a report can be redrawn from the folder.
        (tmp / "scenario").mkdir()
        for name, table in scenario.tables().items():
            write_table(table, tmp / "scenario" / name, "csv")
        text = json.dumps(manifest(scenario, results, fmt), indent=2, default=str)
        (tmp / "manifest.json").write_text(text + "\n", encoding="utf-8")
        os.chmod(tmp, 0o755)
        _replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def _replace(new: Path, folder: Path) -> None:
    if folder.exists():
        old = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        folder.rename(old)
        new.rename(folder)
        shutil.rmtree(old, ignore_errors=True)
    else:
        new.rename(folder)


def read_results(folder: str | Path) -> dict[str, dict[str, pd.DataFrame]]:
    """Read a results folder back: ``{"coordinated": {"allocation": df, ...}, ...}``."""
    folder = Path(folder)
    info = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
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
