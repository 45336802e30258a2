"""What the report costs: ``dupopt run`` with and without it, and the size of its folder.

Runs, in one process tree and alternating so that both see the same machine load,
``--rounds`` times each:

- ``dupopt run --no-report -o TMP/no-report`` (solves, the headline's 50-draw range,
  the result tables);
- ``dupopt run -o TMP/report`` (the same, plus the report: PNG figures drawn once, in
  two processes where there are two cores);

each as a fresh ``python -m dupopt`` subprocess (imports included, as a user runs it),
and reports the wall-clock time of each (min and median), their ratio (target <= 2) and
the size of the report folder of the default run (target < 5 MB), with the part its
figures take. It then times ``dupopt report --single-file`` on the same results and
gives that page's size. The machine's load average at the start and end is recorded:
the CI machine has two cores shared with other jobs.

Usage::

    python benchmarks/bench_report.py [--rounds 3]

Writes ``benchmarks/results/report.json`` and ``benchmarks/results/report.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_RATIO = 2.0
TARGET_MB = 5.0


def timed(args: list[str]) -> float:
    """Wall-clock seconds of ``python -m dupopt ARGS`` (fails loudly on an error)."""
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "dupopt", *args],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - t0


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    load_start = os.getloadavg()
    times: dict[str, list[float]] = {"no_report": [], "report": []}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for _ in range(args.rounds):
            times["no_report"].append(timed(["run", "--no-report", "-o", str(tmp / "plain")]))
            times["report"].append(timed(["run", "-o", str(tmp / "report")]))
        report = tmp / "report"
        size = folder_bytes(report)
        figures = folder_bytes(report / "figures")
        html = (report / "report.html").stat().st_size
        single_s = timed(["report", str(report), "-o", str(tmp / "single"), "--single-file"])
        single = (tmp / "single" / "report.html").stat().st_size
        shutil.rmtree(tmp / "single")
    load_end = os.getloadavg()
    median = {k: statistics.median(v) for k, v in times.items()}
    minimum = {k: min(v) for k, v in times.items()}
    result = {
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average_start": [round(v, 2) for v in load_start],
        "load_average_end": [round(v, 2) for v in load_end],
        "seconds": {k: [round(x, 2) for x in v] for k, v in times.items()},
        "median_s": {k: round(v, 2) for k, v in median.items()},
        "min_s": {k: round(v, 2) for k, v in minimum.items()},
        "ratio_median": round(median["report"] / median["no_report"], 3),
        "ratio_min": round(minimum["report"] / minimum["no_report"], 3),
        "report_folder_bytes": size,
        "figures_bytes": figures,
        "report_html_bytes": html,
        "single_file_s": round(single_s, 2),
        "single_file_bytes": single,
        "target_ratio": TARGET_RATIO,
        "target_folder_mb": TARGET_MB,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    mb = 1e6
    lines = [
        f"`dupopt run` with and without the report, default scenario, one run "
        f"(`python benchmarks/bench_report.py`; {args.rounds} alternating rounds, each a "
        f"fresh process; {result['cpus']} cores, load average {load_start[0]:.2f} at the "
        f"start, {load_end[0]:.2f} at the end).",
        "",
        "| command | min s | median s |",
        "| --- | ---: | ---: |",
        f"| `dupopt run --no-report` | {minimum['no_report']:.2f} | {median['no_report']:.2f} |",
        f"| `dupopt run` (with report) | {minimum['report']:.2f} | {median['report']:.2f} |",
        "",
        f"- ratio with / without the report: {result['ratio_median']:.2f}x (median), "
        f"{result['ratio_min']:.2f}x (min); target <= {TARGET_RATIO:g}x",
        f"- report folder of the default run: {size / mb:.2f} MB (figures {figures / mb:.2f} MB, "
        f"report.html {html / mb:.2f} MB); target < {TARGET_MB:g} MB",
        f"- `dupopt report --single-file`: {single_s:.2f} s, one page of {single / mb:.2f} MB",
        "",
    ]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
