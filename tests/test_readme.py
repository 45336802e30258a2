"""The README stays true: its library example runs and CI runs its test command."""

from __future__ import annotations

import doctest
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_python_examples_run_and_print_what_they_document(tmp_path, monkeypatch):
    """The README's Python sessions run in order, as one session, and every output they
    show (statuses, costs, sweep counts) is what the code prints (in a scratch folder,
    where the example sweep writes its store)."""
    blocks = _blocks("pycon")
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(
        "\n".join(blocks), {}, "README.md", str(ROOT / "README.md"), 0
    )
    assert sum(bool(e.want) for e in test.examples) >= 3  # numbers are shown, and checked
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    out: list[str] = []
    result = runner.run(test, out=out.append, clear_globs=False)
    assert result.failed == 0, "".join(out)
    namespace = test.globs
    ratio = namespace["higher"].demand["value"].sum() / namespace["scenario"].demand["value"].sum()
    assert abs(ratio - 1.1) < 1e-9


def test_ci_runs_the_readme_test_command():
    """.ci/run contains the README's test command verbatim."""
    commands = [line for block in _blocks("bash") for line in block.splitlines()]
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
