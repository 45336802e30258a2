"""Sweeps end to end: on a Dask LocalCluster, killed and resumed, failures isolated,
stores never mixed."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from optimizer import default_data_dir
from optimizer.sweeps.driver import run_sweep
from optimizer.sweeps.store import StoreError, query, read_store
from optimizer.sweeps.sweep_file import load_sweep

# Independent regional cost factors make every optimum unique, so results can be compared
# cell by cell between runs (the default data alone has ties). On the shipped data as an
# LP: a MILP's plan may differ within its gap between a clean and a resumed run.
SWEEP = """
name = "{name}"
scenario = "{scenario}"
chunk_size = {chunk}
[grid]
"demand.solar_pv" = [0.8, 1.2]
[monte_carlo]
samples = {samples}
seed = 5
[monte_carlo.vary]
cost_factor = {{ distribution = "uniform", low = 0.8, high = 1.2, independent = true }}
export = {{ distribution = "uniform", low = 0.7, high = 1.1 }}
financing_rate = {{ distribution = "triangular", low = 0.8, mode = 1.0, high = 1.5 }}
"""


def _sweep_file(folder: Path, name="t", samples=20, chunk=4, extra="") -> Path:
    path = folder / f"{name}.toml"
    divisible = (default_data_dir() / "divisible.toml").as_posix()
    text = SWEEP.format(name=name, samples=samples, chunk=chunk, scenario=divisible)
    text += textwrap.dedent(extra)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The reference: the 40-sample sweep run in this process."""
    folder = tmp_path_factory.mktemp("clean")
    path = _sweep_file(folder, samples=40)
    summary = run_sweep(load_sweep(path), folder / "clean.duckdb", workers=0, progress=False)
    assert summary.done == 43 and summary.failed == 0
    return read_store(folder / "clean.duckdb")


def _assert_same_results(tables, reference, names=None):
    s = tables["scenarios"].set_index("scenario").sort_index()
    r = reference["scenarios"].set_index("scenario").sort_index()
    if names is not None:
        r = r.loc[names]
    assert list(s.index) == list(r.index)
    for column in ("cost_observed", "cost_coordinated", "cost_of_non_coordination"):
        assert s[column].to_numpy() == pytest.approx(r[column].to_numpy(), rel=1e-9)
    for column in ("stranded_debt_observed", "stranded_capital_coordinated"):
        assert s[column].to_numpy() == pytest.approx(r[column].to_numpy(), rel=1e-6, abs=1e-6)
    unique = s.index[~s["alternative_optima"].astype(bool) & ~r["alternative_optima"].astype(bool)]
    # The grid points keep the default data's ties, and Monte-Carlo draws whose shipment
    # costs differ by less than the solver's precision are flagged as ties too (their
    # allocation may differ between runs); the rest must agree cell by cell.
    assert len(unique) >= len(s) // 2

    def cells(t):
        a = t["allocation"]
        a = a.loc[a["scenario"].isin(unique)]
        return a.set_index(["scenario", "mode", "region", "sector", "year"]).sort_index()

    a, b = cells(tables), cells(reference)
    assert a.index.equals(b.index) and a.index.is_unique
    scale = b["capacity"].abs().max()
    assert a["capacity"].to_numpy() == pytest.approx(b["capacity"].to_numpy(), abs=1e-7 * scale)


def test_a_sweep_on_a_local_cluster_equals_the_in_process_run(tmp_path, clean):
    path = _sweep_file(tmp_path, samples=40)
    seen = []
    summary = run_sweep(
        load_sweep(path),
        tmp_path / "dask.duckdb",
        workers=2,
        progress=False,
        on_progress=lambda s: seen.append(s.done),
    )
    assert (summary.done, summary.failed, summary.skipped, summary.workers) == (43, 0, 0, 2)
    assert seen == sorted(seen) and seen[-1] == 43 and len(seen) >= 10  # chunks of 4
    tables = read_store(tmp_path / "dask.duckdb")
    assert tables["scenarios"]["worker"].nunique() == 2  # both workers took chunks
    _assert_same_results(tables, clean)
    rerun = run_sweep(load_sweep(path), tmp_path / "dask.duckdb", workers=0, progress=False)
    assert (rerun.done, rerun.skipped) == (0, 43)


