"""The results store of a sweep: one DuckDB file, written only by the driver.

Tables (``columns`` in the store lists every column with its unit):

- ``scenarios``: one row per variant: kind, overrides (JSON), status, message, key
  metrics (cost of non-coordination, stranded capital and debt, observed vs
  coordinated; over the model's years: costs summed, capital and debt in the last
  year), whether the optimum has ties;
- ``parameters``: what defines each variant, one row per key (given, grid or drawn value);
- ``costs``: objective terms by variant, mode, term and year (CNY bn/yr);
- ``sectors``: per variant, mode, sector and year: regions with capacity, capacity,
  production, utilisation, stranded capacity, its capital and debt, unmet demand;
- ``allocation``: per variant, mode, region, sector and year: capacity, production,
  stranded capacity and the debt tied to it;
- ``meta`` (store identity: dataset and model version), ``runs`` (each invocation) and
  ``sweep_files`` (the sweep file text of each run, with its seed).

Every chunk of variants is committed in one transaction, so a variant is either wholly
in the store or not at all, whenever the driver is killed. A store written from another
base dataset, model version or sweep name is refused, not mixed.

Examples
--------
>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "s.duckdb"
>>> with Store.open(path, {"dataset_sha256": "abc", "model_version": "1", "sweep": "x"}) as st:
...     st.done()
{}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import signal
import threading
from pathlib import Path

import duckdb
import pandas as pd

from optimizer import __version__
from optimizer.errors import DupoptError
from optimizer.model.backends import library_versions
from optimizer.output.folders import check_target, staged_output, to_json, write_manifest
from optimizer.scenario.readers import display_path
from optimizer.sweeps.worker import SCENARIO_METRICS, ChunkResult

#: The store's format. 2: runs.solver_libraries, scenarios.solver, sector_info. 3: the
#: year in every key (costs by term and year, sectors by sector and year, allocation by
#: region, sector and year), and scenario metrics defined over the model's years.
STORE_VERSION = "3"
TABLES = ("scenarios", "parameters", "costs", "sectors", "allocation")
#: Packages whose source decides the numbers a sweep stores: the model, and the sweep
#: fast path and worker (every module in them, so a new one is never left out).
_MODEL_PACKAGES = ("model", "sweeps")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run INTEGER PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP,
    scheduler VARCHAR, workers INTEGER, sweep_sha256 VARCHAR,
    done INTEGER, failed INTEGER, skipped INTEGER, wall_s DOUBLE, outcome VARCHAR,
    solver_libraries VARCHAR);
CREATE TABLE IF NOT EXISTS sweep_files (
    sha256 VARCHAR PRIMARY KEY, name VARCHAR, source VARCHAR, seed BIGINT, text VARCHAR);
CREATE TABLE IF NOT EXISTS scenarios (
    scenario VARCHAR PRIMARY KEY, kind VARCHAR, status VARCHAR, message VARCHAR,
    overrides VARCHAR, overrides_sha256 VARCHAR, worker VARCHAR, solver VARCHAR,
    run INTEGER, wall_s DOUBLE, alternative_optima BOOLEAN,
    {", ".join(f"{name} DOUBLE" for name, _, _ in SCENARIO_METRICS)});
CREATE TABLE IF NOT EXISTS parameters (
    scenario VARCHAR, key VARCHAR, value DOUBLE, text VARCHAR);
CREATE TABLE IF NOT EXISTS costs (
    scenario VARCHAR, mode VARCHAR, term VARCHAR, year INTEGER, value DOUBLE);
CREATE TABLE IF NOT EXISTS sectors (
    scenario VARCHAR, mode VARCHAR, sector VARCHAR, year INTEGER, regions INTEGER,
    capacity DOUBLE, production DOUBLE, stranded_capacity DOUBLE,
    stranded_capital_cny_bn DOUBLE, stranded_debt_cny_bn DOUBLE, utilisation DOUBLE,
    unmet DOUBLE);
CREATE TABLE IF NOT EXISTS allocation (
    scenario VARCHAR, mode VARCHAR, region VARCHAR, sector VARCHAR, year INTEGER,
    capacity DOUBLE, production DOUBLE, stranded_capacity DOUBLE,
    stranded_debt_cny_bn DOUBLE);
CREATE TABLE IF NOT EXISTS sector_info (
    sector VARCHAR PRIMARY KEY, position INTEGER, name VARCHAR, capacity_unit VARCHAR,
    output_unit VARCHAR);
CREATE TABLE IF NOT EXISTS columns (
    table_name VARCHAR, column_name VARCHAR, unit VARCHAR, description VARCHAR);
"""

