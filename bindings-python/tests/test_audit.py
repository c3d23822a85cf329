"""The audit log: every method, records, queries, checkpoints, closing,
files damaged or cut short on disk, threads and exit."""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import textwrap
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Iterator, List

import pytest
from audit_reference import HEADER, encode, frame, frame_offsets, leaf_hash

import charter
from charter import AuditLog, Decision, KeyPair, Record
from conftest import AUDIT_ORIGIN as ORIGIN

T = 1_700_000_000_000


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


@pytest.fixture
def log(key: KeyPair) -> Iterator[AuditLog]:
    with AuditLog.in_memory(signer=key, origin=ORIGIN) as log:
        yield log


def sample(n: int, actors: List[str]) -> List[Record]:
    """``n`` records with every field varied."""
    decisions = [Decision.ALLOW, Decision.DENY, Decision.ERROR]
    return [
        Record(
            f"act{i % 3}",
            f"orders.{i}",
            decisions[i % 3],
            actor=actors[i % len(actors)] if i % 4 else None,
            reason=-i,
            detail="détail " * (i % 5),
            time=T + i,
        )
        for i in range(n)
    ]


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


# Records and decisions


def test_record_is_a_frozen_dataclass() -> None:
    before = time.time_ns() // 1_000_000
    record = Record("refund", "order/17", "deny")
    assert record.decision is Decision.DENY
    assert (record.actor, record.reason, record.detail) == (None, 0, "")
    assert before <= record.time <= time.time_ns() // 1_000_000
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.action = "other"  # type: ignore[misc]
    changed = Record("refund", "order/17", Decision.DENY, detail="x", time=record.time)
    assert dataclasses.replace(record, detail="x") == changed
    assert pickle.loads(pickle.dumps(record)) == record
    assert hash(record) == hash(dataclasses.replace(record))
    with pytest.raises(ValueError, match="'maybe' is not a valid Decision"):
        Record("a", "b", "maybe")  # type: ignore[arg-type]


def test_decision_is_a_string_enum() -> None:
    assert [d.value for d in Decision] == ["allow", "deny", "error"]
    deny: str = Decision.DENY
    assert deny == "deny" and str(Decision.DENY) == "deny" and isinstance(deny, str)
    assert Decision("error") is Decision.ERROR


def test_record_encode_is_the_leaf(key: KeyPair) -> None:
    record = Record(
        "publish", "orders.eu", Decision.DENY, actor=key.principal, reason=-10, detail="no", time=T
    )
    assert record.encode(7) == encode(7, record)
    assert charter.leaf_hash(record.encode(7)) == leaf_hash(encode(7, record))
    with pytest.raises(charter.InvalidArgumentError, match="action must not be empty"):
        Record("", "r", Decision.ALLOW).encode(0)


# Opening


def test_open_creates_a_file_log(path: Path, key: KeyPair) -> None:
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        assert log.path == path and isinstance(log.path, Path)
        assert (log.origin, log.fsync, len(log)) == (ORIGIN, "always", 0)
        assert log.recovery == charter.Recovery(0, 0)
        assert log.root == charter.EMPTY_ROOT
        assert repr(log) == f"<charter.AuditLog {str(path)!r} records=0>".replace("'", '"')
    assert path.read_bytes() == HEADER


def test_open_takes_str_paths_and_every_fsync_policy(path: Path) -> None:
    for fsync, shown in [
        ("always", "always"),
        ("never", "never"),
        (0.25, 0.25),
        (2, 2.0),
        (timedelta(milliseconds=50), 0.05),
    ]:
        with AuditLog.open(str(path), fsync=fsync) as log:  # type: ignore[arg-type]
            assert log.fsync == shown
            log.append("a", "r", Decision.ALLOW)
    with AuditLog.open(path) as log:
        assert len(log) == 5
        assert log.origin == "charter.local/audit"
        assert log.recovery == charter.Recovery(records=5, truncated_bytes=0)


