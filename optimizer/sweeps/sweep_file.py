"""Sweep files: many scenario variants of one base scenario, described in TOML.

A sweep is the union of a ``base`` scenario (no overrides), named scenarios, the points
of a grid, and Monte-Carlo samples; every variant is an :class:`~optimizer.sweeps.overrides.
Overrides` of the base scenario (keys as documented there)::

    name = "sensitivity"
    scenario = "../scenario.toml"      # optional; default: the shipped dataset
    include_base = true                # a variant named "base" with no overrides

    [overrides]                        # applied to every variant
    "parameters.debt_weight" = 0.2

    [[scenarios]]
    name = "pv-boom"
    "demand.solar_pv" = 1.5

    [grid]                             # the cartesian product, named grid-0001, ...
    financing_rate = [0.8, 1.0, 1.2]
    "parameters.stranded_weight" = [0.0, 0.5]

    [solver]                           # optional, for every variant
    time_limit = 60                    # seconds per solve; a variant that hits it fails
    mip_rel_gap = 0.001                # MILPs (lumpy plants): relative gap to stop at

    [monte_carlo]                      # named mc-0001, ...
    samples = 100
    seed = 2010
    [monte_carlo.vary]
    "demand.solar_pv" = { distribution = "lognormal", median = 1.0, sigma = 0.2 }
    cost_factor = { distribution = "uniform", low = 0.9, high = 1.1, independent = true }

Monte-Carlo sample ``i`` draws from ``numpy.random.default_rng([seed, i])``, keys in
sorted order, so a sample does not depend on how many are drawn. ``independent = true``
draws one multiplier per sector or region (``cost_factor.110000``, ...) instead of one
for all. Distributions: ``uniform`` (low, high), ``triangular`` (low, mode, high),
``normal`` (mean, sd), ``lognormal`` (median, sigma of the log). A draw that is not a
valid multiplier (a negative normal draw) makes that variant fail, recorded with why.

Examples
--------
>>> import textwrap, tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "sweep.toml"
>>> _ = path.write_text(textwrap.dedent('''
...     name = "demo"
...     [grid]
...     demand = [0.9, 1.1]
... '''))
>>> sweep = load_sweep(path)
>>> [job.name for job in sweep.jobs]
['base', 'grid-0001', 'grid-0002']
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from optimizer.errors import Issue, ScenarioError
from optimizer.scenario.readers import display_path, read_toml
from optimizer.scenario.scenario import Scenario, load_scenario
from optimizer.sweeps.overrides import ALL, TARGETS, Overrides, multiplier_problem

#: Distribution -> its parameters.
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
}
_TOP_KEYS = {
    "name",
    "description",
    "scenario",
    "include_base",
    "chunk_size",
    "overrides",
    "scenarios",
    "grid",
    "monte_carlo",
    "solver",
}
#: ``[solver]`` options: name -> (lowest allowed, highest allowed, exclusive lower bound).
SOLVER_OPTIONS = {"time_limit": (0.0, math.inf, True), "mip_rel_gap": (0.0, 1.0, False)}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Job:
    """One variant of a sweep.

    Attributes
    ----------
    name
        Unique within the sweep (``base``, a given name, ``grid-0001``, ``mc-0001``).
    kind
        ``base``, ``named``, ``grid`` or ``monte_carlo``.
    overrides
        The sweep-wide overrides combined with the variant's own.
    values
        What defines the variant, flat (``{"demand.solar_pv": 1.5}``): given values,
        grid values or Monte-Carlo draws (recorded in the store).
    error
        Why the variant cannot run (an invalid draw); it is then recorded as failed.
    """

    name: str
    kind: str
    overrides: Overrides
    values: dict[str, Any] = field(default_factory=dict)
    error: str | None = None

    @property
    def digest(self) -> str:
        """SHA-256 of the overrides (or of the error), to detect a changed definition."""
        if self.error is not None:
            return hashlib.sha256(f"error|{sorted(self.values.items())}".encode()).hexdigest()
        return self.overrides.digest()


@dataclass
class Sweep:
    """A parsed, checked sweep file."""

    name: str
    description: str
    scenario: Scenario
    jobs: list[Job]
    source: str
    text: str
    seed: int | None = None
    chunk_size: int | None = None
    #: The ``[monte_carlo.vary]`` entries as written (distribution, parameters, reason).
    monte_carlo: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``[solver]`` options for every variant (``time_limit`` s, ``mip_rel_gap``).
    solver: dict[str, float] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def load_sweep(path: str | Path, scenario: Scenario | None = None) -> Sweep:
    """Read, check and expand a sweep file into its :class:`Job` list.

    Parameters
    ----------
    path
        The sweep TOML file.
    scenario
        The base scenario; default: the file's ``scenario`` key (relative to the sweep
        file), else the shipped dataset.

    Raises
    ------
    ScenarioError
        Listing every problem with the file and the key concerned.
    """
    path = Path(path)
    label = display_path(path)
    config, issues = read_toml(path)
    if config is None:
        raise ScenarioError(issues)
    text = path.read_text(encoding="utf-8")
    for key in config:
        if key not in _TOP_KEYS:
            issues.append(
                Issue(label, f"unknown key (known: {', '.join(sorted(_TOP_KEYS))})", column=key)
            )
    if scenario is None:
        where = config.get("scenario")
        if where is not None and not isinstance(where, str):
            raise ScenarioError([Issue(label, "must be a path (a string)", column="scenario")])
        scenario = load_scenario(None if where is None else (path.parent / where))
    name = config.get("name", path.stem)
    if not isinstance(name, str) or not _NAME.match(name):
        issues.append(Issue(label, f"must be a simple name, got {name!r}", column="name"))
    chunk = config.get("chunk_size")
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1):
        issues.append(Issue(label, f"must be an integer >= 1, got {chunk!r}", column="chunk_size"))
    solver = _solver(config.get("solver", {}), label, issues)
    common = _overrides(config.get("overrides", {}), label, "overrides", scenario, issues)
    jobs: list[Job] = []
    if config.get("include_base", True) is True:
        jobs.append(Job("base", "base", common or Overrides()))
    elif config.get("include_base") is not False:
        issues.append(Issue(label, "must be true or false", column="include_base"))
    jobs += _named(config.get("scenarios", []), label, scenario, common, issues)
    jobs += _grid(config.get("grid", {}), label, scenario, common, issues)
    mc, seed = _monte_carlo(config.get("monte_carlo"), label, scenario, common, issues)
    jobs += mc
    seen: dict[str, int] = {}
    for job in jobs:
        seen[job.name] = seen.get(job.name, 0) + 1
    for dup in sorted(n for n, k in seen.items() if k > 1):
        issues.append(Issue(label, f"scenario name {dup!r} is used more than once", column="name"))
    if not jobs and not issues:
        issues.append(
            Issue(label, "the sweep has no scenarios (add scenarios, grid or monte_carlo)")
        )
    if issues:
        raise ScenarioError(issues)
    return Sweep(
        name=name,
        description=str(config.get("description", "")),
        scenario=scenario,
        jobs=jobs,
        source=label,
        text=text,
        seed=seed,
        chunk_size=chunk,
        monte_carlo=dict((config.get("monte_carlo") or {}).get("vary", {})),
        solver=solver,
    )


def _solver(values: Any, label: str, issues: list[Issue]) -> dict[str, float]:
    """The ``[solver]`` table: known options with numbers in range."""
    if not isinstance(values, dict):
        issues.append(Issue(label, "must be a table", column="solver"))
        return {}
    out = {}
    for key, value in values.items():
        if key not in SOLVER_OPTIONS:
            known = ", ".join(sorted(SOLVER_OPTIONS))
            issues.append(Issue(label, f"unknown key (known: {known})", column=f"solver.{key}"))
            continue
        low, high, open_low = SOLVER_OPTIONS[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        ok = number and (value > low if open_low else value >= low) and value <= high
        if not ok:
            bound = f"> {low:g}" if open_low else f">= {low:g}"
            upper = "" if math.isinf(high) else f" and <= {high:g}"
            issues.append(
                Issue(
                    label, f"must be a number {bound}{upper}, got {value!r}", column=f"solver.{key}"
                )
            )
            continue
        out[key] = float(value)
    return out


def _overrides(
    values: Any, label: str, where: str, scenario: Scenario, issues: list[Issue]
) -> Overrides | None:
    if not isinstance(values, Mapping):
        issues.append(Issue(label, "must be a table of overrides", column=where))
        return None
    try:
        ov = Overrides.from_mapping(values, source=label)
        ov.check(scenario, source=label)
    except ScenarioError as exc:
        issues.extend(
            Issue(i.source, i.message, i.row, f"{where}.{i.column}" if i.column else where)
            for i in exc.issues
        )
        return None
    return ov


def _combined(common: Overrides | None, own: Overrides) -> Overrides:
    return own if common is None else common.combine(own)


def _named(
    entries: Any, label: str, scenario: Scenario, common: Overrides | None, issues: list[Issue]
) -> list[Job]:
    if not isinstance(entries, list):
        issues.append(
            Issue(label, "must be an array of tables ([[scenarios]])", column="scenarios")
        )
        return []
    jobs = []
    for k, entry in enumerate(entries, start=1):
        where = f"scenarios[{k}]"
        if not isinstance(entry, Mapping):
            issues.append(Issue(label, "must be a table", column=where))
            continue
        entry = dict(entry)
        name = entry.pop("name", None)
        if not isinstance(name, str) or not _NAME.match(name):
            issues.append(
                Issue(
                    label,
                    f"needs a name (letters, digits, '_', '-', '.'), got {name!r}",
                    column=f"{where}.name",
                )
            )
            continue
        if re.match(r"^(grid|mc)-\d+$", name) or name == "base":
            issues.append(
                Issue(label, f"name {name!r} is reserved for generated scenarios", column=where)
            )
            continue
        ov = _overrides(entry, label, where, scenario, issues)
        if ov is not None:
            jobs.append(Job(name, "named", _combined(common, ov), ov.to_dict()))
    return jobs


def _grid(
    grid: Any, label: str, scenario: Scenario, common: Overrides | None, issues: list[Issue]
) -> list[Job]:
    if not isinstance(grid, Mapping):
        issues.append(Issue(label, "must be a table of key = [values]", column="grid"))
        return []
    flat = dict(_flat_lists(grid))
    if not flat:
        return []
    for key, values in flat.items():
        if not isinstance(values, list) or not values:
            issues.append(Issue(label, "must be a non-empty list of values", column=f"grid.{key}"))
    if any(not isinstance(v, list) or not v for v in flat.values()):
        return []
    before = len(issues)
    for key, values in flat.items():
        for value in values:
            _overrides({key: value}, label, "grid", scenario, issues)
    if len(issues) > before:
        return []
    keys = list(flat)
    jobs = []
    for k, combo in enumerate(itertools.product(*(flat[key] for key in keys)), start=1):
        values = dict(zip(keys, combo, strict=True))
        ov = Overrides.from_mapping(values, source=label)
        jobs.append(Job(f"grid-{k:04d}", "grid", _combined(common, ov), values))
    return jobs


def _flat_lists(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out = []
    for key, value in values.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            out.extend(_flat_lists(value, name))
        else:
            out.append((name, value))
    return out


def _monte_carlo(
    mc: Any, label: str, scenario: Scenario, common: Overrides | None, issues: list[Issue]
) -> tuple[list[Job], int | None]:
    if mc is None:
        return [], None
    if not isinstance(mc, Mapping):
        issues.append(Issue(label, "must be a table", column="monte_carlo"))
        return [], None
    n, seed, vary = mc.get("samples"), mc.get("seed"), mc.get("vary", {})
    unknown = set(mc) - {"samples", "seed", "vary"}
    for key in sorted(unknown):
        issues.append(
            Issue(label, "unknown key (known: samples, seed, vary)", column=f"monte_carlo.{key}")
        )
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        issues.append(
            Issue(label, f"must be an integer >= 1, got {n!r}", column="monte_carlo.samples")
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        issues.append(
            Issue(
                label,
                f"must be an integer >= 0 (recorded, so the draws can be repeated), got {seed!r}",
                column="monte_carlo.seed",
            )
        )
    if not isinstance(vary, Mapping) or not vary:
        issues.append(
            Issue(
                label,
                "must be a non-empty table of key = {distribution...}",
                column="monte_carlo.vary",
            )
        )
        return [], None
    draws = []
    for key in sorted(vary):
        spec = vary[key]
        where = f"monte_carlo.vary.{key}"
        d = _distribution(key, spec, label, where, scenario, issues)
        if d is not None:
            draws.extend(d)
    if issues:
        return [], None
    jobs = []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        values = {key: float(_draw(rng, dist, params)) for key, dist, params in draws}
        bad = {k: multiplier_problem(v) for k, v in values.items()}
        bad = {k: v for k, v in bad.items() if v}
        name = f"mc-{i + 1:04d}"
        if bad:
            why = "; ".join(f"{k} drawn {values[k]:.6g}: {msg}" for k, msg in bad.items())
            jobs.append(Job(name, "monte_carlo", Overrides(), values, error=f"invalid draw: {why}"))
            continue
        ov = Overrides.from_mapping(values, source=label)
        jobs.append(Job(name, "monte_carlo", _combined(common, ov), values))
    return jobs, seed


def _distribution(
    key: str, spec: Any, label: str, where: str, scenario: Scenario, issues: list[Issue]
) -> list[tuple[str, str, dict[str, float]]] | None:
    if not isinstance(spec, Mapping) or "distribution" not in spec:
        issues.append(Issue(label, "must be a table with a 'distribution'", column=where))
        return None
    spec = dict(spec)
    dist = spec.pop("distribution")
    independent = spec.pop("independent", False)
    reason = spec.pop("reason", "")
    if not isinstance(reason, str):
        issues.append(Issue(label, "must be text (why this range)", column=f"{where}.reason"))
        return None
    if dist not in DISTRIBUTIONS:
        issues.append(
            Issue(
                label,
                f"unknown distribution {dist!r} (use {', '.join(DISTRIBUTIONS)})",
                column=f"{where}.distribution",
            )
        )
        return None
    needed = DISTRIBUTIONS[dist]
    if set(spec) != set(needed):
        issues.append(
            Issue(
                label,
                f"{dist} takes {', '.join(needed)}; got {', '.join(sorted(spec)) or 'nothing'}",
                column=where,
            )
        )
        return None
    for p, v in spec.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            issues.append(
                Issue(label, f"must be a finite number, got {v!r}", column=f"{where}.{p}")
            )
            return None
    params = {p: float(v) for p, v in spec.items()}
    problem = _check_params(dist, params)
    if problem:
        issues.append(Issue(label, problem, column=where))
        return None
    if _overrides({key: 1.0}, label, "monte_carlo.vary", scenario, issues) is None:
        return None
    if independent is not True:
        if independent is not False:
            issues.append(Issue(label, "must be true or false", column=f"{where}.independent"))
            return None
        return [(key, dist, params)]
    target, _, rest = key.partition(".")
    if target not in TARGETS or rest not in ("", ALL):
        issues.append(
            Issue(
                label,
                "independent = true needs a whole target (demand, cost_factor, ...), "
                "not one sector or region",
                column=where,
            )
        )
        return None
    kind = TARGETS[target]
    codes = scenario.sectors["sector"] if kind == "sector" else scenario.planning_regions
    return [(f"{target}.{code}", dist, params) for code in sorted(codes)]


def _check_params(dist: str, p: dict[str, float]) -> str | None:
    if dist == "uniform" and not p["low"] <= p["high"]:
        return "needs low <= high"
    if dist == "triangular" and not (p["low"] <= p["mode"] <= p["high"] and p["low"] < p["high"]):
        return "needs low <= mode <= high and low < high"
    if dist == "normal" and not p["sd"] >= 0:
        return "needs sd >= 0"
    if dist == "lognormal" and not (p["median"] > 0 and p["sigma"] >= 0):
        return "needs median > 0 and sigma >= 0"
    return None


def _draw(rng: np.random.Generator, dist: str, p: dict[str, float]) -> float:
    if dist == "uniform":
        return rng.uniform(p["low"], p["high"])
    if dist == "triangular":
        return rng.triangular(p["low"], p["mode"], p["high"])
    if dist == "normal":
        return rng.normal(p["mean"], p["sd"])
    return rng.lognormal(np.log(p["median"]), p["sigma"])