_COLUMNS = [
    ("scenarios", "status", "", "done, failed, error, or a solver status"),
    ("scenarios", "overrides", "JSON", "multipliers and parameters applied to the base"),
    ("scenarios", "solver", "", "solver library and version on the worker that solved it"),
    ("runs", "solver_libraries", "JSON", "solver library versions where the sweep was started"),
    ("sector_info", "position", "", "order of the sector in the base scenario's sectors table"),
    ("sector_info", "capacity_unit", "", "the base scenario's capacity unit of the sector"),
    ("scenarios", "alternative_optima", "", "an optimum (either mode) is not unique"),
    ("scenarios", "wall_s", "s", "time to solve the variant in both modes"),
    *(("scenarios", n, u, d) for n, u, d in SCENARIO_METRICS),
    ("parameters", "value", "multiplier or parameter value", "NaN for non-numbers"),
    ("costs", "year", "", "model year the term's cost falls in"),
    ("costs", "value", "CNY bn/yr", "objective term in that year"),
    ("sectors", "year", "", "model year"),
    ("sectors", "regions", "regions", "regions with capacity > 1e-6 capacity units"),
    ("sectors", "capacity", "sector capacity unit", "national capacity"),
    ("sectors", "production", "sector output unit per yr", "national production"),
    ("sectors", "stranded_capacity", "sector capacity unit", "cap - prod / max_utilisation"),
    ("sectors", "stranded_capital_cny_bn", "CNY bn", "capex x stranded capacity"),
    ("sectors", "stranded_debt_cny_bn", "CNY bn", "debt share x stranded capital"),
    ("sectors", "utilisation", "fraction", "production / capacity"),
    ("sectors", "unmet", "sector output unit per yr", "unmet domestic and export demand"),
    ("allocation", "year", "", "model year"),
    ("allocation", "capacity", "sector capacity unit", ""),
    ("allocation", "production", "sector output unit per yr", ""),
    ("allocation", "stranded_capacity", "sector capacity unit", ""),
    ("allocation", "stranded_debt_cny_bn", "CNY bn", ""),
]


class StoreError(DupoptError):
    """The store cannot be used (other dataset or model, locked, unreadable)."""


def model_version() -> str:
    """dupopt's version and a hash of the model's source: equal means same numbers.

    Hashes every Python file of the model and sweep packages, by relative path and
    content (line endings normalised).
    """
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for package in _MODEL_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes().replace(b"\r\n", b"\n"))
    return f"{__version__}+{digest.hexdigest()[:12]}"


def dataset_id(fingerprint: str, arcs: pd.DataFrame | None = None) -> str:
    """The base scenario's fingerprint, combined with a custom network if one is given."""
    if arcs is None:
        return fingerprint
    text = arcs.to_csv(index=False, lineterminator="\n")
    return hashlib.sha256(f"{fingerprint}|{text}".encode()).hexdigest()


def _connect(
    path: Path, read_only: bool, config: dict[str, object] | None = None
) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path), read_only=read_only, config=config or {})
    except duckdb.IOException as exc:
        text = str(exc)
        if "could not set lock" in text.lower() or "conflicting lock" in text.lower():
            raise StoreError(
                f"{display_path(path)}: the store is in use by another process (a running "
                "dupopt batch?); wait for it or stop it"
            ) from None
        if "not a valid duckdb database" in text.lower():
            raise StoreError(
                f"{display_path(path)}: not a dupopt store (not a DuckDB file)"
            ) from None
        raise StoreError(f"{display_path(path)}: cannot open the store ({text})") from None
    except duckdb.Error as exc:
        raise StoreError(
            f"{display_path(path)}: not a dupopt store (DuckDB could not read it: {exc})"
        ) from None