@pytest.mark.parametrize("fsync", ["sometimes", 0, -1.0, float("nan"), timedelta(0)])
def test_bad_fsync_policies(path: Path, fsync: object) -> None:
    with pytest.raises(charter.InvalidArgumentError, match="fsync"):
        AuditLog.open(path, fsync=fsync)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="fsync must be"):
        AuditLog.open(path, fsync=[1])  # type: ignore[arg-type]


def test_open_refuses_what_is_not_an_audit_log(path: Path, tmp_path: Path) -> None:
    path.write_bytes(b"not an audit log at all")
    with pytest.raises(charter.CorruptError, match="not a Charter audit log"):
        AuditLog.open(path)
    with pytest.raises(charter.IoError):
        AuditLog.open(tmp_path / "missing" / "audit.log")


@pytest.mark.parametrize("origin", ["has space", "a+b", ""])
def test_origins_must_be_key_names(key: KeyPair, path: Path, origin: str) -> None:
    with pytest.raises(charter.InvalidArgumentError, match="origin|key name"):
        AuditLog.in_memory(signer=key, origin=origin)
    with pytest.raises(charter.InvalidArgumentError, match="origin|key name"):
        AuditLog.open(path, origin=origin)


def test_in_memory(key: KeyPair) -> None:
    with AuditLog.in_memory() as log:
        assert (log.path, log.verifier_key, log.latest_checkpoint) == (None, None, None)
        assert log.recovery == charter.Recovery()
        assert repr(log) == "<charter.AuditLog in memory records=0>"
        with pytest.raises(charter.InvalidArgumentError, match="no signer"):
            log.checkpoint()
        with pytest.raises(charter.InvalidArgumentError, match="no signer"):
            log.verify_against("note")


# Appending and reading back


def test_append_both_forms(log: AuditLog, key: KeyPair) -> None:
    index = log.append(
        "publish", "orders.eu", "deny", actor=key.principal, reason=-10, detail="why", time=T
    )
    assert index == 0
    record = Record(
        "publish", "orders.eu", Decision.DENY, actor=key.principal, reason=-10, detail="why", time=T
    )
    assert log.get(0) == record
    assert log.append(record) == 1
    assert log[1] == log[-1] == record == log[-2]
    before = time.time_ns() // 1_000_000
    log.append("a", "", Decision.ALLOW)
    assert before <= log[2].time <= time.time_ns() // 1_000_000
    assert log[2].actor is None and log[2].detail == ""
    assert len(log) == 3


def test_append_refuses_bad_records(log: AuditLog) -> None:
    with pytest.raises(charter.InvalidArgumentError, match="action must not be empty"):
        log.append("", "r", "allow")
    with pytest.raises(charter.LimitExceededError, match="action is 65 bytes; the limit is 64"):
        log.append("a" * 65, "r", "allow")
    with pytest.raises(charter.LimitExceededError, match="resource is 1025 bytes"):
        log.append("a", "r" * 1025, "allow")
    with pytest.raises(charter.LimitExceededError, match="detail is 1025 bytes"):
        log.append(Record("a", "r", Decision.ALLOW, detail="d" * 1025))
    with pytest.raises(charter.InvalidArgumentError, match='"allow", "deny" or "error", not "maybe"'):
        log.append("a", "r", "maybe")  # type: ignore[call-overload]
    with pytest.raises(charter.MalformedError):
        log.append("a", "r", "allow", actor="not a principal")
    with pytest.raises(TypeError, match="takes no other arguments"):
        log.append(Record("a", "r", Decision.ALLOW), detail="x")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="a Record, or an action, a resource and a decision"):
        log.append("a", "r")  # type: ignore[call-overload]
    with pytest.raises(OverflowError):
        log.append("a", "r", "allow", reason=2**31)
    assert len(log) == 0


