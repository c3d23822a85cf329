"""The documentation's code runs: README quickstart, examples, package docstring."""

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
BUS_EXAMPLE = HERE.parent / "examples" / "bus_basics.py"
CAPABILITIES_EXAMPLE = HERE.parent / "examples" / "capabilities.py"
AUDIT_EXAMPLE = HERE.parent / "examples" / "audit.py"
DEMO_EXAMPLE = HERE.parent / "examples" / "demo.py"
BINDING_README = HERE.parent / "README.md"


def block_after(readme: Path, marker: str) -> str:
    """The first ```python block after `marker` in `readme`."""
    section = readme.read_text(encoding="utf-8").split(marker, 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, f"no ```python block after {marker!r}"
    return match.group(1)


def python(*args: str) -> subprocess.CompletedProcess[str]:
    """This interpreter run on `args`, its output captured."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60)


def clean_run(*args: str) -> str:
    """The output of this interpreter run on `args`, which must succeed and write nothing to stderr."""
    done = python(*args)
    assert (done.returncode, done.stderr) == (0, "")
    return done.stdout


def test_every_python_block_of_the_binding_readme_runs() -> None:
    """Each block on its own, as a reader would paste it."""
    text = BINDING_README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    assert len(blocks) >= 5
    for block in blocks:
        if "nats://" in block:
            # Needs a NATS server: test_bridge.py runs it against a real one.
            continue
        done = python("-c", block)
        assert (done.returncode, done.stderr) == (0, ""), block


def test_readme_quickstart_runs() -> None:
    done = python("-c", block_after(ROOT_README, "## Quickstart: Python"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_package_docstring_examples() -> None:
    result = doctest.testmod(charter)
    assert result.attempted > 0 and result.failed == 0


def test_example_runs() -> None:
    done = python(str(EXAMPLE))
    assert done.returncode == 0, done.stderr
    assert "NotifyReport(delivered=2, failed=1, panicked=0)" in done.stdout
    assert "after close: CHARTER_E_CLOSED (-19): the registry is closed" in done.stdout


def test_bus_example_runs() -> None:
    stdout = clean_run(str(BUS_EXAMPLE))
    assert "PublishReport(matched=2, delivered=2, dropped=0)" in stdout
    assert "audited: ['orders.eu.created', 'orders.eu.shipped']" in stdout
    assert "price: 42.00" in stdout
    assert "no stock service: CHARTER_E_NOT_FOUND" in stdout
    assert "queue: received 2, delivered 2, dropped 0" in stdout


def test_capabilities_example_runs() -> None:
    stdout = clean_run(str(CAPABILITIES_EXAMPLE))
    assert stdout.splitlines() == [
        "links: 2, worker may: ['publish orders.eu.*']",
        "verified: True",
        "service got: b'order 17'",
        "denied: CHARTER_E_DENIED",
        "revoked: CHARTER_E_REVOKED",
        "service still publishes: b'order 20'",
        "expired: CHARTER_E_EXPIRED",
        "denied on this bus: 3",
        "revocation list: True",
    ]


def test_readme_capabilities_section_runs() -> None:
    stdout = clean_run("-c", block_after(BINDING_README, "## Capabilities"))
    assert stdout.startswith('no publish grant covers "orders.us.created" for charter-id1:')


def test_audit_example_runs() -> None:
    stdout = clean_run(str(AUDIT_EXAMPLE))
    assert stdout.splitlines() == [
        "denied #0: publish orders.us.created by the worker",
        "denied #2: refund order/18 by the worker",
        "checkpoint: 3 records",
        "record 1 is in it",
        "the log of 4 extends it: True",
        "tampered: CHARTER_E_CORRUPT, names record 3: True",
    ]


def test_readme_audit_section_runs() -> None:
    stdout = clean_run("-c", block_after(BINDING_README, "## Audit log"))
    assert stdout.splitlines() == ["1 refund order/18 deny", "deny publish orders.eu"]


def test_readme_auditors_section_runs() -> None:
    stdout = clean_run("-c", block_after(BINDING_README, "### Auditors and witnesses"))
    assert stdout.splitlines() == ["True 2 ('witness.example',)", "2"]


def test_demo_example_runs(tmp_path: Path) -> None:
    """The end-to-end demo: each verdict, the auditor's exact counts, and a
    refusal to mix a second run into the same log."""
    lines = clean_run(str(DEMO_EXAMPLE), str(tmp_path)).splitlines()
    assert sum(line.startswith("   allowed  ") for line in lines) == 7
    assert sum(line.startswith("   denied   ") for line in lines) == 6
    for line in [
        "   allowed  worker   publish    orders.eu.created",
        "   denied   worker   publish    orders.us.created",
        "   denied   billing  publish    orders.eu.deleted",
        "   worker's session active: no",
        "            CHARTER_E_REVOKED: the session's token was revoked",
        "   checkpoint  signature valid, size 14 of demo.charter.local/audit",
        "Summary: 14 records (8 allowed, 6 denied), verified against the signed checkpoint.",
    ]:
        assert line in lines
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "audit.log",
        "audit.log.checkpoint",
        "audit.vkey",
    ]

    again = python(str(DEMO_EXAMPLE), str(tmp_path))
    assert again.returncode != 0
    assert "audit.log already exists" in again.stderr


def test_readme_asyncio_section_runs() -> None:
    stdout = clean_run("-c", block_after(BINDING_README, "Async handlers: the subscription's thread"))
    assert sorted(stdout.splitlines()) == [
        "audited orders.eu.created",
        "cancelled; queued: 0",
        "received orders.eu.created",
        "reply b'abab'",
    ]
