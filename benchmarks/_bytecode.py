"""Cached bytecode for the benchmarks' processes, as in an installed environment."""

from __future__ import annotations

import os
import sys


def cache_bytecode() -> bool:
    """Let this process and those it starts (subprocesses, Dask workers) write and read
    cached bytecode; returns whether it had been switched off.

    pip compiles an installed package's bytecode, and Python caches a source tree's on
    first import; ``PYTHONDONTWRITEBYTECODE`` (set on some machines, this project's
    among them) stops the cache from being written, so that every fresh process compiles
    its imports from source. That measures the machine, not dupopt: a Dask worker's
    start took about 2 s more, the first load of a scenario 0.86 s instead of 0.3 s.
    """
    was_off = sys.dont_write_bytecode or bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.dont_write_bytecode = False
    return was_off