def test_limits_are_inclusive(log: AuditLog) -> None:
    record = Record("a" * 64, "r" * 1024, Decision.ERROR, detail="é" * 512)
    log.append(record)
    assert log[0] == record


def test_get_and_index_errors(log: AuditLog) -> None:
    log.append("a", "r", "allow")
    with pytest.raises(charter.NotFoundError):
        log.get(1)
    for index in (1, -2, 2**40):
        with pytest.raises(IndexError):
            log[index]
    with pytest.raises(OverflowError):
        log.get(-1)


def test_records_filters(log: AuditLog, key: KeyPair) -> None:
    other = KeyPair.generate()
    records = sample(12, [key.principal, other.principal])
    for record in records:
        log.append(record)
    iterator = log.records()
    assert isinstance(iterator, charter.AuditRecords) and iter(iterator) is iterator
    assert list(iterator) == list(enumerate(records))
    assert list(iterator) == []

    def indexes(found: charter.AuditRecords) -> List[int]:
        return [index for index, _ in found]

    assert indexes(log.records(start=10)) == [10, 11]
    assert indexes(log.records(since=T + 3, until=T + 6)) == [3, 4, 5]
    assert indexes(log.records(since=T + 9)) == [9, 10, 11]
    assert indexes(log.records(until=T + 2)) == [0, 1]
    assert indexes(log.records(decision="deny")) == [1, 4, 7, 10]
    assert indexes(log.records(decision=Decision.ERROR, start=3)) == [5, 8, 11]
    assert indexes(log.records(actor=key.principal)) == [2, 6, 10]
    assert indexes(log.records(actor=other.principal, decision="allow")) == [3, 9]
    with pytest.raises(charter.InvalidArgumentError):
        log.records(decision="maybe")  # type: ignore[arg-type]
    with pytest.raises(charter.MalformedError):
        log.records(actor="nobody")


def test_records_sees_the_log_as_it_was(log: AuditLog) -> None:
    log.append("a", "r", "allow")
    found = log.records()
    log.append("b", "r", "allow")
    assert [r.action for _, r in found] == ["a"]


def test_roots_leaves_and_proofs(log: AuditLog) -> None:
    records = sample(5, ["charter-id1:" + "A" * 43])
    for record in records:
        log.append(record)
    leaves = [leaf_hash(encode(i, r)) for i, r in enumerate(records)]
    assert [log.leaf_hash(i) for i in range(5)] == leaves
    assert log.root_at(0) == charter.EMPTY_ROOT
    assert log.root_at(5) == log.root
    proof = log.prove_inclusion(3, 5)
    assert all(isinstance(h, bytes) and len(h) == 32 for h in proof)
    charter.verify_inclusion(leaves[3], 3, 5, proof, log.root)
    charter.verify_consistency(2, 5, log.root_at(2), log.root, log.prove_consistency(2, 5))
    with pytest.raises(charter.NotFoundError):
        log.leaf_hash(5)
    with pytest.raises(charter.Error):
        log.root_at(6)
    with pytest.raises(charter.Error):
        log.prove_inclusion(5, 5)
    with pytest.raises(charter.Error):
        log.prove_consistency(3, 6)


# Checkpoints and verification


def test_checkpoints(log: AuditLog, key: KeyPair) -> None:
    vkey = log.verifier_key
    assert vkey == charter.verifier_key(ORIGIN, key.public_key)
    assert vkey == charter.verifier_key(ORIGIN, str(key.public_key))
    assert log.latest_checkpoint is None
    log.append("a", "r", "allow")
    note = log.checkpoint()
    assert log.latest_checkpoint == note
    assert charter.verify_checkpoint(note, vkey) == charter.Checkpoint(ORIGIN, 1, log.root)
    report = log.verify()
    assert (report.ok, report.checkpoint, report.records) == (True, 1, 1)
    log.append("b", "r", "deny")
    assert log.verify_against(note).ok
    other = AuditLog.in_memory(signer=KeyPair.generate(), origin=ORIGIN)
    with pytest.raises(charter.BadSignatureError):
        log.verify_against(other.checkpoint())
    with pytest.raises(charter.MalformedError):
        log.verify_against("not a note")


