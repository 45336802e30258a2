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

import collections
import contextlib
import json
import os
import queue
import socket
import sys
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.analysis.comparison import CAPACITY_EPS
from optimizer.errors import DupoptError
from optimizer.model.backends import highs
from optimizer.scenario.scenario import Scenario
from optimizer.sweeps.fast_model import (
    ParametricModel,
    PreparedVariant,
    SolvedVariant,
    VariantResult,
)
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
    options = {"ties": ties, "mip_rel_gap": mip_rel_gap, "time_limit": time_limit}
    (result,) = solve_chunks(scenario, [jobs], base_key=base_key, arcs=arcs, **options)
    return result


#: Variants prepared ahead of the solver thread in a pipelined sweep (see
#: :func:`solve_chunks`), at most: enough to keep HiGHS busy while the driver commits a
#: chunk. With 8 (about 48 ms of re-solves of the shipped LP) the solver thread still
#: waited 90-98 ms in all for the ten commits of a 500-variant stretch (about 32 ms each
#: for 50 variants); with 24 it waited under 1 ms (``benchmarks/bench_batch.py``).
PIPELINE_DEPTH = 24
#: Bytes of prepared arrays (both modes) held ahead at most: a large model queues fewer
#: variants, never fewer than two.
PIPELINE_MEMORY = 256 * 2**20
#: The interpreter's thread switch interval (s) while a pipeline runs. After each solve
#: the solver thread waits for the GIL until the other thread yields it, by default after
#: 5 ms, longer than a warm re-solve; 0.1 ms lets it in at once.
PIPELINE_SWITCH_INTERVAL = 1e-4


def solve_chunks(
    scenario: Scenario,
    chunks: Iterable[list[Job]],
    *,
    base_key: str,
    arcs: pd.DataFrame | None = None,
    ties: bool = True,
    mip_rel_gap: float | None = None,
    time_limit: float | None = None,
    pipeline: bool = False,
) -> Iterator[ChunkResult]:
    """Solve chunks of jobs (as :func:`run_chunk`), yielding each chunk's rows once all
    its jobs are solved, in order.

    With ``pipeline``, HiGHS runs on a thread of its own (``highspy`` releases the GIL
    while it solves): while it re-solves one variant, this thread evaluates the next
    variants' arrays and the changes to push (up to :data:`PIPELINE_DEPTH` ahead, within
    :data:`PIPELINE_MEMORY`), reduces the solved ones and judges their ties, and the
    caller commits finished chunks. The solver thread only pushes, solves and copies the
    solution out. The solves stay one at a time, in the same order, from the same warm
    bases: the rows are those of the serial loop. It pays where the second core is free
    (``benchmarks/results/batch.md``); with another busy process it gained nothing.

    Closing the generator (or an exception in the caller, e.g. Ctrl-C) stops the solver
    thread after its current solve; jobs not yet yielded are not reported.
    """
    options = {"ties": ties, "mip_rel_gap": mip_rel_gap, "time_limit": time_limit}
    here = f"{socket.gethostname()}:{os.getpid()}"
    solver = highs.version()  # the worker's own: a remote worker may differ from the driver

    def prepare(job: Job) -> _Variant:
        return _Variant.prepare(scenario, job, base_key, arcs)

    if not pipeline:
        for chunk in chunks:
            rows = _ChunkRows(here, solver)
            for job in chunk:
                variant = prepare(job)
                variant.run(**options)
                rows.add(variant)
            yield rows.result()
        return
    yield from _pipelined(chunks, prepare, options, here, solver)


