"""Driver side of a sweep: schedule chunks on Dask, commit results, resume.

:func:`run_sweep` groups the variants still to do into chunks, runs
:func:`optimizer.sweeps.worker.run_chunk` on each (on a Dask ``LocalCluster`` with one
single-threaded worker per core, listening on 127.0.0.1 only and without a dashboard
unless asked; on an existing scheduler; or in this process with ``workers=0``, and by
default for a sweep too small to pay for a cluster's start: :func:`auto_workers`; there
HiGHS solves on a thread of its own while the next variants are prepared,
:func:`pipeline_in_process`), and
commits every chunk to the :class:`~optimizer.sweeps.store.Store` in one
transaction as it arrives. Only the driver writes the store. Rerunning the same sweep on
the same store skips what is done, so an interrupted sweep resumes where it stopped.

Examples
--------
>>> import tempfile, pathlib, textwrap
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "sweep.toml").write_text('name = "doc"\\n[grid]\\ndemand = [0.9, 1.1]\\n')
>>> from optimizer.sweeps.sweep_file import load_sweep
>>> summary = run_sweep(load_sweep(folder / "sweep.toml"), folder / "s.duckdb",
...                     workers=0, progress=False)
>>> summary.done, summary.failed
(3, 0)
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from optimizer.errors import DupoptError
from optimizer.scenario.readers import display_path
from optimizer.sweeps.store import Store, StoreError, dataset_id, model_version, query
from optimizer.sweeps.sweep_file import Job, Sweep
from optimizer.sweeps.worker import ChunkResult, run_chunk, solve_chunks

#: How long to try reaching a given scheduler.
CONNECT_TIMEOUT = "10s"
#: Dask retries of a chunk whose worker died (on top of Dask's own reassignment).
RETRIES = 2


@dataclass
class BatchSummary:
    """What a batch run did. ``done`` and ``failed`` count variants of this run;
    ``skipped`` those already in the store."""

    store: Path
    total: int
    done: int = 0
    failed: int = 0
    skipped: int = 0
    wall_s: float = 0.0
    workers: int = 0
    interrupted: bool = False
    failures: list[tuple[str, str]] = field(default_factory=list)
    #: The link of the local cluster's dashboard (``dashboard=True``), else None.
    dashboard: str | None = None

    @property
    def rate(self) -> float:
        """Variants solved per second in this run."""
        n = self.done + self.failed
        return n / self.wall_s if self.wall_s > 0 else float("nan")

    def __str__(self) -> str:
        if self.interrupted:  # one line: the rest is in the store
            return (
                f"batch interrupted: {self.done} done, {self.failed} failed, {self.skipped} "
                f"skipped (already in the store), of {self.total}; store "
                f"{display_path(self.store)}; rerun the same command to resume"
            )
        head = "finished"
        where = (
            "in this process"
            if self.workers == 0
            else f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        )
        lines = [
            f"batch {head}: {self.done} done, {self.failed} failed, {self.skipped} skipped "
            f"(already in the store), of {self.total}; wall time {self.wall_s:.1f} s "
            f"({self.rate:.1f} scenarios/s, {where})",
            f"store: {display_path(self.store)}",
        ]
        for name, message in self.failures[:10]:
            lines.append(f"  failed {name}: {message.splitlines()[0] if message else ''}")
        if len(self.failures) > 10:
            lines.append(f"  ... and {len(self.failures) - 10} more (see the scenarios table)")
        return "\n".join(lines)


class Interrupted(DupoptError):
    """The batch was interrupted (Ctrl-C); ``summary`` tells what was committed."""

    def __init__(self, summary: BatchSummary) -> None:
        self.summary = summary
        super().__init__(str(summary))


def plan(sweep: Sweep, store: Store, retry_failed: bool) -> tuple[list[Job], int, set[str]]:
    """Jobs still to run, how many are skipped, and failed names to replace.

    Raises :class:`~optimizer.sweeps.store.StoreError` if a variant in the store was defined
    differently (same name, other overrides).
    """
    present = store.done()
    todo, skipped, replace, changed = [], 0, set(), []
    for job in sweep.jobs:
        if job.name not in present:
            todo.append(job)
            continue
        sha, status = present[job.name]
        if sha != job.digest:
            changed.append(job.name)
        elif status == "done" or not retry_failed:
            skipped += 1
        else:
            todo.append(job)
            replace.add(job.name)
    if changed:
        names = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
        raise StoreError(
            f"{display_path(store.path)}: {len(changed)} scenario(s) of the sweep are in "
            f"the store with other overrides ({names}); the sweep file changed. Write to a "
            "new store (-o PATH) or restore the sweep file"
        )
    return todo, skipped, replace


#: Scenarios to run from which ``run_sweep`` (and ``dupopt batch``) starts a Dask
#: LocalCluster when not told how many workers to use; fewer run in this process.
#: Break-even = the cluster's extra fixed cost / the time N workers save per scenario
#: over the in-process sweep, which on two cores already uses both (HiGHS on one thread,
#: preparing, reducing and committing on the other: :func:`pipeline_in_process`).
#: Measured on the 2-core reference machine, idle (benchmarks/results/batch.md,
#: 5,000-scenario Dask runs): in-process 175.9 scenarios/s steady, two workers 208.3/s,
#: the cluster's extra fixed cost 1.6 s: break-even 1,821 scenarios (1,668 in a run
#: before; 1,375 before the in-process solver thread was made leaner). 2,000 keeps a margin for
#: a machine that is not idle; busy (another process on a core), two workers were
#: slower than the in-process sweep at every size measured (1,000 scenarios: 69.6 steady
#: vs 84-95/s) and never pay.
DASK_MIN_SCENARIOS = 2000


def auto_workers(n: int, cpus: int | None = None) -> int:
    """Workers for a sweep of ``n`` scenarios to run when none are asked for: 0 (in this
    process, no Dask) below :data:`DASK_MIN_SCENARIOS` or on one core, else one per core.

    >>> auto_workers(100, cpus=2), auto_workers(DASK_MIN_SCENARIOS, cpus=2)
    (0, 2)
    >>> auto_workers(10_000, cpus=1)
    0
    """
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    return 0 if cpus < 2 or n < DASK_MIN_SCENARIOS else cpus


def pipeline_in_process(cpus: int | None = None) -> bool:
    """Whether an in-process sweep solves on a thread of its own while it prepares,
    reduces and commits (:func:`optimizer.sweeps.worker.solve_chunks`): from two cores.

    >>> pipeline_in_process(cpus=1), pipeline_in_process(cpus=2)
    (False, True)
    """
    cpus = (os.cpu_count() or 1) if cpus is None else cpus
    return cpus >= 2


def chunks_of(jobs: list[Job], size: int) -> list[list[Job]]:
    return [jobs[i : i + size] for i in range(0, len(jobs), size)]


def auto_chunk_size(n: int, workers: int) -> int:
    """About four chunks per worker (balance at the end), at most 50 variants per chunk
    (progress, and the work lost to a dying worker). On 1,000 scenarios and 2 workers,
    chunks of 25 ran about 7 % slower than chunks of 50 (more commits and tasks), and
    chunks of 100 no faster."""
    return max(1, min(50, math.ceil(n / max(1, 4 * workers))))


def run_sweep(
    sweep: Sweep,
    store_path: str | Path,
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    resume: bool = True,
    retry_failed: bool = False,
    chunk_size: int | None = None,
    progress: bool = True,
    arcs: pd.DataFrame | None = None,
    ties: bool = True,
    on_progress: Callable[[BatchSummary], None] | None = None,
    dashboard: bool = False,
    pipeline: bool | None = None,
) -> BatchSummary:
    """Run (or resume) a sweep into a DuckDB store.

    Parameters
    ----------
    sweep
        From :func:`optimizer.sweeps.sweep_file.load_sweep`.
    store_path
        The DuckDB file (created if missing).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); default: a
        ``LocalCluster`` started for this run.
    workers
        LocalCluster workers; ``0`` runs in this process. Default (None): in this process
        for fewer than :data:`DASK_MIN_SCENARIOS` scenarios to run or on one core, else
        one worker per core (:func:`auto_workers`; one per core with ``dashboard``).
    resume
        Continue into an existing store (default); ``False`` refuses an existing store.
    retry_failed
        Run again the variants recorded as failed.
    chunk_size
        Variants per task (default: the sweep's ``chunk_size``, else automatic).
    progress
        Show a progress bar (rate and ETA) on stderr.
    arcs
        Custom transport network (library use; default: the shipped network).
    ties
        Test each optimum for ties (alternative optima).
    on_progress
        Called with the running summary after each committed chunk (for notebooks and
        dashboards).
    dashboard
        Start the local cluster's Dask dashboard on 127.0.0.1 at a free port and print
        its link on stderr (also in the summary's ``dashboard``). Without it the local
        cluster serves no dashboard. Every local cluster listens on 127.0.0.1 only.

    Raises
    ------
    Interrupted
        On Ctrl-C (SIGINT), after the chunks already solved are committed and the
        cluster is closed; its ``summary`` says what is in the store.
    pipeline
        In this process (``workers=0``): solve on a thread of its own while the next
        variants are prepared and the solved ones reduced and committed (the same rows);
        None (default): from two cores (:func:`pipeline_in_process`).
    """
    store_path = Path(store_path)
    if dashboard and (scheduler is not None or workers == 0):
        raise DupoptError(
            "the dashboard is the local Dask cluster's: it needs a local cluster (not "
            "workers=0, which runs without Dask, nor a scheduler, which serves its own)"
        )
    if store_path.exists() and not resume:
        raise StoreError(
            f"{display_path(store_path)}: the store exists; resume it (--resume) or write "
            "to a new store (-o PATH)"
        )
    t0 = time.perf_counter()
    fingerprint = sweep.scenario.fingerprint()
    identity = {
        "dataset_sha256": dataset_id(fingerprint, arcs),
        "model_version": model_version(),
        "sweep": sweep.name,
    }
    fresh = not store_path.exists()
    try:
        with Store.open(store_path, identity, sweep.scenario.sectors) as store:
            todo, skipped, replace = plan(sweep, store, retry_failed)
            summary = BatchSummary(store_path, len(sweep.jobs), skipped=skipped)
            if workers is None and scheduler is None:
                # The dashboard is the local cluster's: asking for it asks for Dask.
                workers = (os.cpu_count() or 1) if dashboard else auto_workers(len(todo))
            label = scheduler or ("in-process" if workers == 0 else "LocalCluster")
            store.start_run(
                sweep.digest,
                sweep.text,
                sweep.name,
                sweep.source,
                sweep.seed,
                label,
                workers or 0,
            )
            outcome = "finished"
            try:
                if todo:
                    _execute(
                        _Run(
                            sweep, todo, store, summary, replace, fingerprint, arcs, ties, pipeline
                        ),
                        scheduler,
                        workers,
                        chunk_size,
                        progress,
                        on_progress,
                        dashboard,
                    )
            except KeyboardInterrupt:
                summary.interrupted = True
                outcome = "interrupted"
            except BaseException as exc:
                outcome = f"error: {exc}"
                raise
            finally:
                summary.wall_s = time.perf_counter() - t0
                # What the store holds for this run is the truth: a Ctrl-C can land between
                # a commit and its tally.
                summary.done, summary.failed = store.run_counts()
                store.finish_run(summary.done, summary.failed, skipped, summary.wall_s, outcome)
    except BaseException as exc:
        if fresh and not isinstance(exc, KeyboardInterrupt):
            _remove_if_empty(store_path)
        raise
    if summary.interrupted:
        raise Interrupted(summary)
    return summary


def _remove_if_empty(path: Path) -> None:
    """A run that could not start (e.g. no scheduler) leaves no empty store behind."""
    try:
        empty = query(path, "SELECT count(*) AS n FROM scenarios")["n"][0] == 0
    except StoreError:
        return
    if empty:
        for leftover in (path, path.with_name(path.name + ".wal")):
            leftover.unlink(missing_ok=True)


@dataclass
class _Run:
    """What the executors share: the work, where it goes, and how each chunk is solved."""

    sweep: Sweep
    todo: list[Job]
    store: Store
    summary: BatchSummary
    replace: set[str]
    fingerprint: str
    arcs: pd.DataFrame | None
    ties: bool
    pipeline: bool | None = None


def _execute(
    run: _Run,
    scheduler: str | None,
    workers: int | None,
    chunk_size: int | None,
    progress: bool,
    on_progress: Callable[[BatchSummary], None] | None,
    dashboard: bool,
) -> None:
    from tqdm import tqdm

    sweep, todo, store, summary = run.sweep, run.todo, run.store, run.summary

    bar = tqdm(
        total=len(todo),
        unit="scenario",
        desc=sweep.name,
        file=sys.stderr,
        disable=not progress,
        smoothing=0.1,
    )

    def record(result: ChunkResult) -> None:
        written = store.commit(result, replace=run.replace)
        s = result.scenarios
        s_new = s.loc[s["scenario"].isin(written)]
        failed = s_new.loc[s_new["status"] != "done"]
        summary.failed += len(failed)
        summary.done += len(s_new) - len(failed)
        summary.failures += list(zip(failed["scenario"], failed["message"], strict=True))
        bar.update(len(s))
        bar.set_postfix(failed=summary.failed, refresh=False)
        if on_progress is not None:
            on_progress(summary)
        if store.interrupted:
            raise KeyboardInterrupt

    try:
        if workers == 0:
            summary.workers = 0
            size = chunk_size or sweep.chunk_size or auto_chunk_size(len(todo), 1)
            results = solve_chunks(
                sweep.scenario,
                chunks_of(todo, size),
                base_key=run.fingerprint,
                arcs=run.arcs,
                ties=run.ties,
                pipeline=pipeline_in_process() if run.pipeline is None else run.pipeline,
                **sweep.solver,
            )
            # Closing stops the solver thread at once on Ctrl-C or an error.
            with contextlib.closing(results):
                for result in results:
                    record(result)
            return
        _on_dask(run, scheduler, workers, chunk_size, record, dashboard)
    finally:
        bar.close()


def _on_dask(
    run: _Run,
    scheduler: str | None,
    workers: int | None,
    chunk_size: int | None,
    record: Callable[[ChunkResult], None],
    dashboard: bool,
) -> None:
    from distributed import Client, as_completed

    sweep, todo, summary, arcs = run.sweep, run.todo, run.summary, run.arcs

    cluster = client = None
    if scheduler is None:
        _start_resource_tracker()
    try:
        # Ctrl-C waits until the cluster is up (a half-started cluster leaves tracebacks
        # at exit), and the worker processes never see it (see _ctrl_c_deferred).
        with _ctrl_c_deferred():
            if scheduler is None:
                cluster = _local_cluster(workers, dashboard)
                client = Client(cluster)
            else:
                client = _connect_scheduler(scheduler)
        if dashboard and cluster is not None:
            summary.dashboard = cluster.dashboard_link
            _announce_dashboard(summary.dashboard)
        n = len(client.scheduler_info().get("workers", {})) or 1
        summary.workers = n
        size = chunk_size or sweep.chunk_size or auto_chunk_size(len(todo), n)
        # Tasks, not scattered data: if every worker holding the base scenario dies, the
        # scheduler recomputes it (scattered data would be lost with them).
        base = client.submit(_same, sweep.scenario, key=f"dupopt-base-{run.fingerprint}")
        net = None
        if arcs is not None:
            net = client.submit(_same, arcs, key=f"dupopt-arcs-{run.fingerprint}")
        futures = {
            client.submit(
                run_chunk,
                base,
                chunk,
                base_key=run.fingerprint,
                arcs=net,
                ties=run.ties,
                **sweep.solver,
                retries=RETRIES,
                pure=False,
            ): chunk
            for chunk in chunks_of(todo, size)
        }
        try:
            for future in as_completed(futures):
                chunk = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # a lost chunk is recorded, not fatal
                    result = _lost(chunk, exc)
                record(result)
        except BaseException:
            with _quiet_shutdown():
                client.cancel(list(futures))
            raise
    finally:
        with _quiet_shutdown():
            if client is not None:
                client.close()
            if cluster is not None:
                cluster.close()


def _connect_scheduler(address: str):
    """A client of a running scheduler; TLS (``tls://``) from Dask's configuration."""
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise DupoptError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    except TypeError as exc:
        # distributed's answer to a tls:// address without TLS configuration
        if not address.startswith("tls://"):
            raise
        raise DupoptError(
            f"cannot connect to the Dask scheduler at {address}: no TLS certificates are "
            "configured (Dask's distributed.comm.tls.ca-file, .client.cert and .client.key; "
            f"see docs/batch.md) ({exc})"
        ) from None


def _local_cluster(workers: int | None, dashboard: bool):
    """A LocalCluster for this run: one single-threaded worker process per core, every
    socket on 127.0.0.1, and no dashboard unless asked (then on a free local port).

    Without a dashboard, the scheduler and workers serve no HTTP route at all (Dask
    always opens their HTTP server, here on a free port of 127.0.0.1).
    """
    import dask
    from distributed import LocalCluster

    local = "127.0.0.1"
    options: dict = {
        "n_workers": workers,
        "threads_per_worker": 1,
        "processes": True,
        "host": local,
        "worker_class": _local_nanny(),
        # Workers log their own errors (e.g. a lost scheduler after Ctrl-C); failures
        # that matter are recorded in the store.
        "silence_logs": logging.CRITICAL,
    }
    config: dict = {}
    if dashboard:
        options["dashboard_address"] = f"{local}:0"  # a free port: never clash
    else:
        options["dashboard_address"] = None
        options["scheduler_kwargs"] = {"dashboard": False, "dashboard_address": f"{local}:0"}
        config = {"distributed.scheduler.http.routes": [], "distributed.worker.http.routes": []}
    # The nannies pass this configuration on to the worker processes they start.
    with dask.config.set(config):
        return LocalCluster(**options)


@functools.cache
def _local_nanny() -> type:
    """A Nanny whose worker serves its (route-less) HTTP port on 127.0.0.1 and no
    dashboard. LocalCluster leaves the worker's HTTP address unset, and distributed
    before 2025 then binds it on every interface."""
    from distributed import Nanny

    class LocalNanny(Nanny):
        def __init__(self, *args, **kwargs) -> None:
            kwargs.update(dashboard=False, dashboard_address="127.0.0.1:0")
            super().__init__(*args, **kwargs)

    return LocalNanny


def _announce_dashboard(link: str) -> None:
    from tqdm import tqdm

    message = f"Dask dashboard: {link}"
    if importlib.util.find_spec("bokeh") is None:
        message += " (its pages need bokeh: pip install bokeh)"
    tqdm.write(message, file=sys.stderr)


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Block SIGINT in this thread for the block; a Ctrl-C pressed meanwhile is raised
    (KeyboardInterrupt) when it ends.

    Threads started in the block inherit the blocked signal, and so do the processes
    they start: Dask's event-loop thread, started with the cluster, spawns the worker
    processes (also those that replace dead workers), so a Ctrl-C in the terminal, which
    reaches every process of the foreground group, reaches only the driver, which stops
    the workers itself. No-op where the platform has no signal masks (Windows).
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker now, from this thread.

    Started lazily by the first worker process, it would be started from Dask's
    event-loop thread, and starting it unblocks SIGINT in the thread that does (CPython's
    ``resource_tracker.ensure_running``): the worker processes spawned from that thread
    would then receive the terminal's Ctrl-C and print tracebacks.
    """
    if sys.platform == "win32":
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


@contextlib.contextmanager
def _quiet_shutdown():
    """Close the cluster without interruption or noise: another Ctrl-C is ignored and
    Dask's log messages about the connections being closed are silenced."""
    held = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if held else None
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)
        if held and previous is not None:  # None: a handler not set from Python
            signal.signal(signal.SIGINT, previous)


def _same(value):
    """Identity: turns an input into a task result the scheduler can recompute."""
    return value


def _lost(chunk: list[Job], exc: BaseException) -> ChunkResult:
    """Failed rows for a chunk whose task could not be completed (workers kept dying)."""
    import json

    rows = pd.DataFrame(
        [
            {
                "scenario": j.name,
                "kind": j.kind,
                "overrides": json.dumps(j.overrides.to_dict(), sort_keys=True),
                "overrides_sha256": j.digest,
                "status": "error",
                "message": f"task failed after {RETRIES} retries: {exc!r}",
            }
            for j in chunk
        ]
    )
    empty = pd.DataFrame()
    return ChunkResult(rows, empty, empty, empty, empty)