def test_checkpoint_values() -> None:
    root = bytes(range(32))
    checkpoint = charter.Checkpoint("o", 3, root)
    assert (checkpoint.origin, checkpoint.size, checkpoint.root) == ("o", 3, root)
    assert checkpoint == charter.Checkpoint("o", 3, bytearray(root))
    assert hash(checkpoint) == hash(charter.Checkpoint("o", 3, root))
    assert checkpoint != charter.Checkpoint("o", 4, root)
    assert repr(checkpoint) == f"Checkpoint(\"o\", 3, bytes.fromhex('{root.hex()}'))"
    with pytest.raises(charter.InvalidArgumentError, match="root must be 32 bytes, not 31"):
        charter.Checkpoint("o", 3, root[1:])


def test_verify_report(log: AuditLog) -> None:
    report = log.verify()
    assert report and report.ok
    assert (report.records, report.first_bad, report.problem, report.checkpoint) == (0, None, None, None)
    assert report.root == charter.EMPTY_ROOT
    assert report == log.verify()
    assert report.witnesses == ()
    assert repr(report) == "VerifyReport(records=0, first_bad=None, problem=None, checkpoint=None, witnesses=())"


def test_file_checkpoints_persist(path: Path, key: KeyPair) -> None:
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        log.append("a", "r", "allow")
        note = log.checkpoint()
    assert Path(f"{path}.checkpoint").read_text() == note
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        assert log.latest_checkpoint == note
        assert log.verify().checkpoint == 1


# Damage on disk


def written(path: Path, key: KeyPair, records: List[Record], checkpoint: bool = False) -> None:
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        for record in records:
            log.append(record)
        if checkpoint:
            log.checkpoint()


def test_the_file_is_the_documented_format(path: Path, key: KeyPair) -> None:
    records = sample(6, [key.principal])
    written(path, key, records)
    assert path.read_bytes() == HEADER + b"".join(frame(encode(i, r)) for i, r in enumerate(records))


@pytest.mark.parametrize("where", ["length", "hash", "record"])
def test_a_flipped_byte_fails_open_naming_the_record(path: Path, key: KeyPair, where: str) -> None:
    records = sample(5, [key.principal])
    written(path, key, records)
    offset = frame_offsets(records)[2] + {"length": 1, "hash": 12, "record": 60}[where]
    flip(path, offset)
    with pytest.raises(charter.CorruptError, match="record 2"):
        AuditLog.open(path)


def test_verify_finds_the_first_record_changed_under_an_open_log(path: Path, key: KeyPair) -> None:
    records = sample(6, [key.principal])
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        for record in records:
            log.append(record)
        offsets = frame_offsets(records)
        flip(path, offsets[4] + 50)
        flip(path, offsets[2] + 45)
        report = log.verify()
        assert not report.ok and not report
        assert (report.first_bad, report.records) == (2, 2)
        assert report.problem is not None and "record 2" in report.problem
        assert log.get(1) == records[1]
        with pytest.raises(charter.CorruptError, match="record 2"):
            log.get(2)
        found = log.records()
        assert [next(found), next(found)] == [(0, records[0]), (1, records[1])]
        with pytest.raises(charter.CorruptError, match="record 2"):
            next(found)
        assert list(found) == []


