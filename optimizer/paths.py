"""Where the shipped default dataset lives."""

from __future__ import annotations

from pathlib import Path


def default_data_dir() -> Path:
    """Return the folder holding the shipped default dataset.

    A wheel carries ``data/`` inside the ``optimizer`` package; a source checkout (and an
    editable install) keeps it at the repository root.

    Examples
    --------
    >>> (default_data_dir() / "scenario.toml").exists()
    True
    """
    here = Path(__file__).resolve().parent
    packaged = here / "data"
    if packaged.is_dir():
        return packaged
    return here.parent / "data"
