"""Worker side of a sweep: solve a chunk of variants on kept (hot) models.

:func:`run_chunk` is what a Dask task runs: for a list of :class:`~optimizer.sweeps.sweep_file.Job`
it solves each variant in both modes (the observed buildout and the coordinated plan)
on :class:`~optimizer.sweeps.fast_model.ParametricModel` objects that stay alive in the worker
process between tasks, and returns the rows of the results store for the whole chunk.
A variant that fails is returned as a failed row with its error; it never stops the
chunk.

Examples
--------
>>> from optimizer import load_scenario
>>> from optimizer.sweeps.sweep_file import Job
>>> from optimizer.sweeps.overrides import Overrides
>>> s = load_scenario()
>>> out = run_chunk(s, [Job("base", "base", Overrides())], base_key="doc")
>>> out.scenarios.loc[0, "status"], bool(out.scenarios.loc[0, "cost_of_non_coordination"] > 0)
('done', True)
"""

from __future__ import annotations

import json
import os
import socket
import time
import traceback
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.errors import DupoptError
from optimizer.model.backends import highs
from optimizer.scenario.scenario import Scenario
from optimizer.sweeps.fast_model import ParametricModel, VariantResult
from optimizer.sweeps.overrides import STRUCTURAL
from optimizer.sweeps.sweep_file import Job

MODES = ("observed", "coordinated")
#: Scenario-level metrics: (column, unit, description). One figure per variant over the
#: model's years, as the headline of :func:`optimizer.analysis.comparison.headline`:
#: costs summed over the years, capital and debt in the last year, sectors counted once.
SCENARIO_METRICS = (
    ("cost_observed", "CNY bn/yr", "resource cost of the observed buildout, summed over years"),
    ("cost_coordinated", "CNY bn/yr", "resource cost of the coordinated plan, summed over years"),
    ("cost_of_non_coordination", "CNY bn/yr", "cost_observed - cost_coordinated"),
    ("objective_observed", "CNY bn/yr", "objective incl. stranded and debt weights, all years"),
    ("objective_coordinated", "CNY bn/yr", "objective incl. stranded and debt weights, all years"),
    ("stranded_capital_observed", "CNY bn", "capital value of stranded capacity, last year"),
    ("stranded_capital_coordinated", "CNY bn", "capital value of stranded capacity, last year"),
    ("stranded_debt_observed", "CNY bn", "debt tied to stranded capacity, last year"),
    ("stranded_debt_coordinated", "CNY bn", "debt tied to stranded capacity, last year"),
    ("capital_observed", "CNY bn", "capital value of all capacity, last year"),
    ("capital_coordinated", "CNY bn", "capital value of all capacity, last year"),
    ("unmet_sectors_observed", "sectors", "sectors with unmet demand in any year"),
    ("unmet_sectors_coordinated", "sectors", "sectors with unmet demand in any year"),
)
#: Models kept per worker process: (base key, structure, mode) -> model.
_MODELS: OrderedDict[tuple, ParametricModel] = OrderedDict()
_KEEP = 8


@dataclass
class ChunkResult:
    """Rows for the results store, for every variant of a chunk.

    ``scenarios`` has one row per variant (status, message, key metrics); the other
    tables have rows only for variants that were solved, keyed by ``year`` as well
    (``costs`` by term and year, ``sectors`` by sector and year, ``allocation`` by
    region, sector and year).
    """

    scenarios: pd.DataFrame
    parameters: pd.DataFrame
    costs: pd.DataFrame
    sectors: pd.DataFrame
    allocation: pd.DataFrame
    build_s: float = 0.0
    solve_s: float = 0.0


def model_for(
    scenario: Scenario,
    structure: tuple[bool, ...],
    mode: str,
    key: str,
    arcs: pd.DataFrame | None = None,
) -> ParametricModel:
    """The worker's kept model for a base scenario, structure and mode (built once)."""
    cache_key = (key, structure, mode)
    model = _MODELS.get(cache_key)
    if model is None:
        # The structure is the value of each structural switch, in STRUCTURAL's order.
        base = scenario.with_parameters(**dict(zip(STRUCTURAL, structure, strict=True)))
        model = ParametricModel(base, mode, arcs, threads=1)
        _MODELS[cache_key] = model
    _MODELS.move_to_end(cache_key)
    while len(_MODELS) > _KEEP:
        _MODELS.popitem(last=False)
    return model


