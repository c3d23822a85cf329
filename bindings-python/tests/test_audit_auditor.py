"""The auditor's path and the writer's append-only rules, as Python sees
them: ``verify_log`` and ``LogView`` never write, tamper and rollback are
caught (by the checkpoint, an earlier note, or a trust state file), the
writer refuses what does not extend its checkpoint, ``start_over``, and
automatic checkpoints.

The tests run as root, which file permissions do not stop. So "read-only"
is shown the other way round: the log and its directory are made 0444 and
0555, and the test asserts that the auditor left the bytes, size and
mtime of every file as they were and created nothing (no lock, no
temporary file).
"""

from __future__ import annotations

import dataclasses
import os
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from audit_reference import encode, frame, frame_offsets

import charter
from charter import AuditLog, Decision, KeyPair, LogView, Record, verify_log
from conftest import AUDIT_ORIGIN as ORIGIN



@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


def records(n: int, start: int = 0) -> List[Record]:
    return [Record("publish", f"orders.{i}", Decision.DENY, time=1_700_000_000_000 + i) for i in range(start, start + n)]


def written(path: Path, key: KeyPair, n: int, checkpoint: bool = True) -> str:
    """A log of ``n`` records at ``path``; the checkpoint note, if signed."""
    with AuditLog.open(path, signer=key, origin=ORIGIN, fsync="never") as log:
        for record in records(n):
            log.append(record)
        return log.checkpoint() if checkpoint else ""


