"""Start-up and validation: how long ``dupopt --help`` takes, and a scenario's check.

Every figure comes from a fresh subprocess (nothing is imported twice), in one run:

- ``help_s``, ``version_s``, ``import_s``: wall time of ``python -m dupopt --help``,
  ``python -m dupopt --version`` and ``python -c "import optimizer"`` (min and median of
  ``--repeat``), beside ``python_s``, the bare interpreter (``python -c pass``); and the
  heavy libraries each one loaded;
- ``default_load``: ``optimizer.load_scenario()`` of the shipped scenario (read and
  validate everything) in a process that has imported the library: the first call
  (which also pays pandera's imports on its first validation), in ``--repeat`` fresh
  processes, with the test extras as installed here and as the main install has it
  (without hypothesis); and the later calls of one process (min and median of
  ``--repeat``);
- ``table_1m_valid``, ``table_1m_invalid``: ``load_scenario`` of the shipped scenario
  with a demand table of ``--rows`` rows (over extra regions outside national planning;
  the invalid one with 3 rows in 5 in a wrong unit and 1 in 5 citing an unknown
  source): seconds, the problems found, and the subprocess's peak resident memory
  (``VmHWM``; in brackets, after its imports).

With ``--base REV`` the same is measured on revision ``REV`` too (extracted with ``git
archive``, imported through ``PYTHONPATH``), alternating with this tree round by round.

Usage::

    python benchmarks/bench_startup.py [--repeat 7] [--rows 1000000] [--base REV]

Writes ``benchmarks/results/startup.json`` and ``benchmarks/results/startup.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from io import BytesIO
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "data"

#: Libraries that each take tenths of a second to import: which ones a command loaded.
HEAVY = (
    "pandas",
    "pandera",
    "scipy.sparse.csgraph",
    "geopandas",
    "matplotlib",
    "dask",
    "duckdb",
    "highspy",
    "pyomo",
    "pulp",
)

#: Packages only the test extras install that change what a first load imports.
TEST_ONLY = "hypothesis"

#: Appended to a command's code: prints the heavy libraries it loaded, as JSON.
PROBE = (
    "\nimport json as _j, sys as _s\n"
    f"print(_j.dumps(sorted(set({HEAVY!r}) & set(_s.modules))), file=_s.stderr)"
)

COMMANDS = {
    "help": "from dupopt.cli import main; main(['--help'])",
    "version": "from dupopt.cli import main; main(['--version'])",
    "import": "import optimizer",
}

#: Loads a scenario (argv[1]; "" for the shipped one) argv[2] times; prints JSON.
LOAD = r"""
import json, resource, sys, time
if sys.argv[3]:
    # As in an installation without these (the README's main install has no test
    # extras): their imports fail, as they would there.
    class _Absent:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in sys.argv[3].split(","):
                raise ImportError(f"{name} is not installed here")
    sys.meta_path.insert(0, _Absent())
import optimizer
from optimizer.errors import ScenarioError
from optimizer.scenario.scenario import load_scenario
def rss():
    # The peak of this program: Linux keeps ru_maxrss across exec (it would start at the
    # parent's peak); VmHWM starts afresh.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
out = {"tree": optimizer.__file__, "base_rss_mb": rss(), "times": []}
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter()
    try:
        s = load_scenario(sys.argv[1] or None)
        out["valid"], out["problems"], out["demand_rows"] = True, 0, len(s.demand)
    except ScenarioError as exc:
        # Before the list was capped, issues held every problem.
        out["valid"], out["problems"] = False, getattr(exc, "count", len(exc.issues))
        out["kept"] = len(exc.issues)
        out["message_lines"] = len(str(exc).splitlines())
    out["times"].append(time.perf_counter() - t0)
out["peak_rss_mb"] = rss()
print(json.dumps(out))
"""


def timed(tree: Path, code: str) -> tuple[float, list[str]]:
    """Wall time of ``python -c code`` with ``tree`` first on the path, and the heavy
    libraries it loaded."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + PROBE],
        env=env,
        cwd=tempfile.gettempdir(),  # never a checkout's package by accident
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - t0
    return elapsed, json.loads(done.stderr.strip().splitlines()[-1])