def run_chunk(
    scenario: Scenario,
    jobs: list[Job],
    *,
    base_key: str,
    arcs: pd.DataFrame | None = None,
    ties: bool = True,
    mip_rel_gap: float | None = None,
    time_limit: float | None = None,
) -> ChunkResult:
    """Solve every job of a chunk (both modes); never raises for one bad job.

    Parameters
    ----------
    scenario
        The sweep's base scenario.
    jobs
        The variants to solve.
    base_key
        Identifies the base scenario in the worker's model cache (its fingerprint).
    arcs
        Transport network (default: the shipped province network).
    ties
        Whether to test each optimum for ties (alternative optima).
    mip_rel_gap
        For MILPs (lumpy plants): the relative gap at which a plan counts as solved
        (HiGHS's default where None).
    time_limit
        Seconds per solve (none where None); a variant whose solve hits it is recorded
        with status ``time_limit`` and no figures.
    """
    worker = f"{socket.gethostname()}:{os.getpid()}"
    solver = highs.version()  # the worker's own: a remote worker may differ from the driver
    rows, params, costs = [], [], []
    tables = _Tables()
    build_s = solve_s = 0.0
    for job in jobs:
        t0 = time.perf_counter()
        row = {
            "scenario": job.name,
            "kind": job.kind,
            "overrides": json.dumps(job.overrides.to_dict(), sort_keys=True),
            "overrides_sha256": job.digest,
            "worker": worker,
            "solver": solver,
        }
        params.extend((job.name, k, _as_float(v), str(v)) for k, v in sorted(job.values.items()))
        if job.error is not None:
            rows.append({**row, "status": "failed", "message": job.error})
            continue
        try:
            results, models = {}, {}
            for mode in MODES:
                structure = job.overrides.structure(scenario.parameters)
                tb = time.perf_counter()
                models[mode] = model = model_for(scenario, structure, mode, base_key, arcs)
                build_s += time.perf_counter() - tb
                results[mode] = model.solve(
                    job.overrides, ties=ties, mip_rel_gap=mip_rel_gap, time_limit=time_limit
                )
                solve_s += results[mode].solve_s
        except DupoptError as exc:
            rows.append({**row, "status": "failed", "message": str(exc)})
            continue
        except Exception as exc:  # one variant's bug must not stop the batch
            tb_text = traceback.format_exc(limit=3)
            rows.append({**row, "status": "error", "message": f"{exc!r}\n{tb_text}"})
            continue
        bad = [r for r in results.values() if not r.status.ok]
        if bad:
            why = "; ".join(f"{r.mode}: {r.status.explain()}" for r in bad)
            rows.append({**row, "status": bad[0].status.value, "message": why})
            continue
        rows.append(
            {
                **row,
                "status": "done",
                "message": "",
                **_scenario_metrics(results, models),
                "alternative_optima": _ties(results),
                "wall_s": time.perf_counter() - t0,
            }
        )
        for mode, r in results.items():
            years = models[mode].years
            for term, values in r.year_terms.items():
                costs.extend(
                    (job.name, mode, term, int(y), float(v))
                    for y, v in zip(years, values, strict=True)
                )
            tables.add(job.name, r, models[mode])
    return ChunkResult(
        scenarios=pd.DataFrame(rows),
        parameters=pd.DataFrame(params, columns=["scenario", "key", "value", "text"]),
        costs=pd.DataFrame(costs, columns=["scenario", "mode", "term", "year", "value"]),
        sectors=tables.sectors(),
        allocation=tables.allocation(),
        build_s=build_s,
        solve_s=solve_s,
    )


def _ties(results: dict[str, VariantResult]) -> bool | None:
    """True if either optimum has ties; None if that was not tested (or not testable)."""
    flags = [r.alternative_optima for r in results.values()]
    if any(f is True for f in flags):
        return True
    return None if any(f is None for f in flags) else False