def _progress(stream, at_least: int, timeout: float) -> int:
    """Read the progress bar until it shows at least ``at_least`` scenarios done."""
    fd = stream.fileno()
    os.set_blocking(fd, False)
    text, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            data = b""
        if data:
            text += data.decode("utf-8", "replace")
            counts = [int(m) for m in re.findall(r"(\d+)/\d+ \[", text)]
            if counts and counts[-1] >= at_least:
                return counts[-1]
        time.sleep(0.05)
    raise AssertionError(f"no progress to {at_least} within {timeout} s:\n{text[-2000:]}")


@pytest.mark.parametrize("workers", ["2", "0"], ids=["dask", "in-process-pipelined"])
def test_sigkill_of_the_driver_then_resume(tmp_path, clean, workers):
    """Kill -9 the driver mid-sweep; the same command resumes; every scenario is in the
    store exactly once, with the results of a clean run. In this process (--workers 0,
    solved on a thread of its own) the kill may land while variants of the next chunks
    are prepared or solved: they are not in the store and the resumed run solves them."""
    path = _sweep_file(tmp_path, samples=40, chunk=2)
    store = tmp_path / "killed.duckdb"
    command = [sys.executable, "-m", "dupopt", "batch", str(path), "-o", str(store)]
    command += ["--workers", workers]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    try:
        shown = _progress(proc.stderr, 8, timeout=180)
        workers = psutil.Process(proc.pid).children(recursive=True)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    psutil.wait_procs(workers, timeout=30)  # the local workers die with their driver
    assert not [p for p in workers if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    partial = query(store, "SELECT count(*) AS n, count(DISTINCT scenario) AS d FROM scenarios")
    committed = int(partial["n"][0])
    assert committed == int(partial["d"][0]) and shown <= committed + 8 and committed < 43
    # no half-written scenario: each committed scenario has its tables
    per = query(store, "SELECT scenario, count(*) AS n FROM allocation GROUP BY scenario")
    assert len(per) == committed and per["n"].nunique() == 1

    done = subprocess.run([*command, "--no-progress"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert f"{43 - committed} done, 0 failed, {committed} skipped" in done.stdout
    tables = read_store(store)
    assert tables["scenarios"]["scenario"].is_unique and len(tables["scenarios"]) == 43
    assert list(tables["runs"]["outcome"]) == ["running", "finished"]  # the killed run
    _assert_same_results(tables, clean)


def test_a_failing_scenario_does_not_stop_the_batch(tmp_path):
    extra = """
    [[scenarios]]
    name = "ok"
    "demand.solar_pv" = 1.1
    """
    path = _sweep_file(tmp_path, samples=12, extra=extra)
    text = path.read_text().replace(
        'export = { distribution = "uniform", low = 0.7, high = 1.1 }',
        'export = { distribution = "normal", mean = 1.0, sd = 0.7 }',
    )
    path.write_text(text)
    sweep = load_sweep(path)
    bad = {j.name for j in sweep.jobs if j.error}
    assert 0 < len(bad) < 6
    summary = run_sweep(sweep, tmp_path / "s.duckdb", workers=2, progress=False)
    assert summary.failed == len(bad) and summary.done == len(sweep.jobs) - len(bad)
    s = read_store(tmp_path / "s.duckdb")["scenarios"].set_index("scenario")
    assert set(s.index[s["status"] != "done"]) == bad
    assert s.loc[sorted(bad), "message"].str.contains("export drawn -").all()
    assert s.loc[sorted(bad), "cost_observed"].isna().all()
    assert s.loc[s["status"] == "done", "cost_of_non_coordination"].notna().all()
    assert {n for n, _ in summary.failures} == bad
    retried = run_sweep(sweep, tmp_path / "s.duckdb", workers=0, progress=False, retry_failed=True)
    assert (retried.failed, retried.skipped) == (len(bad), len(sweep.jobs) - len(bad))
    assert len(read_store(tmp_path / "s.duckdb")["scenarios"]) == len(sweep.jobs)


def test_lost_workers_are_replaced_and_their_tasks_rerun(tmp_path):
    """At the first commit every worker process is killed; the nannies start new ones and
    the scheduler reruns the lost tasks: every scenario ends done, exactly once."""
    path = _sweep_file(tmp_path, samples=30, chunk=2)
    killed: list[int] = []

    def kill_the_workers(summary):
        if killed:
            return
        for child in psutil.Process().children(recursive=True):
            # Dask worker processes (not the multiprocessing resource tracker)
            if any("spawn_main" in part for part in child.cmdline()):
                child.kill()
                killed.append(child.pid)

    summary = run_sweep(
        load_sweep(path),
        tmp_path / "s.duckdb",
        workers=2,
        progress=False,
        on_progress=kill_the_workers,
    )
    assert len(killed) == 2
    assert (summary.done, summary.failed) == (33, 0)
    s = read_store(tmp_path / "s.duckdb")["scenarios"]
    assert s["scenario"].is_unique and (s["status"] == "done").all()
    pids = {int(w.rsplit(":", 1)[1]) for w in s["worker"]}
    assert pids - set(killed)  # the rest was solved by replacement workers


def test_stores_are_never_mixed(tmp_path, scenario_dir, files):
    path = _sweep_file(tmp_path, samples=2)
    store = tmp_path / "s.duckdb"
    run_sweep(load_sweep(path), store, workers=0, progress=False)
    before = query(store, "SELECT count(*) AS n FROM allocation")["n"][0]
    # another base dataset (one demand figure changed)
    files.set_cell("demand.csv", "value", "2.0", region="110000", sector="aluminium")
    moved = re.sub(r'(?m)^scenario = ".*"$', f'scenario = "{scenario_dir}"', path.read_text())
    other_data = tmp_path / "other_data.toml"
    other_data.write_text(moved)
    with pytest.raises(StoreError, match="another base dataset"):
        run_sweep(load_sweep(other_data), store, workers=0, progress=False)
    # the same names defined differently
    changed = tmp_path / "changed.toml"
    changed.write_text(path.read_text().replace("[0.8, 1.2]", "[0.7, 1.2]"))
    with pytest.raises(StoreError, match="other overrides"):
        run_sweep(load_sweep(changed), store, workers=0, progress=False)
    # another sweep
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(path.read_text().replace('name = "t"', 'name = "u"'))
    with pytest.raises(StoreError, match="another sweep name"):
        run_sweep(load_sweep(renamed), store, workers=0, progress=False)
    # another model version
    import duckdb

    with duckdb.connect(str(store)) as con:
        con.execute("UPDATE meta SET value = '0.0.1+old' WHERE key = 'model_version'")
    with pytest.raises(StoreError, match="another model version"):
        run_sweep(load_sweep(path), store, workers=0, progress=False)
    assert query(store, "SELECT count(*) AS n FROM allocation")["n"][0] == before
    # refusing to resume when asked not to
    with pytest.raises(StoreError, match="exists"):
        run_sweep(load_sweep(path), store, workers=0, progress=False, resume=False)


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path):
    path = _sweep_file(tmp_path, samples=40, chunk=2)
    store = tmp_path / "int.duckdb"
    proc = subprocess.Popen(
        [sys.executable, "-m", "dupopt", "batch", str(path), "-o", str(store), "--workers", "2"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_interactive,
    )
    try:
        _progress(proc.stderr, 4, timeout=180)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode()
    assert proc.returncode == 130, err
    assert "batch interrupted" in err and "rerun the same command to resume" in err
    assert "Traceback" not in err
    runs = read_store(store)["runs"]
    assert list(runs["outcome"]) == ["interrupted"]
    n = len(read_store(store)["scenarios"])
    assert int(runs["done"][0]) == n and 0 < n < 43


def test_an_existing_scheduler_is_used(tmp_path):
    from distributed import LocalCluster

    path = _sweep_file(tmp_path, samples=4)
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster:
        summary = run_sweep(
            load_sweep(path),
            tmp_path / "s.duckdb",
            scheduler=cluster.scheduler_address,
            progress=False,
        )
    assert (summary.done, summary.workers) == (7, 1)
    runs = read_store(tmp_path / "s.duckdb")["runs"]
    assert runs["scheduler"][0].startswith("tcp://")


def test_an_unreachable_scheduler_is_reported(tmp_path):
    from optimizer.errors import DupoptError

    path = _sweep_file(tmp_path, samples=1)
    t0 = time.monotonic()
    with pytest.raises(DupoptError, match="cannot reach the Dask scheduler"):
        run_sweep(load_sweep(path), tmp_path / "s.duckdb", scheduler="tcp://127.0.0.1:9")
    assert time.monotonic() - t0 < 60
    assert not (tmp_path / "s.duckdb").exists()  # no empty store left behind


# -- the local cluster: localhost only, no dashboard unless asked ----------------------------
def _get(url: str) -> int:
    """HTTP status of a GET (no proxy: the address is local)."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _listening() -> set[tuple[str, int]]:
    """(address, port) of every listening TCP socket of this process and its children."""
    found = set()
    for proc in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        connections = getattr(proc, "net_connections", None) or proc.connections
        for c in connections(kind="inet"):
            if c.status == psutil.CONN_LISTEN:
                found.add((c.laddr.ip, c.laddr.port))
    return found


def _worker_processes(pid: int | None = None) -> list[psutil.Process]:
    """The Dask worker processes below ``pid`` (default: this process)."""
    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if any("spawn_main" in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:  # gone meanwhile
            continue
    return found


def _sigint_blocked(pid: int) -> bool:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigBlk:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    raise AssertionError(f"no SigBlk for {pid}")


def _inspect_cluster(seen: dict):
    """An on_progress callback that records, once, what the running cluster exposes."""

    def inspect(summary):
        if seen:
            return
        from distributed import get_client

        info = get_client().scheduler_info()
        seen["scheduler"] = info["address"]
        seen["http"] = info["services"].get("dashboard")
        seen["workers"] = list(info["workers"])
        seen["nannies"] = [w.get("nanny") for w in info["workers"].values()]
        seen["worker_http"] = [w["services"].get("dashboard") for w in info["workers"].values()]
        seen["listening"] = _listening()
        seen["status"] = {
            path: _get(f"http://127.0.0.1:{seen['http']}{path}")
            for path in ("/status", "/health", "/metrics", "/info/main/workers.html")
        }
        seen["worker_status"] = [_get(f"http://127.0.0.1:{p}/health") for p in seen["worker_http"]]
        if sys.platform == "linux":
            seen["sigint_blocked"] = [_sigint_blocked(p.pid) for p in _worker_processes()]

    return inspect


def test_a_local_cluster_listens_on_localhost_only_and_serves_no_dashboard(tmp_path):
    path = _sweep_file(tmp_path, samples=2, chunk=1)
    seen: dict = {}
    summary = run_sweep(
        load_sweep(path),
        tmp_path / "s.duckdb",
        workers=1,
        progress=False,
        on_progress=_inspect_cluster(seen),
    )
    assert summary.done == 5 and summary.dashboard is None
    addresses = [seen["scheduler"], *seen["workers"], *seen["nannies"]]
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    assert seen["listening"] and {ip for ip, _ in seen["listening"]} == {"127.0.0.1"}
    # Dask always opens an HTTP server; ours serves nothing, dashboard included
    assert set(seen["status"].values()) == {404}, seen["status"]
    assert set(seen["worker_status"]) == {404}
    if sys.platform == "linux":  # the terminal's Ctrl-C never reaches the workers
        assert seen["sigint_blocked"] == [True]


def test_the_dashboard_is_started_on_localhost_when_asked(tmp_path, capsys):
    path = _sweep_file(tmp_path, samples=1, chunk=1)
    seen: dict = {}
    summary = run_sweep(
        load_sweep(path),
        tmp_path / "s.duckdb",
        workers=1,
        progress=False,
        dashboard=True,
        on_progress=_inspect_cluster(seen),
    )
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/status", summary.dashboard or "")
    assert summary.dashboard.split(":")[2].split("/")[0] == str(seen["http"])
    assert seen["status"]["/status"] == 200 and seen["status"]["/health"] == 200
    assert {ip for ip, _ in seen["listening"]} == {"127.0.0.1"}
    assert f"Dask dashboard: {summary.dashboard}" in capsys.readouterr().err


def test_a_dashboard_needs_a_local_cluster(tmp_path):
    from optimizer.errors import DupoptError

    path = _sweep_file(tmp_path, samples=1)
    with pytest.raises(DupoptError, match="local Dask cluster"):
        run_sweep(load_sweep(path), tmp_path / "s.duckdb", workers=0, dashboard=True)
    assert not (tmp_path / "s.duckdb").exists()


# -- Ctrl-C in a terminal: SIGINT to the whole process group ---------------------------------
_BAR = re.compile(r"^\S+:\s+\d+%\|")


def _messages(stderr: str) -> list[str]:
    """stderr without the progress bar and the opening line."""
    parts = (p.strip() for p in re.split(r"[\r\n]+", stderr))
    return [p for p in parts if p and not _BAR.match(p) and not p.startswith("Sweep '")]


def _interactive() -> None:
    """In the child before it runs: Ctrl-C as in a terminal. A test run started in the
    background (``pytest &``, nohup) ignores SIGINT, and a child inheriting that would
    rightly ignore the tests' Ctrl-C too."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start_batch(path: Path, store: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dupopt", "batch", str(path), "-o", str(store), "--workers", "1"],
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,  # its own group, as a shell gives a command
        preexec_fn=_interactive,
    )


def _ctrl_c(proc: subprocess.Popen, seen: str) -> tuple[int, str]:
    """Send SIGINT to the process group, as a terminal's Ctrl-C does; return the exit
    code and all of stderr."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode, seen + err.decode("utf-8", "replace")


def _assert_consistent_then_resume(path: Path, store: Path, total: int) -> None:
    if store.exists():
        tables = read_store(store)
        runs, s = tables["runs"], tables["scenarios"]
        assert list(runs["outcome"]) == ["interrupted"]
        assert s["scenario"].is_unique and int(runs["done"][0]) == len(s) < total
    resumed = run_sweep(load_sweep(path), store, workers=0, progress=False)
    assert resumed.done + resumed.skipped == total and resumed.failed == 0
    s = read_store(store)["scenarios"]
    assert s["scenario"].is_unique and len(s) == total and (s["status"] == "done").all()


def test_ctrl_c_in_a_terminal_during_the_sweep_prints_one_line_and_exits_130(tmp_path):
    path = _sweep_file(tmp_path, samples=20, chunk=2)
    store = tmp_path / "s.duckdb"
    proc = _start_batch(path, store)
    try:
        _progress(proc.stderr, 2, timeout=180)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    code, err = _ctrl_c(proc, "")
    assert code == 130, err
    assert "Traceback" not in err and "Exception" not in err, err
    lines = _messages(err)
    assert len(lines) == 1 and lines[0].startswith("batch interrupted: "), err
    assert lines[0].endswith("rerun the same command to resume")
    _assert_consistent_then_resume(path, store, total=23)


def test_ctrl_c_in_a_terminal_while_the_cluster_starts_prints_one_line_and_exits_130(tmp_path):
    path = _sweep_file(tmp_path, samples=2, chunk=1)
    store = tmp_path / "s.duckdb"
    proc = _start_batch(path, store)
    deadline = time.monotonic() + 120
    try:
        # the first worker process is being started: the cluster is starting
        while not _worker_processes(proc.pid):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.01)
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        raise
    code, err = _ctrl_c(proc, "")
    assert code == 130, err
    assert "Traceback" not in err and "Exception" not in err, err
    lines = _messages(err)
    assert len(lines) == 1 and lines[0].startswith("batch interrupted"), err
    _assert_consistent_then_resume(path, store, total=5)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_tls_scheduler_is_used_with_dasks_tls_configuration(tmp_path):
    """As docs/batch.md says: a tls:// scheduler needs Dask's TLS configuration; without
    it the run stops with a clear error, with it the sweep runs."""
    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    from optimizer.errors import DupoptError

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=dupopt-test"
    subprocess.run(
        [*openssl.split(), "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    c, k = str(cert), str(key)
    security = Security(
        tls_ca_file=c,
        tls_scheduler_cert=c,
        tls_scheduler_key=k,
        tls_worker_cert=c,
        tls_worker_key=k,
        tls_client_cert=c,  # the cluster object's own connection
        tls_client_key=k,
        require_encryption=True,
    )
    path = _sweep_file(tmp_path, samples=1)
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        protocol="tls://",
        host="127.0.0.1",
        security=security,
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        with pytest.raises(DupoptError, match="no TLS certificates are configured"):
            run_sweep(load_sweep(path), tmp_path / "s.duckdb", scheduler=address)
        config = {
            "distributed.comm.require-encryption": True,
            "distributed.comm.tls.ca-file": c,
            "distributed.comm.tls.client.cert": c,
            "distributed.comm.tls.client.key": k,
        }
        with dask.config.set(config):
            summary = run_sweep(
                load_sweep(path), tmp_path / "s.duckdb", scheduler=address, progress=False
            )
    assert (summary.done, summary.failed) == (4, 0)
    assert read_store(tmp_path / "s.duckdb")["runs"]["scheduler"].iloc[-1] == address


def test_a_ctrl_c_between_a_commit_and_its_tally_still_counts_the_committed_chunk(
    tmp_path, monkeypatch
):
    """Ctrl-C is held during a commit and raised right after it, possibly before the
    driver has counted what was written: the run's record and the printed summary count
    what the store holds, not the driver's tally."""
    from optimizer.sweeps.driver import Interrupted
    from optimizer.sweeps.store import Store

    path = _sweep_file(tmp_path, samples=6, chunk=2)
    store_path = tmp_path / "tally.duckdb"
    commit = Store.commit
    calls = []

    def commit_then_ctrl_c(self, chunk, **kwargs):
        written = commit(self, chunk, **kwargs)
        calls.append(len(written))
        if len(calls) == 2:
            raise KeyboardInterrupt  # after the second chunk is in, before its tally
        return written

    monkeypatch.setattr(Store, "commit", commit_then_ctrl_c)
    with pytest.raises(Interrupted) as info:
        run_sweep(load_sweep(path), store_path, workers=0, progress=False)
    tables = read_store(store_path)
    stored = len(tables["scenarios"])
    assert stored == sum(calls) > calls[0]
    assert int(tables["runs"]["done"][0]) + int(tables["runs"]["failed"][0]) == stored
    assert info.value.summary.done + info.value.summary.failed == stored


@pytest.mark.parametrize(
    ("samples", "cpus", "asked", "expected"),
    [
        (20, 2, None, 0),  # small: in this process
        (20, 2, 2, 2),  # told: Dask whatever the size
        (40, 2, None, 2),  # from the threshold (set to 40 here): one worker per core
        (40, 1, None, 0),  # one core: never Dask unless told
    ],
)
def test_batch_picks_dask_by_the_sweep_size_unless_told(
    tmp_path, monkeypatch, samples, cpus, asked, expected
):
    """Without workers asked for, a sweep below DASK_MIN_SCENARIOS scenarios to run (43
    here with 40 samples) runs in this process, a larger one on one worker per core."""
    import optimizer.sweeps.driver as driver

    monkeypatch.setattr(driver, "DASK_MIN_SCENARIOS", 40)
    monkeypatch.setattr(driver.os, "cpu_count", lambda: cpus)
    on_dask = []
    monkeypatch.setattr(driver, "_on_dask", lambda run, sched, workers, *a: on_dask.append(workers))
    path = _sweep_file(tmp_path, samples=samples)
    summary = run_sweep(load_sweep(path), tmp_path / "s.duckdb", workers=asked, progress=False)
    if expected == 0:
        assert on_dask == [] and summary.done == samples + 3
    else:
        assert on_dask == [expected]
