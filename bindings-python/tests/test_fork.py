"""fork(): a child may use, close and drop objects whose threads stayed in
the parent (a ``dispatch="thread"`` subscription, an audit log syncing on an
interval) without a PanicException or a word on stderr. In the child those
objects refuse work with ClosedError; the parent's keep working."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SET_UP = """
    import os, sys, warnings, charter
    # CPython 3.12+ warns about forking a multi-threaded process; that is
    # Python's own message, not Charter's, and not what is tested here.
    warnings.simplefilter("ignore", DeprecationWarning)
    bus = charter.Bus()
    seen = []
    sub = bus.subscribe("t", seen.append, dispatch="thread")
    log = charter.AuditLog.open(sys.argv[1], fsync=0.01)
    bus.publish("t", b"x")
    log.append("a", "r", charter.Decision.ALLOW)
    pid = os.fork()
"""

CHILDREN = {
    "use then close": """
        if pid == 0:
            code = 0
            try:
                try:
                    bus.publish("t", b"x")
                    code = 2
                except charter.ClosedError:
                    pass
                try:
                    log.append("a", "r", charter.Decision.ALLOW)
                    code = 3
                except charter.ClosedError:
                    pass
                sub.close()
                log.close()
                bus.close()
            except BaseException as e:
                print(repr(e), file=sys.stderr)
                code = 4
            os._exit(code)
    """,
    "exit with everything open": """
        if pid == 0:
            sys.exit(0)
    """,
}

PARENT = """
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status), status
    assert os.WEXITSTATUS(status) == 0, os.WEXITSTATUS(status)
    bus.publish("t", b"x")
    log.append("a", "r", charter.Decision.ALLOW)
    sub.close()
    log.close()
    bus.close()
"""


@pytest.mark.parametrize("child", CHILDREN.values(), ids=list(CHILDREN))
def test_forked_child_is_quiet(child: str, tmp_path: Path) -> None:
    code = textwrap.dedent(SET_UP) + textwrap.dedent(child) + textwrap.dedent(PARENT)
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "audit.log")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
