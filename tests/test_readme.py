"""The README stays true: its library example runs and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_examples_run(tmp_path, monkeypatch):
    """The python blocks of the README execute in order, as in one session (in a scratch
    folder, where the example sweep writes its store)."""
    blocks = _blocks("python")
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for code in blocks:
        exec(compile(code, "README.md", "exec"), namespace)
    higher, scenario = namespace["higher"], namespace["scenario"]
    ratio = higher.demand["value"].sum() / scenario.demand["value"].sum()
    assert abs(ratio - 1.1) < 1e-9
    costs = namespace["costs"]
    assert costs[0] < costs[1]  # more demand costs more
    scenarios = namespace["tables"]["scenarios"]
    assert len(scenarios) == len(namespace["sweep"].jobs)
    assert (scenarios["status"] == "done").all()


def test_ci_runs_the_readme_test_command():
    """.ci/run contains the README's test command verbatim."""
    commands = [line for block in _blocks("bash") for line in block.splitlines()]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