def snapshot(directory: Path) -> Dict[str, Tuple[bytes, int, int]]:
    """Every file in ``directory``: bytes, size and mtime (ns)."""
    out = {}
    for entry in sorted(directory.iterdir()):
        st = entry.lstat()
        out[entry.name] = (entry.read_bytes(), st.st_size, st.st_mtime_ns)
    return out


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A directory made read-only (0555) after the test fills it; restored
    afterwards so pytest can clean up."""
    directory = tmp_path / "ro"
    directory.mkdir()
    yield directory
    directory.chmod(0o755)


def test_verify_and_view_never_write(read_only: Path, key: KeyPair, vkey: str) -> None:
    path = read_only / "audit.log"
    written(path, key, 5)
    with path.open("ab") as f:  # a torn frame: a writer mid-append, never cut
        f.write(frame(encode(5, records(1, 5)[0]))[:30])
    for entry in read_only.iterdir():
        entry.chmod(0o444)
    read_only.chmod(0o555)
    before = snapshot(read_only)
    time.sleep(0.01)

    report = verify_log(path, log_key=vkey)
    assert report.ok, report.problem
    assert (report.records, report.checkpoint) == (5, 5)
    view = LogView.open(path)
    assert len(view) == 5 and view.root == report.root
    note = view.checkpoint()
    assert note is not None and charter.verify_checkpoint(note, vkey).root == view.root
    leaf = view.leaf_hash(2)
    charter.verify_inclusion(leaf, 2, 5, view.prove_inclusion(2, 5), view.root)
    charter.verify_consistency(3, 5, view.root_at(3), view.root, view.prove_consistency(3, 5))

    assert snapshot(read_only) == before


def test_verify_beside_a_live_writer(path: Path, key: KeyPair, vkey: str) -> None:
    written(path, key, 1)
    stop = threading.Event()

    def write() -> None:
        with AuditLog.open(path, signer=key, origin=ORIGIN, fsync="never", checkpoint_every=7) as log:
            i = 1
            while not stop.is_set():
                log.append(Record("publish", "x" * (i % 300), Decision.ALLOW, time=i))
                i += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        seen = 0
        rounds = 0
        # At least 30 rounds, and on until the writer has appended: how
        # soon its thread gets the GIL back is up to the scheduler.
        deadline = time.monotonic() + 10
        while rounds < 30 or (seen <= 1 and time.monotonic() < deadline):
            rounds += 1
            report = verify_log(path, log_key=vkey)
            assert report.ok, report.problem
            assert report.records >= seen and report.checkpoint is not None
            assert report.checkpoint <= report.records
            seen = report.records
            assert len(LogView.open(path)) >= seen
    finally:
        stop.set()
        writer.join()
    assert seen > 1
    assert verify_log(path, log_key=vkey).ok


def test_a_rewritten_record_is_caught_and_never_signed(path: Path, key: KeyPair, vkey: str) -> None:
    written(path, key, 6)
    checkpoint_before = Path(f"{path}.checkpoint").read_bytes()
    forged = dataclasses.replace(records(6)[2], decision=Decision.ALLOW)
    offsets = frame_offsets(records(6))
    data = path.read_bytes()
    path.write_bytes(data[: offsets[2]] + frame(encode(2, forged)) + data[offsets[3] :])

    report = verify_log(path, log_key=vkey)
    assert not report.ok and report.problem is not None and "checkpoint" in report.problem
    assert report.problem_code == "CHARTER_E_CORRUPT"
    # The writer refuses the split history: it neither opens it nor signs it.
    with pytest.raises(charter.CorruptError, match="rewritten"):
        AuditLog.open(path, signer=key, origin=ORIGIN)
    assert Path(f"{path}.checkpoint").read_bytes() == checkpoint_before


def test_a_damaged_frame_is_a_bad_record(path: Path, key: KeyPair) -> None:
    written(path, key, 4, checkpoint=False)
    data = bytearray(path.read_bytes())
    data[frame_offsets(records(4))[1] + 50] ^= 1
    path.write_bytes(bytes(data))
    report = verify_log(path)
    assert (report.ok, report.records, report.first_bad) == (False, 1, 1)
    with pytest.raises(charter.CorruptError, match="record 1"):
        LogView.open(path)


def test_rollback_cut_and_reappended_is_caught(path: Path, key: KeyPair, vkey: str) -> None:
    earlier = written(path, key, 8)
    path.write_bytes(path.read_bytes()[: frame_offsets(records(8))[5]])
    with pytest.raises(charter.CorruptError, match="record 5 is missing"):
        AuditLog.open(path, signer=key, origin=ORIGIN)
    report = verify_log(path, log_key=vkey)
    assert (report.ok, report.first_bad) == (False, 5)

    # The host also drops the checkpoint and re-appends: the log's own
    # files now agree, so only what a verifier kept elsewhere catches it.
    Path(f"{path}.checkpoint").unlink()
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        for record in records(4, 100):
            log.append(record)
        log.checkpoint()
    assert verify_log(path, log_key=vkey).ok
    report = verify_log(path, log_key=vkey, against=earlier)
    assert not report.ok and report.problem is not None and "earlier checkpoint" in report.problem
    assert (report.against, report.problem_code) == (8, "CHARTER_E_CORRUPT")


def test_the_state_file_catches_deletion_and_a_new_log(path: Path, tmp_path: Path, key: KeyPair, vkey: str) -> None:
    state = tmp_path / "trusted"
    written(path, key, 10)
    assert verify_log(path, log_key=vkey, state=state).ok
    assert stat.S_IMODE(state.stat().st_mode) == 0o600

    os.unlink(path)
    os.unlink(f"{path}.checkpoint")
    written(path, key, 3)
    assert verify_log(path, log_key=vkey).ok  # the log alone cannot tell
    report = verify_log(path, log_key=vkey, state=state)
    assert not report.ok and report.problem is not None

    # A log that extends what was trusted passes, and moves the state on.
    os.unlink(path)
    os.unlink(f"{path}.checkpoint")
    written(path, key, 12)
    assert verify_log(path, log_key=vkey, state=state).ok
    os.unlink(path)
    os.unlink(f"{path}.checkpoint")
    written(path, key, 11)
    assert not verify_log(path, log_key=vkey, state=state).ok


def test_state_needs_a_log_key(path: Path, tmp_path: Path, key: KeyPair) -> None:
    written(path, key, 1)
    with pytest.raises(charter.InvalidArgumentError):
        verify_log(path, state=tmp_path / "trusted")


def test_a_missing_checkpoint_fails_unless_allowed(path: Path, key: KeyPair, vkey: str) -> None:
    written(path, key, 3, checkpoint=False)
    report = verify_log(path, log_key=vkey)
    assert not report.ok and report.problem is not None and "checkpoint" in report.problem
    assert report.problem_code == charter.BadSignatureError.code
    report = verify_log(path, log_key=vkey, allow_missing_checkpoint=True)
    assert report.ok and report.problem_code is None
    assert verify_log(path).ok  # trusting nothing, only the chain is checked


def test_verify_refuses_what_is_not_a_log(tmp_path: Path) -> None:
    with pytest.raises(charter.NotFoundError):
        verify_log(tmp_path / "missing.log")
    with pytest.raises(charter.InvalidArgumentError, match="not a regular file"):
        verify_log(tmp_path)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(charter.InvalidArgumentError, match="not a regular file"):
        LogView.open(fifo)
    (tmp_path / "text").write_text("hello")
    with pytest.raises(charter.CorruptError):
        verify_log(tmp_path / "text")


def test_a_symlinked_checkpoint_tmp_is_not_followed(path: Path, tmp_path: Path, key: KeyPair, vkey: str) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    written(path, key, 2, checkpoint=False)
    os.symlink(victim, f"{path}.checkpoint.tmp")
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        note = log.checkpoint()
    assert victim.read_bytes() == b"precious"
    checkpoint = Path(f"{path}.checkpoint")
    assert not checkpoint.is_symlink() and checkpoint.read_text() == note
    assert stat.S_IMODE(checkpoint.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert verify_log(path, log_key=vkey).ok


def test_start_over_keeps_the_old_history(path: Path, key: KeyPair) -> None:
    written(path, key, 4)
    path.write_bytes(path.read_bytes()[: frame_offsets(records(4))[2]])
    with pytest.raises(charter.InvalidArgumentError, match="new origin"):
        AuditLog.start_over(path, reason="disk restored from backup", signer=key, origin=ORIGIN)
    with AuditLog.start_over(path, reason="disk restored from backup", signer=key, origin="example.com/audit-2") as log:
        assert (len(log), log.origin) == (1, "example.com/audit-2")
        first = log[0]
        note = log.latest_checkpoint
    assert (first.action, first.resource) == ("start_over", ORIGIN)
    assert "size 4" in first.detail and "disk restored from backup" in first.detail
    assert note is not None
    assert charter.verify_checkpoint(note, charter.verifier_key("example.com/audit-2", key.public_key)).size == 1
    kept = sorted(p.name.split(".replaced-")[0] for p in path.parent.iterdir() if ".replaced-" in p.name)
    assert kept == ["audit.log", "audit.log.checkpoint"]


def test_automatic_checkpoints(path: Path, key: KeyPair, vkey: str) -> None:
    with AuditLog.open(path, signer=key, origin=ORIGIN, checkpoint_every=3) as log:
        assert (log.checkpoint_every, log.checkpoint_interval) == (3, None)
        for record in records(7):
            log.append(record)
    assert verify_log(path, log_key=vkey).checkpoint == 6
    with AuditLog.open(path, signer=key, origin=ORIGIN, checkpoint_interval=0.05) as log:
        assert log.checkpoint_interval == pytest.approx(0.05)
        log.append(records(1, 7)[0])
        deadline = time.monotonic() + 10
        while verify_log(path, log_key=vkey).checkpoint != 8 and time.monotonic() < deadline:
            time.sleep(0.02)
    assert verify_log(path, log_key=vkey).checkpoint == 8


def test_automatic_checkpoints_need_a_signer_and_a_positive_interval(path: Path, key: KeyPair) -> None:
    with pytest.raises(charter.InvalidArgumentError):
        AuditLog.open(path, checkpoint_every=5)
    with pytest.raises(charter.InvalidArgumentError, match="positive"):
        AuditLog.open(path, signer=key, origin=ORIGIN, checkpoint_interval=0)
    with pytest.raises(TypeError, match="checkpoint_interval"):
        AuditLog.open(path, signer=key, origin=ORIGIN, checkpoint_interval="1s")  # type: ignore[arg-type]


def test_exit_with_daemon_threads_auditing_and_witnessing(path: Path, tmp_path: Path, key: KeyPair) -> None:
    """Threads inside verify_log, LogView.open and Witness.add_checkpoint
    (all with the GIL released) while the interpreter exits: a prompt,
    silent exit, and a state file that still parses afterwards. The exit
    waits for one witnessed checkpoint, so a loaded machine cannot leave
    the state file empty."""
    written(path, key, 50)
    state = tmp_path / "witness.state"
    start = time.monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import threading, time, charter
                key = charter.KeyPair.from_pkcs8({key.to_pkcs8()!r})
                vkey = charter.verifier_key({ORIGIN!r}, key.public_key)
                witness = charter.Witness.open({str(state)!r}, name="w", key=charter.KeyPair.generate(), logs=[vkey])
                log = charter.AuditLog.in_memory(signer=key, origin={ORIGIN!r})
                def audit():
                    while True:
                        charter.verify_log({str(path)!r}, log_key=vkey)
                        charter.LogView.open({str(path)!r})
                def witnessing():
                    size = 0
                    while True:
                        log.append("a", "r", "allow")
                        note = log.checkpoint()
                        witness.add_checkpoint(size, log.prove_consistency(size, len(log)) if size else [], note)
                        size = len(log)
                        witnessed.set()
                witnessed = threading.Event()
                for target in (audit, audit, witnessing):
                    threading.Thread(target=target, daemon=True).start()
                witnessed.wait(30)
                time.sleep(0.2)
                """
            ),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - start < 10
    assert verify_log(path, log_key=charter.verifier_key(ORIGIN, key.public_key)).ok
    vkey = charter.verifier_key(ORIGIN, key.public_key)
    latest = charter.Witness.open(state, name="w", key=KeyPair.generate(), logs=[vkey]).latest(ORIGIN)
    assert latest is not None and latest[0] > 0


