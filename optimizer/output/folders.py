"""Output folders: built beside the target, swapped in whole, never over a user's files.

Every command that writes a folder (``dupopt run``, ``dupopt report``, ``dupopt export``
and the library functions behind them) goes through :func:`staged_output`:

1. **Check the target.** A folder is *ours* only if it holds a dupopt ``manifest.json``
   (a JSON object with ``dupopt_version``; its ``kind`` says which command wrote it:
   ``"run"``, ``"report"`` or ``"export"``; manifests written before kinds existed are
   run results). The target may be missing, an empty folder, or a folder of ours of the
   same kind. Anything else is refused with :class:`OutputError` naming the folder, and
   nothing in it changes: a folder holding a user's files, a file, a symbolic link, a
   dupopt output of another kind, or a folder that is or holds one of the command's inputs
   (the scenario files, the results folder a report is drawn from, the store).
2. **Clean up.** Hidden folders beside the target that a killed earlier command left
   (``.NAME.XXXXXXXX`` staging folders, ``.NAME.old.XXXXXXXX`` replaced outputs being
   deleted, and the ``.NAME.old`` of earlier dupopt versions) are removed, but only those whose name
   matches that pattern for this target *and* that carry our marker (a ``.dupopt-staging``
   file naming the target and a process that is no longer running, or a dupopt manifest),
   or that are empty. Nothing else is touched.
3. **Stage.** The caller writes the whole output into a fresh hidden staging folder
   ``.NAME.XXXXXXXX`` next to the target (same file system, so the swap is a rename).
4. **Swap.** The previous output is renamed aside (``.NAME.old.XXXXXXXX``), the staging
   folder renamed into place, and the previous output deleted. An exception, Ctrl-C or a
   kill before the swap leaves the previous output as it was; a kill during the swap
   leaves hidden folders that the next command cleans up.

Permissions: folders and files are created with the ordinary ``mkdir``/``open`` modes
under the user's umask (no private temporary-folder modes leak into the output).

Every JSON file goes through :func:`to_json`: strict JSON, non-finite floats written as
``null``.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import shutil
import socket
import string
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from optimizer import __version__
from optimizer.errors import DupoptError
from optimizer.scenario.readers import display_path

MANIFEST = "manifest.json"
KINDS = ("run", "report", "export")
#: The file that marks a hidden staging (or being-deleted) folder as dupopt's.
STAGING_MARKER = ".dupopt-staging"
_TOKEN_CHARS = string.ascii_lowercase + string.digits + "_"
_TOKEN_LEN = 8
_KIND_WORDS = {"run": "results folder", "report": "report folder", "export": "Parquet export"}
_KIND_COMMANDS = {"run": "dupopt run", "report": "dupopt report -o", "export": "dupopt export"}


class OutputError(DupoptError):
    """An output folder cannot be written where asked (it is not ours, or is an input)."""


# ---------------------------------------------------------------------------------------
# JSON
# ---------------------------------------------------------------------------------------


def _finite(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Serialise ``value`` as strict JSON: NaN and infinities become ``null``.

    NumPy scalars become Python numbers; other objects that JSON cannot hold (paths,
    timestamps) are written as their ``str``.

    Examples
    --------
    >>> to_json({"objective": float("nan"), "cost": float("inf"), "n": np.int64(3)}, indent=None)
    '{"objective": null, "cost": null, "n": 3}'
    """
    return json.dumps(_finite(value), indent=indent, default=str, allow_nan=False)


# ---------------------------------------------------------------------------------------
# Manifests: what makes a folder ours
# ---------------------------------------------------------------------------------------


def read_manifest(folder: str | Path) -> dict | None:
    """The dupopt manifest of ``folder``, or ``None`` if it holds none (not ours).

    A manifest is ours if ``manifest.json`` is a JSON object with ``dupopt_version``;
    ``kind`` is filled in as ``"run"`` for manifests written before kinds existed.
    """
    path = Path(folder) / MANIFEST
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(info, dict) or "dupopt_version" not in info:
        return None
    info.setdefault("kind", "run")
    return info