def _as_float(value) -> float:
    if isinstance(value, bool):
        return float(value)
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _scenario_metrics(
    results: dict[str, VariantResult], models: dict[str, ParametricModel]
) -> dict[str, float]:
    """The variant's :data:`SCENARIO_METRICS`, defined over years as the headline's."""
    out: dict[str, float] = {}
    for mode, r in results.items():
        model = models[mode]
        last = model.last_year
        out[f"cost_{mode}"] = r.total_cost
        out[f"objective_{mode}"] = r.objective
        out[f"stranded_capital_{mode}"] = float(r.stranded_capital_cny_bn[last].sum())
        out[f"stranded_debt_{mode}"] = float(r.stranded_debt_cny_bn[last].sum())
        out[f"capital_{mode}"] = float(r.capital_cny_bn[last].sum())
        # ``unmet`` is by (sector, year), sector-major: a sector counts once, in any year.
        by_sector = r.unmet.reshape(len(model.sectors), len(model.years))
        out[f"unmet_sectors_{mode}"] = int((by_sector > 1e-9).any(axis=1).sum())
    out["cost_of_non_coordination"] = out["cost_observed"] - out["cost_coordinated"]
    return out


class _Tables:
    """Region x sector x year and sector x year rows of a chunk, gathered as arrays (one
    DataFrame per chunk: building one per scenario would cost more than the solves)."""

    _SUMS = ("capacity", "production", "stranded_capacity", "stranded_capital_cny_bn",
             "stranded_debt_cny_bn")  # fmt: skip

    def __init__(self) -> None:
        self.keys: list[tuple[str, str, int]] = []  # scenario, mode, cells
        self.index: pd.MultiIndex | None = None  # (region, sector, year) of the cells
        self.sector_years: pd.MultiIndex | None = None
        self.cells: dict[str, list[np.ndarray]] = {k: [] for k in self._SUMS}
        self.built: list[np.ndarray] = []
        self.unmet: list[np.ndarray] = []
        self.sector_pos: list[np.ndarray] = []

    def add(self, name: str, r: VariantResult, model: ParametricModel) -> None:
        self.keys.append((name, r.mode, len(r.capacity)))
        self.index, self.sector_years = model.index, model.sector_years
        for k in self._SUMS:
            self.cells[k].append(getattr(r, k))
        self.built.append(r.capacity > CAPACITY_EPS)
        self.unmet.append(r.unmet)  # aligned on model.sector_years
        self.sector_pos.append(model.cell_sector_years)

    def allocation(self) -> pd.DataFrame:
        if not self.keys:
            return pd.DataFrame()
        reps = [n for _, _, n in self.keys]
        return pd.DataFrame(
            {
                "scenario": np.repeat([k[0] for k in self.keys], reps),
                "mode": np.repeat([k[1] for k in self.keys], reps),
                **{
                    level: np.tile(self.index.get_level_values(level), len(self.keys))
                    for level in ("region", "sector", "year")
                },
                **{
                    k: np.concatenate(self.cells[k])
                    for k in (
                        "capacity",
                        "production",
                        "stranded_capacity",
                        "stranded_debt_cny_bn",
                    )
                },
            }
        )

    def sectors(self) -> pd.DataFrame:
        if not self.keys:
            return pd.DataFrame()
        n_s = len(self.sector_years)
        out: dict[str, list[np.ndarray]] = {k: [] for k in ("regions", *self._SUMS)}
        for i in range(len(self.keys)):
            pos = self.sector_pos[i]
            out["regions"].append(np.bincount(pos, self.built[i], n_s).astype(int))
            for k in self._SUMS:
                out[k].append(np.bincount(pos, self.cells[k][i], n_s))
        frame = pd.DataFrame(
            {
                "scenario": np.repeat([k[0] for k in self.keys], n_s),
                "mode": np.repeat([k[1] for k in self.keys], n_s),
                **{
                    level: np.tile(self.sector_years.get_level_values(level), len(self.keys))
                    for level in ("sector", "year")
                },
                **{k: np.concatenate(v) for k, v in out.items()},
            }
        )
        cap, prod = frame["capacity"].to_numpy(), frame["production"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["utilisation"] = np.where(cap > 0, prod / cap, np.nan)
        frame["unmet"] = np.concatenate(self.unmet)
        return frame