def test_threads_share_a_witness(tmp_path: Path, key: KeyPair, vkey: str) -> None:
    """Eight threads, each with its own handle on one state file, cosign
    the same first checkpoint at once: exactly one succeeds."""
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        for record in records(3):
            log.append(record)
        note = log.checkpoint()
    witness_key = KeyPair.generate()
    handles = [
        charter.Witness.open(tmp_path / "shared.state", name="w", key=witness_key, logs=[vkey]) for _ in range(8)
    ]
    outcomes: List[str] = []
    lock = threading.Lock()

    def cosign(w: charter.Witness) -> None:
        try:
            w.add_checkpoint(0, [], note)
            outcome = "ok"
        except charter.DeniedError:
            outcome = "denied"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=cosign, args=(w,)) for w in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["denied"] * 7 + ["ok"]


@pytest.mark.parametrize("where", ["checkpoint", "state", "witness state"])
def test_a_fifo_planted_by_the_host_never_blocks(path: Path, tmp_path: Path, key: KeyPair, vkey: str, where: str) -> None:
    """A FIFO where the checkpoint, the trust state or a witness's state
    should be: refused at once (opening a FIFO for reading would otherwise
    wait for a writer forever)."""
    note = written(path, key, 2)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    start = time.monotonic()
    with pytest.raises(charter.InvalidArgumentError, match="FIFO"):
        if where == "checkpoint":
            os.replace(fifo, f"{path}.checkpoint")
            verify_log(path, log_key=vkey)
        elif where == "state":
            verify_log(path, log_key=vkey, state=fifo)
        else:
            charter.Witness.open(fifo, name="w", key=KeyPair.generate(), logs=[vkey]).add_checkpoint(0, [], note)
    assert time.monotonic() - start < 5
