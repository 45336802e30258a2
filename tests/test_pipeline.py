"""The pipelined in-process sweep (HiGHS on a thread of its own while the next variants
are prepared and the last ones reduced) stores exactly the rows of the serial loop."""

from __future__ import annotations

import sys
import threading

import pandas as pd
import pytest

from optimizer.scenario.synthetic import synthetic_scenario
from optimizer.sweeps import worker
from optimizer.sweeps.driver import pipeline_in_process
from optimizer.sweeps.fast_model import ParametricModel
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.sweep_file import Job

TABLES = ("scenarios", "parameters", "costs", "sectors", "allocation")


@pytest.fixture(scope="module")
def scenario():
    return synthetic_scenario(3, 3, sectors=2, seed=4)


def _jobs() -> list[Job]:
    """Variants of every kind a chunk meets: plain ones, an invalid draw, a structural
    change (another kept model) and one with no feasible plan."""
    jobs = [Job("base", "base", Overrides())]
    for k, demand in enumerate((0.9, 1.1, 1.2, 0.8, 1.05)):
        values = {"demand": demand, "financing_rate": 1.0 + 0.1 * k}
        jobs.append(Job(f"mc-{k}", "monte_carlo", Overrides.from_mapping(values), values))
    jobs.insert(2, Job("bad-draw", "monte_carlo", Overrides(), error="demand: must be >= 0"))
    structural = {"parameters.fiscal_limit": False, "demand": 1.1}
    jobs.insert(4, Job("no-limit", "named", Overrides.from_mapping(structural), structural))
    return jobs


def _solve(scenario, chunks, pipeline: bool, key: str) -> list[worker.ChunkResult]:
    worker._MODELS.clear()  # the same cold start for both: the same warm bases after it
    base, arcs = scenario
    try:
        return list(worker.solve_chunks(base, chunks, base_key=key, arcs=arcs, pipeline=pipeline))
    finally:
        worker._MODELS.clear()


def _frames(results: list[worker.ChunkResult]) -> dict[str, pd.DataFrame]:
    out = {}
    for table in TABLES:
        frame = pd.concat([getattr(r, table) for r in results], ignore_index=True)
        out[table] = frame.drop(columns=["wall_s"], errors="ignore")
    return out


def test_a_pipelined_sweep_yields_the_rows_of_the_serial_loop_chunk_by_chunk(scenario):
    jobs = _jobs()
    chunks = [jobs[:3], jobs[3:4], jobs[4:]]
    serial = _solve(scenario, chunks, pipeline=False, key="pipe-serial")
    piped = _solve(scenario, chunks, pipeline=True, key="pipe-threaded")
    assert [list(r.scenarios["scenario"]) for r in piped] == [[j.name for j in c] for c in chunks]
    expected, got = _frames(serial), _frames(piped)
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)
    status = got["scenarios"].set_index("scenario")["status"]
    assert status["bad-draw"] == "failed" and status["no-limit"] == "done"
    assert (status.drop("bad-draw") == "done").all()


def test_an_error_in_the_solver_thread_is_that_variants_row(scenario, monkeypatch):
    run = ParametricModel.run

    def failing(self, prepared, **options):
        if prepared.inputs.parameters.debt_weight == 0.123:
            raise ValueError("boom")
        return run(self, prepared, **options)

    monkeypatch.setattr(ParametricModel, "run", failing)
    jobs = [
        Job("a", "named", Overrides.from_mapping({"demand": 1.1})),
        Job("b", "named", Overrides.from_mapping({"parameters.debt_weight": 0.123})),
        Job("c", "named", Overrides.from_mapping({"demand": 0.9})),
    ]
    (result,) = _solve(scenario, [jobs], pipeline=True, key="pipe-error")
    rows = result.scenarios.set_index("scenario")
    assert list(rows["status"]) == ["done", "error", "done"]
    assert "boom" in rows.loc["b", "message"]


def test_closing_a_pipelined_sweep_stops_its_solver_thread(scenario):
    """A Ctrl-C or an error in the caller closes the generator: the solver thread ends
    and the interpreter's switch interval is restored."""
    before = sys.getswitchinterval()
    jobs = _jobs()
    chunks = [[job] for job in jobs for _ in range(3)]
    worker._MODELS.clear()
    base, arcs = scenario
    results = worker.solve_chunks(base, chunks, base_key="pipe-close", arcs=arcs, pipeline=True)
    first = next(results)
    assert list(first.scenarios["scenario"]) == ["base"]
    assert sys.getswitchinterval() < before
    assert any(t.name == "dupopt-solver" for t in threading.enumerate())
    results.close()
    worker._MODELS.clear()
    assert not any(t.name == "dupopt-solver" for t in threading.enumerate())
    assert sys.getswitchinterval() == before


def test_an_in_process_sweep_is_pipelined_from_two_cores():
    assert pipeline_in_process(cpus=1) is False
    assert pipeline_in_process(cpus=2) is True


def test_a_pipeline_holds_fewer_variants_ahead_when_their_arrays_are_large(scenario, monkeypatch):
    """The variants prepared ahead of the solver stay within PIPELINE_MEMORY (never
    fewer than two), and the rows are still the serial loop's."""
    held: list[int] = []

    class Recording(worker.queue.Queue):
        def put(self, item, *args, **kwargs):
            super().put(item, *args, **kwargs)
            if item is not None and self is queues[0]:
                held.append(self.qsize())

    queues: list[Recording] = []

    def make(*args, **kwargs):
        queues.append(Recording(*args, **kwargs))
        return queues[-1]

    jobs = _jobs() * 3
    jobs = [
        Job(f"{j.name}-{k}", j.kind, j.overrides, j.values, j.error) for k, j in enumerate(jobs)
    ]
    serial = _solve(scenario, [jobs], pipeline=False, key="pipe-small-serial")
    monkeypatch.setattr(worker.queue, "Queue", make)
    monkeypatch.setattr(worker, "PIPELINE_MEMORY", 1)  # one byte: the floor of two
    piped = _solve(scenario, [jobs], pipeline=True, key="pipe-small")
    assert held and max(held) <= 2
    expected, got = _frames(serial), _frames(piped)
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], expected[table], check_exact=True)