class Store:
    """An open results store (driver side). Use :meth:`open`."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.path, self.con = path, con
        self.run: int | None = None
        #: Ctrl-C arrived during a commit (held until the commit was done).
        self.interrupted = False

    @classmethod
    def open(
        cls, path: str | Path, identity: dict[str, str], sectors: pd.DataFrame | None = None
    ) -> Store:
        """Create the store, or open an existing one after checking its identity.

        ``identity`` holds ``dataset_sha256``, ``model_version`` and ``sweep`` (name).
        ``sectors`` (the base scenario's ``sector``, ``name``, ``capacity_unit``,
        ``output_unit``) is recorded in ``sector_info`` when the store is created, so
        reports name and measure the sweep's own sectors.
        """
        path = Path(path)
        fresh = not path.exists()
        if fresh:
            path.parent.mkdir(parents=True, exist_ok=True)
        con = _connect(path, read_only=False)
        store = cls(path, con)
        try:
            if fresh or not _has_table(con, "meta"):
                con.execute("BEGIN")
                con.execute(_SCHEMA)
                rows = [("store_version", STORE_VERSION), *sorted(identity.items())]
                con.executemany("INSERT INTO meta VALUES (?, ?)", rows)
                con.executemany("INSERT INTO columns VALUES (?, ?, ?, ?)", _COLUMNS)
                if sectors is not None:
                    rows = sectors[["sector", "name", "capacity_unit", "output_unit"]]
                    con.executemany(
                        "INSERT INTO sector_info VALUES (?, ?, ?, ?, ?)",
                        [(r[0], i, r[1], r[2], r[3]) for i, r in enumerate(rows.itertuples(False))],
                    )
                con.execute("COMMIT")
            else:
                store._check(identity)
        except BaseException:
            con.close()
            raise
        return store

    def _check(self, identity: dict[str, str]) -> None:
        meta = dict(self.con.execute("SELECT key, value FROM meta").fetchall())
        _check_version(self.path, meta.get("store_version"), "writes")
        what = {
            "dataset_sha256": "base dataset",
            "model_version": "model version",
            "sweep": "sweep name",
        }
        for key, label in what.items():
            if key in identity and meta.get(key) != identity[key]:
                raise StoreError(
                    f"{display_path(self.path)}: the store was written with another "
                    f"{label} ({meta.get(key)!r}, now {identity[key]!r}); results would be "
                    "mixed. Write to a new store (-o PATH), or rerun with the data and "
                    "dupopt version it was made with"
                )

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    # -- reading -------------------------------------------------------------------------
    def done(self) -> dict[str, tuple[str, str]]:
        """Variants in the store: name -> (overrides digest, status)."""
        rows = self.con.execute(
            "SELECT scenario, overrides_sha256, status FROM scenarios"
        ).fetchall()
        return {name: (sha, status) for name, sha, status in rows}

    # -- writing -------------------------------------------------------------------------
    def start_run(
        self,
        sweep_sha: str,
        sweep_text: str,
        name: str,
        source: str,
        seed,
        scheduler: str,
        workers: int,
    ) -> int:
        """Record an invocation (and its sweep file); returns its run number."""
        con = self.con
        con.execute("BEGIN")
        run = con.execute("SELECT coalesce(max(run), 0) + 1 FROM runs").fetchone()[0]
        con.execute(
            "INSERT INTO runs (run, started_at, scheduler, workers, sweep_sha256, outcome, "
            "solver_libraries) VALUES (?, current_timestamp, ?, ?, ?, 'running', ?)",
            [run, scheduler, workers, sweep_sha, json.dumps(library_versions(), sort_keys=True)],
        )
        con.execute(
            "INSERT OR IGNORE INTO sweep_files VALUES (?, ?, ?, ?, ?)",
            [sweep_sha, name, source, seed, sweep_text],
        )
        con.execute("COMMIT")
        self.run = run
        return run

    def run_counts(self) -> tuple[int, int]:
        """Variants this run committed: (done, not done), counted in the store itself.

        The caller's own tally can miss a chunk: a Ctrl-C held during a commit is raised
        right after it, possibly before the caller counted what was written."""
        done, other = self.con.execute(
            "SELECT count(*) FILTER (WHERE status = 'done'), "
            "count(*) FILTER (WHERE status <> 'done') FROM scenarios WHERE run = ?",
            [self.run],
        ).fetchone()
        return int(done), int(other)

    def finish_run(self, done: int, failed: int, skipped: int, wall_s: float, outcome: str) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = current_timestamp, done = ?, failed = ?, "
            "skipped = ?, wall_s = ?, outcome = ? WHERE run = ?",
            [done, failed, skipped, wall_s, outcome, self.run],
        )

    def commit(self, chunk: ChunkResult, *, replace: set[str] = frozenset()) -> set[str]:
        """Write a chunk's variants in one transaction; returns the names written.

        Variants already in the store are skipped (never duplicated), except those in
        ``replace`` (failed variants being retried), whose old rows are deleted first.
        """
        names = list(chunk.scenarios["scenario"]) if len(chunk.scenarios) else []
        if not names:
            return set()
        with _ctrl_c_held() as caught:
            written = self._commit(chunk, names, replace)
        # Ctrl-C during the commit: the caller counts what was written, then stops.
        self.interrupted = self.interrupted or bool(caught)
        return written

    def _commit(self, chunk: ChunkResult, names: list[str], replace: set[str]) -> set[str]:
        con = self.con
        con.execute("BEGIN")
        try:
            present = {
                r[0]
                for r in con.execute(
                    "SELECT scenario FROM scenarios WHERE list_contains(?, scenario)", [names]
                ).fetchall()
            }
            again = sorted(present & set(replace))
            if again:
                for table in TABLES:
                    con.execute(f"DELETE FROM {table} WHERE list_contains(?, scenario)", [again])
            skip = present - set(again)
            written: set[str] = set()
            for table in TABLES:
                frame = getattr(chunk, table)
                if frame is None or frame.empty:
                    continue
                if skip:
                    frame = frame.loc[~frame["scenario"].isin(skip)]
                if table == "scenarios":
                    frame = frame.assign(run=self.run)
                    written = set(frame["scenario"])
                if frame.empty:
                    continue
                con.register("chunk_frame", frame)
                try:
                    con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM chunk_frame")
                finally:
                    con.unregister("chunk_frame")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return written


@contextlib.contextmanager
def _ctrl_c_held():
    """Hold Ctrl-C (SIGINT) during the block, yielding the list of signals caught: a
    commit is never interrupted half-way (the transaction protects against SIGKILL)."""
    caught: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield caught
        return
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield caught
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_version(path: Path, version: str | None, does: str) -> None:
    """Refuse a store of another format, saying what differs and what to do."""
    if version == STORE_VERSION:
        return
    if version is not None and version.isdigit() and int(version) < int(STORE_VERSION):
        why = (
            f"it was written by an older dupopt (store format {version}; this dupopt {does} "
            f"format {STORE_VERSION}, whose tables carry the year in every key)"
        )
    else:
        why = f"its store format is {version!r}; this dupopt {does} format {STORE_VERSION}"
    raise StoreError(
        f"{display_path(path)}: {why}. Run the sweep again into a new store (-o PATH); "
        "dupopt query and dupopt export still read the old one"
    )


def _has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        ).fetchone()[0]
    )


def read_store(path: str | Path, tables: tuple[str, ...] | None = None) -> dict[str, pd.DataFrame]:
    """Load a store's tables into pandas (read-only).

    A store of another format (an older dupopt's, without the year in its keys) is
    refused with :class:`StoreError`, naming the format and what to do.

    Examples
    --------
    >>> # tables = read_store("reports/sensitivity.duckdb")
    >>> # tables["scenarios"].set_index("scenario")["cost_of_non_coordination"].describe()
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{display_path(path)}: no such store")
    con = _connect(path, read_only=True)
    try:
        if not _has_table(con, "meta"):
            raise StoreError(f"{display_path(path)}: not a dupopt store (no meta table)")
        version = con.execute("SELECT value FROM meta WHERE key = 'store_version'").fetchone()
        _check_version(path, version[0] if version else None, "reads")
        names = tables or (*TABLES, "meta", "runs", "sweep_files", "sector_info", "columns")
        return {name: con.execute(f"SELECT * FROM {name}").df() for name in names}
    finally:
        con.close()


#: Connection settings for user SQL (``dupopt query``): no file but the store, no
#: network, no extension installed or loaded, and no setting changed by the query
#: (``lock_configuration`` is applied last, so it also freezes the others). Every key
#: exists from DuckDB 1.1 on.
QUERY_CONFIG: dict[str, object] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_persistent_secrets": False,
    "python_enable_replacements": False,
    "lock_configuration": True,
}