def write_manifest(folder: str | Path, kind: str, **fields: Any) -> Path:
    """Write the manifest that marks ``folder`` as a dupopt output of ``kind``."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    path = Path(folder) / MANIFEST
    info = {"dupopt_version": __version__, "kind": kind, **fields}
    path.write_text(to_json(info) + "\n", encoding="utf-8")
    return path


def _describe(kind: str) -> str:
    if kind not in _KIND_WORDS:
        return f"output of kind {kind!r}"
    return f"{_KIND_WORDS[kind]} (written by {_KIND_COMMANDS[kind]})"


def require_kind(folder: str | Path, kind: str) -> dict:
    """Return the manifest of ``folder`` if it is a dupopt output of ``kind``; else raise.

    Raises
    ------
    OutputError
        The folder holds no dupopt manifest, or one of another kind (the message says
        which, and what to give instead).
    """
    folder = Path(folder)
    info = read_manifest(folder)
    shown = display_path(folder)
    if info is None:
        raise OutputError(
            f"{shown} holds no dupopt manifest.json: not a dupopt {_KIND_WORDS[kind]}"
            + (" (or batch store)" if kind == "run" else "")
        )
    if info["kind"] != kind:
        source = f" made from {info['source']}" if info.get("source") else ""
        raise OutputError(
            f"{shown} is a dupopt {_describe(info['kind'])}{source}, not a {_describe(kind)}"
        )
    return info


# ---------------------------------------------------------------------------------------
# Checking the target
# ---------------------------------------------------------------------------------------


def _absolute(path: str | Path) -> Path:
    # Normalised without resolving symbolic links (a link as the target is refused, not followed).
    return Path(os.path.abspath(path))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def check_target(
    target: str | Path,
    kind: str,
    *,
    inputs: Iterable[tuple[Path, str]] = (),
) -> None:
    """Refuse a target folder that :func:`staged_output` must not replace.

    Parameters
    ----------
    target
        The output folder.
    kind
        ``"run"``, ``"report"`` or ``"export"``: what will be written there.
    inputs
        ``(path, description)`` of what the command reads (scenario files, a results
        folder, a store): the target may neither be nor hold any of them.

    Raises
    ------
    OutputError
        Naming the folder and why: it is or holds an input, is a file or a symbolic
        link, holds files but no dupopt manifest, or is a dupopt output of another kind.
    """
    target = Path(target)
    shown = str(target)  # as the user gave it (display_path would turn the cwd into ".")
    resolved = target.resolve()
    for path, what in inputs:
        if _inside(Path(path).resolve(), resolved):
            raise OutputError(
                f"{shown}: the output folder would replace {what} {display_path(Path(path))}; "
                "choose another output folder"
            )
    if target.is_symlink():
        raise OutputError(f"{shown}: is a symbolic link; give the folder itself as the output")
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputError(f"{shown}: exists and is not a folder")
    info = read_manifest(target)
    if info is None:
        entries = sorted(p.name for p in target.iterdir())
        if not entries:
            return  # an empty folder holds nothing to lose: it becomes the output
        listed = ", ".join(entries[:5]) + (" ..." if len(entries) > 5 else "")
        raise OutputError(
            f"{shown}: the folder exists and is not a dupopt output (it holds {listed} and "
            "no dupopt manifest.json); dupopt replaces its output folder as a whole, so "
            "give a new or empty folder"
        )
    if info["kind"] != kind:
        raise OutputError(
            f"{shown}: holds a dupopt {_describe(info['kind'])}; this command writes a "
            f"{_describe(kind)} and would replace it: give another folder (or delete it "
            "first)"
        )


# ---------------------------------------------------------------------------------------
# Leftovers of killed commands
# ---------------------------------------------------------------------------------------


def _leftover_pattern(name: str) -> re.Pattern[str]:
    token = f"[{re.escape(_TOKEN_CHARS)}]{{{_TOKEN_LEN}}}"
    return re.compile(rf"\.{re.escape(name)}\.(?:old|(?:old\.)?{token})")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return False  # our own leftovers are never in use: each staging is removed on error
    if os.name != "posix":
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def _is_leftover_marker(folder: Path, name: str) -> bool:
    """Whether ``folder`` holds our marker for target ``name`` from a process now gone."""
    marker = folder / STAGING_MARKER
    if not marker.is_file():
        return False
    try:
        owner = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    if not isinstance(owner, dict) or owner.get("target") != name:
        return False
    pid = owner.get("pid")
    running = owner.get("host") == socket.gethostname() and isinstance(pid, int) and _alive(pid)
    return not running  # else another command is writing this target right now


def _is_leftover(folder: Path, name: str) -> bool:
    if (folder / STAGING_MARKER).exists():
        return _is_leftover_marker(folder, name)
    if read_manifest(folder) is not None:
        return True
    return not any(folder.iterdir())


def clean_leftovers(target: str | Path) -> list[Path]:
    """Delete what killed commands left beside ``target``; returns the folders removed.

    Only hidden folders named like this target's staging folders (``.NAME.XXXXXXXX``,
    ``.NAME.old.XXXXXXXX``, ``.NAME.old``) that carry our marker and whose writer is no
    longer running, hold a dupopt manifest, or are empty. Anything else stays.
    """
    target = _absolute(target)
    parent, name = target.parent, target.name
    if not parent.is_dir():
        return []
    pattern = _leftover_pattern(name)
    removed = []
    # A kill right after the swap can leave the staging marker inside the new output.
    if target.is_dir() and not target.is_symlink() and _is_leftover_marker(target, name):
        (target / STAGING_MARKER).unlink(missing_ok=True)
    for entry in sorted(parent.iterdir()):
        if not pattern.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        if _is_leftover(entry, name):
            _remove_tree(entry, name)
            removed.append(entry)
    return removed


# ---------------------------------------------------------------------------------------
# Staging and swapping
# ---------------------------------------------------------------------------------------


def _mark(folder: Path, name: str) -> None:
    owner = {"target": name, "pid": os.getpid(), "host": socket.gethostname()}
    (folder / STAGING_MARKER).write_text(to_json(owner) + "\n", encoding="utf-8")


def _token() -> str:
    return "".join(secrets.choice(_TOKEN_CHARS) for _ in range(_TOKEN_LEN))


def _new_staging(target: Path) -> Path:
    while True:
        staging = target.with_name(f".{target.name}.{_token()}")
        try:
            # os.mkdir (not mkdtemp) so the folder gets the user's ordinary permissions.
            staging.mkdir()
        except FileExistsError:
            continue
        _mark(staging, target.name)
        return staging


def _remove_tree(folder: Path, name: str) -> None:
    """Delete a staging or replaced folder, keeping its marker to the last, so a kill
    half-way leaves a folder :func:`clean_leftovers` still recognises."""
    if folder.is_symlink() or not folder.is_dir():
        return
    try:
        if not (folder / STAGING_MARKER).exists():
            _mark(folder, name)
        for child in folder.iterdir():
            if child.name == STAGING_MARKER:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
        (folder / STAGING_MARKER).unlink(missing_ok=True)
        folder.rmdir()
    except OSError:
        pass  # best effort: what stays is cleaned up by the next command


def _swap(staging: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()  # an empty folder the user made for us; rmdir fails if it filled up
    if not os.path.lexists(target):
        staging.rename(target)
    else:
        old = target.with_name(f".{target.name}.old.{_token()}")
        target.rename(old)
        try:
            staging.rename(target)
        except BaseException:
            old.rename(target)
            raise
        (target / STAGING_MARKER).unlink(missing_ok=True)
        _remove_tree(old, target.name)
    (target / STAGING_MARKER).unlink(missing_ok=True)


@contextmanager
def staged_output(
    target: str | Path,
    kind: str,
    *,
    inputs: Iterable[tuple[Path, str]] = (),
    manifest: Mapping[str, Any] | None = None,
) -> Iterator[Path]:
    """Build an output folder in a hidden staging folder and swap it in as a whole.

    Parameters
    ----------
    target
        The output folder: missing, empty, or a dupopt output of the same ``kind``
        (see :func:`check_target`).
    kind
        ``"run"``, ``"report"`` or ``"export"``.
    inputs
        ``(path, description)`` of what the command reads; the target may not hold them.
    manifest
        Extra fields of the manifest written at the end if the caller wrote none.

    Yields
    ------
    Path
        The staging folder to write into.

    Raises
    ------
    OutputError
        The target is refused (nothing is written, nothing in it changes).

    Examples
    --------
    >>> import tempfile
    >>> out = Path(tempfile.mkdtemp()) / "out"
    >>> with staged_output(out, "export") as stage:
    ...     _ = (stage / "a.txt").write_text("a")
    >>> sorted(p.name for p in out.iterdir()), read_manifest(out)["kind"]
    (['a.txt', 'manifest.json'], 'export')
    """
    inputs = list(inputs)
    check_target(target, kind, inputs=inputs)
    target = _absolute(target)  # "." and "out/.." name no folder to stage beside
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_leftovers(target)
    staging = _new_staging(target)
    try:
        yield staging
        if not (staging / MANIFEST).exists():
            write_manifest(staging, kind, **(manifest or {}))
        # Again: the target may have changed while we worked (a user saved a file in it).
        check_target(target, kind, inputs=inputs)
        _swap(staging, target)
    except BaseException:
        _remove_tree(staging, target.name)
        raise