def load(tree: Path, scenario: Path | None, times: int, absent: str = "") -> dict:
    """``load_scenario`` ``times`` times in a fresh process (with the comma-separated
    packages ``absent`` made unimportable)."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(scenario or ""), str(times), absent],
        env=env,
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - t0
    if not result.pop("tree").startswith(str(tree)):
        raise RuntimeError(f"measured another tree than {tree}")
    return result


def big_scenario(folder: Path, rows: int, invalid: bool) -> None:
    """The shipped scenario with a demand table of ``rows`` rows: the shipped rows, then
    rows of every sector and 20 years over extra regions outside national planning; if
    ``invalid``, 3 rows in 5 in a wrong unit and 1 in 5 citing an unknown source."""
    import numpy as np
    import pandas as pd

    folder.mkdir(parents=True)
    for path in [DATA / "scenario.toml", *DATA.glob("*.csv")]:
        shutil.copy2(path, folder / path.name)
    regions = pd.read_csv(DATA / "regions.csv", dtype=str, keep_default_na=False)
    sectors = pd.read_csv(DATA / "sectors.csv", dtype=str, keep_default_na=False)
    shipped = pd.read_csv(DATA / "demand.csv", dtype=str, keep_default_na=False)
    years = np.arange(2004, 2024)
    per_region = len(sectors) * len(years)
    extra = rows - len(shipped)
    codes = np.array([f"{900000 + i:06d}" for i in range(-(-extra // per_region))])
    more = regions.iloc[[0] * len(codes)].assign(
        region=codes, name_en="Test", in_national_planning="false", coastal="false"
    )
    pd.concat([regions, more]).to_csv(folder / "regions.csv", index=False)
    i = np.arange(extra)
    template = shipped.iloc[i % len(shipped)]  # values, sources and notes of real rows
    unit = sectors["output_unit"].to_numpy()[i % len(sectors)]
    source_id = template["source_id"].to_numpy()
    if invalid:
        unit = np.where(i % 5 < 3, "kt", unit)
        source_id = np.where(i % 5 == 3, "no-such-source", source_id)
    demand = pd.DataFrame(
        {
            "region": codes[i // per_region],
            "sector": sectors["sector"].to_numpy()[i % len(sectors)],
            "year": years[(i // len(sectors)) % len(years)].astype(str),
            "value": template["value"].to_numpy(),
            "unit": unit,
            "source_id": source_id,
            "quality": template["quality"].to_numpy(),
            "note": template["note"].to_numpy(),
        }
    )
    pd.concat([shipped, demand]).to_csv(folder / "demand.csv", index=False)


def summary(values: list[float]) -> dict:
    return {"min": min(values), "median": statistics.median(values)}


def extract(revision: str, target: Path) -> str:
    """Extract ``revision`` of this repository into ``target``; return its short hash."""
    short = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", revision],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", short],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4, 3.10.12
            tar.extractall(target, filter="data")
        else:  # pragma: no cover
            tar.extractall(target)  # this repository's own archive
    return short


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--base", default=None, help="git revision to measure as well")
    parser.add_argument("--out", default=str(HERE / "results" / "startup"))
    args = parser.parse_args()
    from _bytecode import cache_bytecode

    bytecode_was_off = cache_bytecode()
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"this": ROOT}
        base = None
        if args.base:
            base = extract(args.base, Path(tmp) / "base")
            trees["base"] = Path(tmp) / "base"
        # Made in another process, so that this one (whose size a child's peak memory
        # could inherit) stays small.
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            for invalid in (False, True):
                folder = Path(tmp) / ("invalid" if invalid else "valid")
                pool.submit(big_scenario, folder, args.rows, invalid).result()
        runs: dict[str, dict] = {name: {} for name in trees}
        samples = {name: {c: [] for c in [*COMMANDS, "python"]} for name in trees}
        for tree in trees.values():  # warm-up, not counted: each tree's bytecode cached
            for code in COMMANDS.values():
                timed(tree, code)
            load(tree, None, 1)
        for _ in range(args.repeat):  # alternate the trees so both see the same load
            for name, tree in trees.items():
                samples[name]["python"].append(timed(tree, "pass")[0])
                for command, code in COMMANDS.items():
                    elapsed, heavy = timed(tree, code)
                    samples[name][command].append(elapsed)
                    runs[name][f"{command}_loads"] = heavy
        for name, tree in trees.items():
            for command, values in samples[name].items():
                runs[name][f"{command}_s"] = summary(values)
            first = load(tree, None, 1 + args.repeat)
            # The first call of a process, in fresh processes: with the test extras
            # installed (pandera then imports hypothesis) and as the main install has it.
            firsts = [first["times"][0]]
            firsts += [load(tree, None, 1)["times"][0] for _ in range(args.repeat - 1)]
            main_install = [
                load(tree, None, 1, absent=TEST_ONLY)["times"][0] for _ in range(args.repeat)
            ]
            runs[name]["default_load"] = {
                "first_s": summary(firsts),
                "first_main_install_s": summary(main_install),
                "later_s": summary(first["times"][1:]),
                "valid": first["valid"],
            }
            for kind in ("valid", "invalid"):
                runs[name][f"table_{kind}"] = load(tree, Path(tmp) / kind, 1)
    report = {
        "machine": f"{os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "rows": args.rows,
        "base": base,
        "bytecode_cache_was_off": bytecode_was_off,
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2) + "\n")
    text = _markdown(report)
    out.with_suffix(".md").write_text(text)
    print(text)


def _markdown(report: dict) -> str:
    names = list(report["runs"])
    label = {"this": "this tree", "base": f"`{report['base']}`"}
    rows = report["rows"]
    lines = [
        f"Start-up and validation ({report['machine']}; "
        f"`python benchmarks/bench_startup.py"
        + (f" --base {report['base']}" if report["base"] else "")
        + f"`; {report['repeat']} runs each, fresh processes).",
        "",
        "| measure | target | " + " | ".join(label[n] for n in names) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in names) + " |",
    ]

    def row(measure: str, target: str, cell) -> None:
        lines.append(
            f"| {measure} | {target} | " + " | ".join(cell(report["runs"][n]) for n in names) + " |"
        )

    def s(d: dict) -> str:
        return f"{d['min']:.3f} / {d['median']:.3f}"

    row("`python -c pass` s (min / median)", "", lambda r: s(r["python_s"]))
    row("`dupopt --help` s (min / median)", "< 0.3", lambda r: s(r["help_s"]))
    row("`dupopt --version` s (min / median)", "< 0.3", lambda r: s(r["version_s"]))
    row("`import optimizer` s (min / median)", "", lambda r: s(r["import_s"]))
    row(
        "heavy libraries loaded by `import optimizer`",
        "none",
        lambda r: ", ".join(r["import_loads"]) or "none",
    )
    row(
        "heavy libraries loaded by `dupopt --help`",
        "not pandas",
        lambda r: ", ".join(r["help_loads"]) or "none",
    )

    row(
        "default scenario load + validation s, first call of a process, main install "
        "(min / median)",
        "< 0.5",
        lambda r: s(r["default_load"]["first_main_install_s"]),
    )
    row(
        "default scenario load + validation s, first call of a process, with the test "
        "extras (min / median)",
        "",
        lambda r: s(r["default_load"]["first_s"]),
    )
    row(
        "default scenario load + validation s, later calls (min / median)",
        "< 0.5",
        lambda r: s(r["default_load"]["later_s"]),
    )
    for kind in ("valid", "invalid"):
        table = f"table_{kind}"
        row(
            f"{rows:,}-row demand table, {kind}: load + validation s",
            "< 20",
            lambda r, t=table: f"{r[t]['times'][0]:.2f}",
        )
        row(
            f"{rows:,}-row demand table, {kind}: peak memory MB (after imports)",
            "< 1,000",
            lambda r, t=table: f"{r[t]['peak_rss_mb']:,.0f} ({r[t]['base_rss_mb']:,.0f})",
        )
        row(
            f"{rows:,}-row demand table, {kind}: problems found (lines printed)",
            "",
            lambda r, t=table: (
                f"{r[t]['problems']:,}"
                + (f" ({r[t]['message_lines']})" if "message_lines" in r[t] else "")
            ),
        )
    lines += [
        "",
        "Start-up times are wall times of a fresh interpreter, which alone takes the "
        "`python -c pass` time, with each tree's bytecode cached as in an installed "
        "environment (one warm-up run of each command first, not counted"
        + (
            "; `PYTHONDONTWRITEBYTECODE`, set on this machine, was lifted for the run"
            if report.get("bytecode_cache_was_off")
            else ""
        )
        + "). The first load of a scenario in a process also pays "
        "pandera's imports on its first validation: its backends, geopandas (unless "
        "already imported) and, where installed, hypothesis. The main install (`pip "
        "install -e .`, the README's first command) has no hypothesis: that row makes "
        f"the test extras ({', '.join(TEST_ONLY.split(','))}) unimportable in its "
        "processes.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
