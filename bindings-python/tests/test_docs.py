"""The documentation's code runs: README quickstart, example, package docstring."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import charter

HERE = Path(__file__).resolve().parent
ROOT_README = HERE.parents[1] / "README.md"
EXAMPLE = HERE.parent / "examples" / "registry_basics.py"


def quickstart() -> str:
    text = ROOT_README.read_text(encoding="utf-8")
    section = text.split("## Quickstart: Python", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no ```python block after '## Quickstart: Python'"
    return match.group(1)


def test_readme_quickstart_runs() -> None:
    done = subprocess.run(
        [sys.executable, "-c", quickstart()], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_package_docstring_examples() -> None:
    result = doctest.testmod(charter)
    assert result.attempted > 0 and result.failed == 0


def test_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "NotifyReport(delivered=2, failed=1, panicked=0)" in done.stdout
    assert "after close: CHARTER_E_CLOSED (-19): the registry is closed" in done.stdout