def _pipelined(
    chunks: Iterable[list[Job]],
    prepare: Callable[[Job], _Variant],
    options: dict,
    here: str,
    solver: str,
) -> Iterator[ChunkResult]:
    todo: queue.Queue[_Variant | None] = queue.Queue()
    depth = PIPELINE_DEPTH
    solved: queue.Queue[_Variant | None] = queue.Queue()
    stop = threading.Event()

    def solve_all() -> None:
        try:
            while not stop.is_set():
                variant = todo.get()
                if variant is None:
                    break
                variant.run(**options)  # never raises for one variant
                solved.put(variant)
        finally:
            solved.put(None)

    # Chunks being solved, oldest first, with the variants each still waits for.
    open_chunks: collections.deque[list] = collections.deque()
    finished = False

    def collect(wait: bool) -> Iterator[ChunkResult]:
        """Reduce what is solved (with ``wait``, at least one variant: wait for it);
        yield the chunks that are complete."""
        nonlocal finished
        block = wait
        while True:
            while open_chunks and open_chunks[0][1] == 0 and open_chunks[0][2]:
                yield open_chunks.popleft()[0].result()
            if finished and open_chunks:
                raise RuntimeError("the sweep's solver thread stopped before its last variant")
            if not open_chunks:
                return
            try:
                variant = solved.get(block=block)
            except queue.Empty:
                return
            block = False
            if variant is None:
                finished = True
                continue
            # Variants come back in the order they were queued: the oldest open chunk's.
            open_chunks[0][0].add(variant)
            open_chunks[0][1] -= 1

    thread = threading.Thread(target=solve_all, name="dupopt-solver", daemon=True)
    interval = sys.getswitchinterval()
    sys.setswitchinterval(min(interval, PIPELINE_SWITCH_INTERVAL))
    thread.start()
    try:
        for chunk in chunks:
            # [rows, variants not yet collected, all of the chunk's variants queued]
            entry = [_ChunkRows(here, solver), 0, False]
            open_chunks.append(entry)
            for job in chunk:
                variant = prepare(job)
                entry[1] += 1
                depth = min(depth, max(2, PIPELINE_MEMORY // max(variant.nbytes, 1)))
                # The solver is `depth` behind: reduce its results until it takes the
                # next (the thread always ends with None, so this cannot hang).
                while todo.qsize() >= depth:
                    yield from collect(wait=True)
                todo.put(variant)
                yield from collect(wait=False)
            entry[2] = True
            yield from collect(wait=False)
        todo.put(None)
        while open_chunks:
            yield from collect(wait=True)
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            while True:
                todo.get_nowait()
        todo.put(None)
        thread.join()
        sys.setswitchinterval(interval)


@dataclass
class _Variant:
    """One job on its way through the stages: prepared (both modes' arrays), run (HiGHS)
    and reduced into rows. ``failure`` (status, message) ends it early. ``work_s``: the
    seconds its stages took, without the time it waited between them in a pipeline."""

    job: Job
    work_s: float = 0.0
    models: dict[str, ParametricModel] = field(default_factory=dict)
    prepared: dict[str, PreparedVariant] = field(default_factory=dict)
    solved: dict[str, SolvedVariant] = field(default_factory=dict)
    failure: tuple[str, str] | None = None
    build_s: float = 0.0
    solve_s: float = 0.0

    @classmethod
    def prepare(
        cls, scenario: Scenario, job: Job, base_key: str, arcs: pd.DataFrame | None
    ) -> _Variant:
        variant = cls(job)
        if job.error is not None:
            variant.failure = ("failed", job.error)
            return variant
        t0 = time.perf_counter()
        with variant._failing():
            structure = job.overrides.structure(scenario.parameters)
            for mode in MODES:
                tb = time.perf_counter()
                model = model_for(scenario, structure, mode, base_key, arcs)
                variant.build_s += time.perf_counter() - tb
                variant.models[mode] = model
                variant.prepared[mode] = model.prepare(job.overrides)
        variant.work_s += time.perf_counter() - t0
        return variant

    @property
    def nbytes(self) -> int:
        """Bytes of the prepared arrays (both modes)."""
        return sum(a.nbytes for p in self.prepared.values() for a in p.arrays.values())

    def run(self, **options) -> None:
        if self.failure is not None:
            return
        t0 = time.perf_counter()
        with self._failing():
            for mode, model in self.models.items():
                self.solved[mode] = model.run(self.prepared[mode], **options)
                self.solve_s += self.solved[mode].solve_s
        self.work_s += time.perf_counter() - t0

    def reduce(self) -> dict[str, VariantResult] | None:
        if self.failure is not None:
            return None
        with self._failing():
            return {
                mode: model.reduce(self.prepared[mode], self.solved[mode])
                for mode, model in self.models.items()
            }
        return None

    @contextlib.contextmanager
    def _failing(self) -> Iterator[None]:
        """A variant's error becomes its row; it never stops the chunk."""
        try:
            yield
        except DupoptError as exc:
            self.failure = ("failed", str(exc))
        except Exception as exc:  # one variant's bug must not stop the batch
            tb_text = traceback.format_exc(limit=3)
            self.failure = ("error", f"{exc!r}\n{tb_text}")


class _ChunkRows:
    """The store rows of a chunk, one variant after the other."""

    def __init__(self, worker: str, solver: str) -> None:
        self.worker, self.solver = worker, solver
        self.rows: list[dict] = []
        self.params: list[tuple] = []
        self.costs: list[tuple] = []
        self.tables = _Tables()
        self.build_s = self.solve_s = 0.0

    def add(self, variant: _Variant) -> None:
        t0 = time.perf_counter()
        job = variant.job
        row = {
            "scenario": job.name,
            "kind": job.kind,
            "overrides": json.dumps(job.overrides.to_dict(), sort_keys=True),
            "overrides_sha256": job.digest,
            "worker": self.worker,
            "solver": self.solver,
        }
        self.params.extend(
            (job.name, k, _as_float(v), str(v)) for k, v in sorted(job.values.items())
        )
        self.build_s += variant.build_s
        self.solve_s += variant.solve_s
        results = variant.reduce()
        if results is None:
            status, message = variant.failure
            self.rows.append({**row, "status": status, "message": message})
            return
        bad = [r for r in results.values() if not r.status.ok]
        if bad:
            why = "; ".join(f"{r.mode}: {r.status.explain()}" for r in bad)
            self.rows.append({**row, "status": bad[0].status.value, "message": why})
            return
        models = variant.models
        self.rows.append(
            {
                **row,
                "status": "done",
                "message": "",
                **_scenario_metrics(results, models),
                "alternative_optima": _ties(results),
                "wall_s": variant.work_s + time.perf_counter() - t0,
            }
        )
        for mode, r in results.items():
            years = models[mode].years
            for term, values in r.year_terms.items():
                self.costs.extend(
                    (job.name, mode, term, int(y), float(v))
                    for y, v in zip(years, values, strict=True)
                )
            self.tables.add(job.name, r, models[mode])

    def result(self) -> ChunkResult:
        return ChunkResult(
            scenarios=pd.DataFrame(self.rows),
            parameters=pd.DataFrame(self.params, columns=["scenario", "key", "value", "text"]),
            costs=pd.DataFrame(self.costs, columns=["scenario", "mode", "term", "year", "value"]),
            sectors=self.tables.sectors(),
            allocation=self.tables.allocation(),
            build_s=self.build_s,
            solve_s=self.solve_s,
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