#: What ``query`` accepts: the statement type DuckDB's parser gives to SELECT, WITH ...
#: SELECT, FROM-first queries, VALUES, DESCRIBE, SHOW, SUMMARIZE and PIVOT with its
#: values listed (``IN (...)``).
_QUERY_TYPES = ("SELECT",)
_QUERY_HELP = (
    "dupopt query runs one read-only statement: SELECT (also WITH ... SELECT, FROM ..., "
    "DESCRIBE, SHOW TABLES, SUMMARIZE)"
)


def query(path: str | Path, sql: str) -> pd.DataFrame:
    """Run one read-only SQL statement on a store and return the result as a DataFrame.

    The statement is parsed by DuckDB first: exactly one statement of type SELECT is
    accepted (this includes ``WITH ... SELECT``, ``FROM t``, ``DESCRIBE``, ``SHOW``,
    ``SUMMARIZE``); anything else (``COPY``, ``EXPORT``, ``ATTACH``, ``LOAD``,
    ``INSTALL``, ``SET``, ``CREATE TEMP TABLE``, ``PRAGMA``, several statements) is
    refused. It then runs on a read-only connection that cannot reach any file but the
    store (``read_csv``, ``read_text``, ``glob``, ...), the network or extensions, and
    cannot change its settings (:data:`QUERY_CONFIG`).

    Parameters
    ----------
    path
        The store (a DuckDB file written by ``dupopt batch``).
    sql
        One statement, DuckDB dialect.

    Raises
    ------
    StoreError
        The store is missing or unreadable, the statement is refused, or it failed.

    Examples
    --------
    >>> # query("reports/sensitivity.duckdb", "SELECT status, count(*) FROM scenarios "
    >>> #       "GROUP BY status")
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{display_path(path)}: no such store")
    con = _connect(path, read_only=True, config=QUERY_CONFIG)
    try:
        _check_read_only(con, sql)
        return con.execute(sql).df()
    except duckdb.PermissionException as exc:
        raise StoreError(
            "the query was refused: dupopt query reads the store only, not other files, "
            f"the network or extensions ({_first_line(exc)})"
        ) from None
    except duckdb.Error as exc:
        raise StoreError(f"the query failed: {exc}") from None
    finally:
        con.close()


def _check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse anything but one SELECT-type statement, as DuckDB's parser sees it."""
    statements = con.extract_statements(sql)
    if not statements:
        raise StoreError(f"the query is empty; {_QUERY_HELP}")
    if len(statements) > 1:
        raise StoreError(
            f"the query holds {len(statements)} statements; {_QUERY_HELP}, without ';' "
            "between statements"
        )
    kind = statements[0].type.name
    if kind not in _QUERY_TYPES:
        hint = ""
        if kind == "MULTI":  # PIVOT without its values creates a type first
            hint = "; name the PIVOT values (PIVOT ... ON column IN (...))"
        raise StoreError(f"the query was refused ({kind} statement): {_QUERY_HELP}{hint}")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def export_parquet(path: str | Path, out: str | Path) -> list[Path]:
    """Write every table of a store as ``<out>/<table>.parquet``.

    The folder appears complete or not at all (:func:`optimizer.output.folders.staged_output`):
    ``out`` may be missing, empty or an earlier export, which is replaced; anything else
    is refused. Besides the tables it holds ``manifest.json`` (kind ``"export"``, the
    store and its identity) and ``README.json`` (the store's ``meta`` table).
    """
    path, out = Path(path), Path(out)
    if not path.is_file():
        raise StoreError(f"{display_path(path)}: no such store")
    inputs = [(path, "the store")]
    check_target(out, "export", inputs=inputs)  # before opening the store: fail fast
    con = _connect(path, read_only=True)
    try:
        with staged_output(out, "export", inputs=inputs) as tmp:
            names = [r[0] for r in con.execute("SHOW TABLES").fetchall()]
            for name in names:
                target = (tmp / f"{name}.parquet").as_posix().replace("'", "''")
                con.execute(f"COPY {name} TO '{target}' (FORMAT parquet)")
            meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            (tmp / "README.json").write_text(to_json(meta) + "\n", encoding="utf-8")
            write_manifest(tmp, "export", source=display_path(path), store=meta)
    finally:
        con.close()
    return sorted(out.glob("*.parquet"))
