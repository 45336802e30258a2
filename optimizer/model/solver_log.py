"""Keep the solver's own output off stdout: capture it as the solve's log text.

HiGHS writes from C++ straight to the process's standard output (file descriptor 1):
its banner when the first ``Highs`` object is made, and its log while it solves, also
when Pyomo or PuLP drive it. Python's ``sys.stdout`` redirection does not see that, so
:func:`captured` points descriptor 1 at a temporary file for the duration and hands the
text back. Pyomo relays HiGHS's log through ``sys.stdout`` instead, which need not be
descriptor 1 (under pytest it is not), so ``sys.stdout`` is pointed there too.
``dupopt run`` writes it to ``solver.log`` in the output folder (or to stderr
with ``--verbose``); stdout carries only dupopt's own report.

The redirection is process-wide: while a solve runs, other threads' writes to
descriptor 1 land in the log too. Captures are serialised by a lock.

Examples
--------
>>> import os
>>> with captured() as log:
...     _ = os.write(1, b"from C\\n")
>>> log.text
'from C\\n'
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_LOCK = threading.RLock()


@dataclass
class Captured:
    """The text written to descriptor 1 inside a :func:`captured` block (set on exit)."""

    text: str = ""


@contextmanager
def captured() -> Iterator[Captured]:
    """Redirect descriptor 1 (C and Python alike) into a temporary file for the block."""
    out = Captured()
    with _LOCK, tempfile.TemporaryFile(mode="w+b") as sink:
        _flush()
        saved, saved_stdout = os.dup(1), sys.stdout
        try:
            os.dup2(sink.fileno(), 1)
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)
            yield out
        finally:
            _flush()
            if sys.stdout is not saved_stdout:
                sys.stdout.close()  # closefd=False: descriptor 1 stays open
                sys.stdout = saved_stdout
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            out.text = sink.read().decode("utf-8", errors="replace")


def _flush() -> None:
    for stream in (sys.stdout, sys.__stdout__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):  # a closed or detached stream has nothing to flush
            pass


def tail(text: str, lines: int = 12) -> str:
    """The last ``lines`` non-empty lines of a log, for an error message.

    >>> tail("a\\n\\nb\\nc\\n", 2)
    'b\\nc'
    """
    kept = [line for line in text.splitlines() if line.strip()]
    return "\n".join(kept[-lines:])