def test_a_consistently_rewritten_record_is_caught_by_the_checkpoint(path: Path, key: KeyPair) -> None:
    records = sample(4, [key.principal])
    written(path, key, records, checkpoint=True)
    forged = dataclasses.replace(records[1], decision=Decision.ALLOW)
    offsets = frame_offsets(records)
    data = path.read_bytes()
    path.write_bytes(data[: offsets[1]] + frame(encode(1, forged)) + data[offsets[2] :])
    # The signer refuses to reopen (and so ever to sign) the rewritten
    # history, and leaves the file alone; the auditor reports it.
    with pytest.raises(charter.CorruptError, match="records 0 to 3 are not the ones"):
        AuditLog.open(path, signer=key, origin=ORIGIN)
    assert path.read_bytes() == data[: offsets[1]] + frame(encode(1, forged)) + data[offsets[2] :]
    report = charter.verify_log(path, log_key=charter.verifier_key(ORIGIN, key.public_key))
    assert not report.ok and report.records == 4
    assert report.problem is not None and "checkpoint" in report.problem


def test_truncation_is_caught_by_checkpoints(path: Path, key: KeyPair) -> None:
    records = sample(4, [key.principal])
    written(path, key, records, checkpoint=True)
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        kept_elsewhere = log.checkpoint()
    data = path.read_bytes()
    path.write_bytes(data[: frame_offsets(records)[3]])
    # The signer refuses a log that does not extend its own checkpoint; the
    # auditor reports it.
    with pytest.raises(charter.CorruptError, match="record 3 is missing"):
        AuditLog.open(path, signer=key, origin=ORIGIN)
    vkey = charter.verifier_key(ORIGIN, key.public_key)
    report = charter.verify_log(path, log_key=vkey)
    assert (report.ok, report.records, report.first_bad) == (False, 3, 3)
    Path(f"{path}.checkpoint").unlink()
    assert not charter.verify_log(path, log_key=vkey).ok
    assert charter.verify_log(path, log_key=vkey, allow_missing_checkpoint=True).ok
    report = charter.verify_log(path, log_key=vkey, allow_missing_checkpoint=True, against=kept_elsewhere)
    assert not report.ok and report.first_bad == 3
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        assert (len(log), log.recovery.truncated_bytes) == (3, 0)
        assert log.verify().ok
        assert not log.verify_against(kept_elsewhere).ok


@pytest.mark.parametrize("cut", [1, 39, 41, 70])
def test_a_torn_tail_is_cut_off_and_reported(path: Path, key: KeyPair, cut: int) -> None:
    records = sample(3, [key.principal])
    written(path, key, records)
    size = path.stat().st_size
    torn = frame(encode(3, records[0]))[:cut]
    with path.open("ab") as f:
        f.write(torn)
    with AuditLog.open(path) as log:
        assert log.recovery == charter.Recovery(records=3, truncated_bytes=cut)
        assert len(log) == 3 and log.verify().ok
        assert log.append(records[0]) == 3
    assert path.stat().st_size == size + len(frame(encode(3, records[0])))


def test_zeros_at_the_end_are_damage_not_a_torn_tail(path: Path, key: KeyPair) -> None:
    written(path, key, sample(2, [key.principal]))
    with path.open("ab") as f:
        f.write(bytes(4096))
    data = path.read_bytes()
    with pytest.raises(charter.CorruptError, match="zero-filled"):
        AuditLog.open(path)
    assert path.read_bytes() == data


# Closing


def test_close_releases_the_log(path: Path, key: KeyPair) -> None:
    log = AuditLog.open(path, signer=key, origin=ORIGIN)
    log.append("a", "r", "allow")
    assert not log.closed
    log.close()
    log.close()
    assert log.closed and repr(log) == "<charter.AuditLog closed>"
    calls = [
        lambda: log.append("a", "r", "allow"),
        lambda: log.append(Record("a", "r", Decision.ALLOW)),
        log.sync,
        lambda: len(log),
        lambda: log.root,
        lambda: log.root_at(0),
        lambda: log.leaf_hash(0),
        lambda: log.prove_inclusion(0, 1),
        lambda: log.prove_consistency(0, 1),
        lambda: log.get(0),
        lambda: log[0],
        log.records,
        lambda: log.verifier_key,
        log.checkpoint,
        lambda: log.latest_checkpoint,
        log.verify,
        lambda: log.verify_against(""),
        lambda: log.path,
        lambda: log.origin,
        lambda: log.fsync,
        lambda: log.recovery,
        log.__enter__,
    ]
    for call in calls:
        with pytest.raises(charter.ClosedError, match="the audit log is closed"):
            call()
    with AuditLog.open(path) as reopened:
        assert len(reopened) == 1


