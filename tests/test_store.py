"""The DuckDB results store: identity checks, atomic commits, reading and export."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from optimizer.sweeps import store as store_module
from optimizer.sweeps.overrides import Overrides
from optimizer.sweeps.store import Store, StoreError, export_parquet, query, read_store
from optimizer.sweeps.sweep_file import Job
from optimizer.sweeps.worker import run_chunk

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
    with pytest.raises(StoreError, match="DELETE statement"):
        query(path, "DELETE FROM scenarios")
    assert _counts(path)["scenarios"] == 3


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, chunk):
    """A store, a private file beside it, and another DuckDB database."""
    folder = tmp_path_factory.mktemp("sandbox")
    store = folder / "s.duckdb"
    with Store.open(store, IDENTITY) as st:
        st.commit(chunk)
    (folder / "secret.csv").write_text("password\nhunter2\n")
    other = duckdb.connect(str(folder / "other.duckdb"))
    other.execute("CREATE TABLE t AS SELECT 42 AS answer")
    other.close()
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


# (SQL with {dir} for the sandbox folder, what the error says)
REFUSED = {
    "copy-select-to-file": ("COPY (SELECT 'x') TO '{dir}/copied.csv'", "COPY statement"),
    "copy-table-to-parquet": ("COPY scenarios TO '{dir}/s.parquet' (FORMAT parquet)", "COPY"),
    "export-database": ("EXPORT DATABASE '{dir}/exported'", "EXPORT statement"),
    "read-csv": ("SELECT * FROM read_csv('{dir}/secret.csv')", "reads the store only"),
    "read-csv-replacement-scan": ("SELECT * FROM '{dir}/secret.csv'", "reads the store only"),
    "read-text": ("SELECT content FROM read_text('{dir}/secret.csv')", "reads the store only"),
    "read-blob": ("SELECT content FROM read_blob('{dir}/secret.csv')", "reads the store only"),
    "read-etc-passwd": ("SELECT * FROM read_csv('/etc/passwd')", "reads the store only"),
    "glob": ("SELECT * FROM glob('{dir}/*')", "reads the store only"),
    "glob-root": ("SELECT * FROM glob('/root/*')", "reads the store only"),
    "remote-parquet": (
        "SELECT * FROM read_parquet('https://example.invalid/x.parquet')",
        "reads the store only",
    ),
    "attach-existing": ("ATTACH '{dir}/other.duckdb' AS o", "ATTACH statement"),
    "attach-new": ("ATTACH '{dir}/new.duckdb' AS n", "ATTACH statement"),
    "attach-memory": ("ATTACH ':memory:' AS m", "ATTACH statement"),
    "load-httpfs": ("LOAD httpfs", "LOAD statement"),
    "install-httpfs": ("INSTALL httpfs", "LOAD statement"),
    "set": ("SET threads = 1", "SET statement"),
    "set-external-access": ("SET enable_external_access = true", "SET statement"),
    "reset": ("RESET lock_configuration", "SET statement"),
    "pragma-profiling-output": ("PRAGMA profiling_output = '{dir}/profile.json'", "SET statement"),
    "pragma": ("PRAGMA enable_profiling", "PRAGMA statement"),
    "temp-table": ("CREATE TEMP TABLE t AS SELECT * FROM scenarios", "CREATE statement"),
    "temp-macro": ("CREATE TEMP MACRO f(x) AS x", "CREATE statement"),
    "two-selects": ("SELECT 1; SELECT 2", "2 statements"),
    "select-then-delete": ("SELECT 1; DELETE FROM scenarios", "2 statements"),
    "select-then-copy": ("SELECT 1; COPY scenarios TO '{dir}/x.csv'", "2 statements"),
    "insert": ("INSERT INTO scenarios (scenario) VALUES ('x')", "INSERT statement"),
    "drop": ("DROP TABLE scenarios", "DROP statement"),
    "explain-analyze-copy": ("EXPLAIN ANALYZE COPY scenarios TO '{dir}/x.csv'", "EXPLAIN"),
    "empty": ("  -- nothing\n", "empty"),
}


@pytest.mark.parametrize("sql", list(REFUSED.values()), ids=list(REFUSED))
def test_a_query_that_writes_reads_files_or_changes_settings_is_refused(
    sandbox, sql, monkeypatch, tmp_path
):
    """Every refused statement leaves the store, the files beside it and the DuckDB
    extension folder (under HOME) exactly as they were, and creates nothing."""
    text, message = sql
    monkeypatch.setenv("HOME", str(tmp_path))  # where INSTALL would put extensions
    before = _snapshot(sandbox)
    with pytest.raises(StoreError, match=message):
        query(sandbox / "s.duckdb", text.replace("{dir}", str(sandbox).replace("'", "''")))
    assert _snapshot(sandbox) == before
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 'x') TO '{dir}/copied.csv'",
        "EXPORT DATABASE '{dir}/exported'",
        "ATTACH '{dir}/other.duckdb' AS o",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "PRAGMA profiling_output = '{dir}/profile.json'",
    ],
)
def test_the_query_connection_alone_refuses_files_extensions_and_settings(
    sandbox, sql, monkeypatch, tmp_path
):
    """Defence in depth: with the statement check switched off, the connection's own
    settings still refuse (the store and the folder are unchanged)."""
    monkeypatch.setattr(store_module, "_check_read_only", lambda con, sql: None)
    monkeypatch.setenv("HOME", str(tmp_path))
    before = _snapshot(sandbox)
    with pytest.raises(StoreError, match=r"refused|locked|disabled"):
        query(sandbox / "s.duckdb", sql.replace("{dir}", str(sandbox).replace("'", "''")))
    assert _snapshot(sandbox) == before
    # DuckDB 1.1 makes the (empty) extension folder before refusing INSTALL
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def _documented_sql() -> list[str]:
    """The SQL examples of docs/batch.md and the query the CLI and README suggest."""
    root = Path(__file__).resolve().parents[1]
    docs = (root / "docs" / "batch.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sql\n(.*?)```", docs, flags=re.S)
    examples = [part.strip() for b in blocks for part in b.split(";\n") if part.strip()]
    assert len(examples) >= 3
    return [
        *examples,
        "SELECT * FROM scenarios LIMIT 5",  # printed after dupopt batch
        "SELECT scenario, cost_of_non_coordination FROM scenarios ORDER BY 2 DESC LIMIT 5",
    ]


@pytest.mark.parametrize(
    "sql",
    [
        *_documented_sql(),
        "SELECT status, count(*) AS n FROM scenarios GROUP BY status ORDER BY status",
        "WITH d AS (SELECT * FROM scenarios WHERE status = 'done') SELECT count(*) FROM d",
        "FROM scenarios SELECT scenario",
        "SELECT count(*) FROM allocation;",
        "DESCRIBE scenarios",
        "SHOW TABLES",
        "SUMMARIZE costs",
        "SELECT * FROM pragma_table_info('scenarios')",
        "SELECT key, value FROM meta",
        "PIVOT costs ON mode IN ('observed', 'coordinated') USING sum(value) GROUP BY term",
    ],
)
def test_read_only_queries_still_work(sandbox, sql):
    before = _snapshot(sandbox)
    frame = query(sandbox / "s.duckdb", sql)
    assert isinstance(frame, pd.DataFrame) and len(frame.columns) >= 1
    assert _snapshot(sandbox) == before


def test_a_query_sees_the_store_and_its_settings_are_locked(sandbox):
    frame = query(sandbox / "s.duckdb", "SELECT scenario FROM scenarios ORDER BY scenario")
    assert list(frame["scenario"]) == ["a", "b", "bad"]
    settings = query(
        sandbox / "s.duckdb",
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'autoinstall_known_extensions', 'autoload_known_extensions', 'lock_configuration')",
    )
    assert dict(zip(settings["name"], settings["value"], strict=True)) == {
        "enable_external_access": "false",
        "autoinstall_known_extensions": "false",
        "autoload_known_extensions": "false",
        "lock_configuration": "true",
    }
