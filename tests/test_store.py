"""The DuckDB results store: identity checks, atomic commits, reading and export."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pandas as pd
import pytest

from optimizer.batch import run_chunk
from optimizer.store import Store, StoreError, export_parquet, query, read_store
from optimizer.sweep import Job
from optimizer.variants import Overrides

IDENTITY = {"dataset_sha256": "d1", "model_version": "m1", "sweep": "s1"}


@pytest.fixture(scope="module")
def chunk(default_scenario):
    jobs = [
        Job("a", "named", Overrides.from_mapping({"demand": 1.05}), {"demand": 1.05}),
        Job("b", "named", Overrides.from_mapping({"export": 0.9}), {"export": 0.9}),
        Job("bad", "monte_carlo", Overrides(), {"demand": -0.2}, error="invalid draw"),
    ]
    return run_chunk(default_scenario, jobs, base_key="store-test")


def _counts(path) -> dict[str, int]:
    return {
        t: int(query(path, f"SELECT count(*) AS n FROM {t}")["n"][0])
        for t in ("scenarios", "parameters", "costs", "sectors", "allocation")
    }


def test_commit_writes_every_table_and_skips_duplicates(tmp_path, chunk):
    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.start_run("sha", "text", "s1", "sweep.toml", None, "in-process", 0)
        assert st.commit(chunk) == {"a", "b", "bad"}
        assert st.commit(chunk) == set()  # already there: nothing duplicated
        assert st.done()["bad"][1] == "failed" and st.done()["a"][1] == "done"
    counts = _counts(path)
    assert counts["scenarios"] == 3
    n_cells = len(chunk.allocation) // 4  # 2 done scenarios x 2 modes
    assert counts["allocation"] == 4 * n_cells
    tables = read_store(path)
    s = tables["scenarios"].set_index("scenario")
    assert s.loc["a", "cost_of_non_coordination"] == pytest.approx(
        chunk.scenarios.set_index("scenario").loc["a", "cost_of_non_coordination"]
    )
    assert pd.isna(s.loc["bad", "cost_observed"]) and s.loc["bad", "message"] == "invalid draw"
    assert set(tables["columns"]["table_name"]) >= {"scenarios", "sectors", "allocation"}


def test_the_store_records_the_solver_libraries_of_the_run_and_of_each_worker(tmp_path, chunk):
    import json
    from importlib.metadata import version

    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.start_run("sha", "text", "s1", "sweep.toml", None, "in-process", 0)
        st.commit(chunk)
    tables = read_store(path)
    libraries = json.loads(tables["runs"]["solver_libraries"].iloc[0])
    assert libraries == {name: version(name) for name in ("highspy", "pulp", "pyomo")}
    solvers = tables["scenarios"].set_index("scenario")["solver"]
    assert solvers["a"] == solvers["bad"] == f"HiGHS {version('highspy')}"


def test_a_failed_commit_leaves_nothing_behind(tmp_path, chunk):
    path = tmp_path / "s.duckdb"
    broken = type(chunk)(**{**chunk.__dict__})
    broken.allocation = chunk.allocation.assign(capacity="not a number")
    with Store.open(path, IDENTITY) as st:
        with pytest.raises(duckdb.Error):
            st.commit(broken)
        assert st.done() == {}
    assert _counts(path) == dict.fromkeys(_counts(path), 0)


def test_retried_failures_replace_their_old_rows(tmp_path, chunk):
    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.commit(chunk)
        again = type(chunk)(**{**chunk.__dict__})
        again.scenarios = chunk.scenarios.loc[chunk.scenarios["scenario"] == "bad"].assign(
            message="failed again"
        )
        again.parameters = chunk.parameters.loc[chunk.parameters["scenario"] == "bad"]
        assert st.commit(again, replace={"bad"}) == {"bad"}
    s = read_store(path)["scenarios"].set_index("scenario")
    assert len(s) == 3 and s.loc["bad", "message"] == "failed again"
    assert (read_store(path)["parameters"]["scenario"] == "bad").sum() == 1


@pytest.mark.parametrize(
    ("key", "label"),
    [("dataset_sha256", "base dataset"), ("model_version", "model version"), ("sweep", "sweep")],
)
def test_a_store_of_another_dataset_model_or_sweep_is_refused(tmp_path, chunk, key, label):
    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.commit(chunk)
    before = _counts(path)
    with pytest.raises(StoreError, match=label):
        Store.open(path, {**IDENTITY, key: "other"})
    assert _counts(path) == before


def test_unreadable_and_locked_stores_are_explained(tmp_path):
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a dupopt store"):
        read_store(junk)
    with pytest.raises(StoreError, match="no such store"):
        read_store(tmp_path / "missing.duckdb")
    path = tmp_path / "s.duckdb"
    Store.open(path, IDENTITY).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('ready', flush=True);"
            " time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StoreError, match="in use by another process"):
            Store.open(path, IDENTITY)
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.1)
    Store.open(path, IDENTITY).close()


def test_parquet_export_round_trips(tmp_path, chunk):
    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.commit(chunk)
    files = export_parquet(path, tmp_path / "pq")
    assert {f.stem for f in files} >= {"scenarios", "allocation", "meta", "columns"}
    tables = read_store(path)
    for name in ("scenarios", "allocation"):
        back = pd.read_parquet(tmp_path / "pq" / f"{name}.parquet")
        pd.testing.assert_frame_equal(
            back.convert_dtypes(), tables[name].convert_dtypes(), check_dtype=False
        )
    export_parquet(path, tmp_path / "pq")  # replacing an export works
    assert not list(tmp_path.glob(".pq*"))


def test_queries_are_read_only(tmp_path, chunk):
    path = tmp_path / "s.duckdb"
    with Store.open(path, IDENTITY) as st:
        st.commit(chunk)
    with pytest.raises(StoreError, match="query failed"):
        query(path, "DELETE FROM scenarios")
    assert _counts(path)["scenarios"] == 3