def test_sync(path: Path) -> None:
    with AuditLog.open(path, fsync="never") as log:
        log.append("a", "r", "allow")
        log.sync()
    with AuditLog.in_memory() as log:
        log.sync()


# Threads and exit


def test_threads_append_concurrently(path: Path, key: KeyPair) -> None:
    threads, each = 8, 100
    with AuditLog.open(path, signer=key, origin=ORIGIN) as log:
        indexes: List[List[int]] = [[] for _ in range(threads)]
        failures: List[BaseException] = []
        stop = threading.Event()

        def append(me: int) -> None:
            try:
                for i in range(each):
                    indexes[me].append(log.append(f"t{me}", str(i), "allow", time=T))
            except BaseException as exc:
                failures.append(exc)

        def read() -> None:
            try:
                while not stop.is_set():
                    assert log.verify().ok
                    size = len(log)
                    if size:
                        last = size - 1
                        proof, root = log.prove_inclusion(last, size), log.root_at(size)
                        charter.verify_inclusion(log.leaf_hash(last), last, size, proof, root)
                    log.checkpoint()
            except BaseException as exc:
                failures.append(exc)

        workers = [threading.Thread(target=append, args=(me,)) for me in range(threads)]
        reader = threading.Thread(target=read)
        reader.start()
        for t in workers:
            t.start()
        for t in workers:
            t.join(60)
        stop.set()
        reader.join(60)
        assert failures == []
        assert sorted(i for mine in indexes for i in mine) == list(range(threads * each))
        for me, mine in enumerate(indexes):
            assert [log[i].resource for i in mine] == [str(i) for i in range(each)]
            assert {log[i].action for i in mine} == {f"t{me}"}
        assert log.verify().ok
    with AuditLog.open(path) as log:
        assert log.recovery == charter.Recovery(records=threads * each, truncated_bytes=0)


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize("fsync", ["'always'", "'never'", "0.05"])
def test_exit_with_an_open_log(path: Path, fsync: str) -> None:
    start = time.monotonic()
    done = run_python(
        f"""
        import charter
        log = charter.AuditLog.open({str(path)!r}, fsync={fsync})
        for i in range(100):
            log.append("a", str(i), "allow")
        """
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - start < 10
    with AuditLog.open(path) as log:
        assert log.recovery == charter.Recovery(records=100, truncated_bytes=0)
        assert log.verify().ok


def test_exit_with_daemon_threads_appending(path: Path) -> None:
    start = time.monotonic()
    done = run_python(
        f"""
        import threading, time, charter
        log = charter.AuditLog.open({str(path)!r})
        memory = charter.AuditLog.in_memory(signer=charter.KeyPair.generate())
        def append(target):
            while True:
                target.append("a", "r", "allow")
        def checkpoint():
            while True:
                memory.checkpoint()
                memory.verify()
        for target in (log, log, memory):
            threading.Thread(target=append, args=(target,), daemon=True).start()
        threading.Thread(target=checkpoint, daemon=True).start()
        time.sleep(0.2)
        """
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert time.monotonic() - start < 10
    with AuditLog.open(path) as log:
        assert len(log) > 0 and log.verify().ok


def test_a_log_slices_as_a_list_does() -> None:
    with AuditLog.in_memory() as log:
        for i in range(5):
            log.append(f"a{i}", "r", Decision.ALLOW)
        assert [r.action for r in log[1:4]] == ["a1", "a2", "a3"]
        assert [r.action for r in log[::-2]] == ["a4", "a2", "a0"]
        assert log[10:] == [] and log[-1].action == "a4"
