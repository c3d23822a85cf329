"""charter.Bridge against a real nats-server on a free loopback port:
messages and requests carried between two buses, sealed messages accepted
and unsigned ones refused, counted and audited, a durable import started
from a committed position, an importing process SIGKILLed mid-stream and
restarted from its committed position, and the lifecycle. Skipped
when nats-server is not installed (scripts/install-deps.sh installs it)."""

from __future__ import annotations

import asyncio
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

import charter

NATS = shutil.which("nats-server") or next(
    (p for p in ("/usr/sbin/nats-server", "/usr/local/bin/nats-server") if Path(p).exists()), None
)
pytestmark = pytest.mark.skipif(NATS is None, reason="nats-server is not installed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def nats_url() -> Iterator[str]:
    yield from serve()


@pytest.fixture
def jetstream_url(tmp_path: Path) -> Iterator[str]:
    yield from serve("-js", "-sd", str(tmp_path))


def serve(*options: str) -> Iterator[str]:
    assert NATS is not None
    port = free_port()
    server = subprocess.Popen(
        [NATS, "-a", "127.0.0.1", "-p", str(port), *options], stderr=subprocess.PIPE, text=True
    )
    assert server.stderr is not None
    ready = threading.Event()

    def drain() -> None:
        assert server.stderr is not None
        for line in server.stderr:
            if "Server is ready" in line:
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert ready.wait(10), "nats-server did not become ready"
        yield f"nats://127.0.0.1:{port}"
    finally:
        server.kill()
        server.wait()


def eventually(condition: Callable[[], bool]) -> None:
    """Waits for a counter the bridge updates on its own thread."""
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_options_are_checked() -> None:
    with charter.Bus() as bus:
        with pytest.raises(charter.InvalidArgumentError):
            charter.Bridge(bus, "nats://127.0.0.1:1", exports=["a..b"])
        # Token and key go together: the bridge crate's rule and words.
        key = charter.KeyPair.generate()
        now = int(time.time())
        token = charter.Token.mint(key, key.public_key, ["publish a"], now - 60, now + 3600)
        alone: List[Callable[[], charter.Bridge]] = [
            lambda: charter.Bridge(bus, "nats://127.0.0.1:1", key=key),
            lambda: charter.Bridge(bus, "nats://127.0.0.1:1", token=token),
        ]
        for start in alone:
            with pytest.raises(charter.InvalidArgumentError) as info:
                start()
            assert info.value.message == "token and key go together: give both to seal, or neither"
        with pytest.raises(charter.InvalidArgumentError) as info:
            charter.Bridge(bus, "nats://127.0.0.1:1", token=token, key=key, bare_exports=True)
        assert info.value.message == "bare exports carry no seal: a bridge with credentials cannot send them"
        with pytest.raises(charter.InvalidArgumentError):
            charter.Bridge(bus, "nats://127.0.0.1:1", request_timeout=-1)
        log = charter.AuditLog.in_memory()
        with pytest.raises(charter.InvalidArgumentError):
            charter.Bridge(bus, "nats://127.0.0.1:1", audit=log)


def test_messages_and_requests_cross(nats_url: str) -> None:
    with charter.Bus() as a, charter.Bus() as b:
        b.subscribe("svc.upper", lambda m: b.respond(m, m.payload.upper()))
        orders = b.subscribe("orders.>")
        with charter.Bridge(a, nats_url, exports=["orders.>", "svc.>"]) as ba, charter.Bridge(
            b, nats_url, imports=[("orders.>", "workers"), "svc.>"]
        ) as bb:
            ba.flush(10)
            bb.flush(None)  # the bridge's default timeout, as an omitted one
            assert ba.connected and len(ba.origin) == 32
            a.publish("orders.eu", b"hello", {"kind": "created"})
            m = orders.recv(timeout=10)
            assert (m.payload, m.header("kind"), m.header("Charter-Origin")) == (
                b"hello",
                "created",
                ba.origin,
            )
            assert a.request("svc.upper", b"ping", timeout=10).payload == b"PING"
            eventually(lambda: ba.stats()["exported"] == 1 and ba.stats()["requests_out"] == 1)
            eventually(lambda: bb.stats()["imported"] == 1)
            assert bb.refused()["unsigned"] == 0
        assert ba.closed and repr(ba) == "<charter.Bridge closed>"
        ba.close()
        with pytest.raises(charter.ClosedError):
            ba.stats()
        with pytest.raises(charter.ClosedError):
            ba.flush()


def test_a_bare_export_is_imported_as_a_plain_clients(nats_url: str) -> None:
    with charter.Bus() as a, charter.Bus() as b:
        seen = b.subscribe("bare.>")
        with charter.Bridge(b, nats_url, imports=["bare.>"]) as bb, charter.Bridge(
            a, nats_url, exports=["bare.>"], bare_exports=True
        ) as ba:
            bb.flush(10)
            ba.flush(10)
            a.publish("bare.one", b"1")
            m = seen.recv(timeout=10)
            assert (m.topic, m.header("Charter-Origin")) == ("bare.one", "nats")


NO_RESPONDER = "no responder on NATS for the request"


def test_a_request_nothing_answers_is_not_found_long_before_its_timeout(nats_url: str) -> None:
    """NATS's no-responders status, and a far bridge that finds no local
    responder, both end the request with the core's NotFoundError at once:
    not a TimeoutError after the request's timeout."""
    timeout = 10.0
    with charter.Bus() as a, charter.Bus() as b:
        with charter.Bridge(a, nats_url, exports=["void.>", "svc.>"]) as ba, charter.Bridge(
            b, nats_url, imports=["svc.>"]
        ) as bb:
            ba.flush(10)
            bb.flush(10)
            for topic in ("void.x", "svc.nobody"):  # nothing on NATS; nothing on bus b
                began = time.monotonic()
                with pytest.raises(charter.NotFoundError) as info:
                    a.request(topic, b"?", timeout=timeout)
                assert time.monotonic() - began < timeout / 2, topic
                assert isinstance(info.value, LookupError)
                assert info.value.message == NO_RESPONDER

                async def ask(topic: str = topic) -> float:
                    began = time.monotonic()
                    with pytest.raises(charter.NotFoundError) as info:
                        await a.request_async(topic, b"?", timeout=timeout)
                    assert info.value.message == NO_RESPONDER
                    return time.monotonic() - began

                assert asyncio.run(ask()) < timeout / 2, topic
            eventually(lambda: ba.stats()["no_responders"] == 2 and ba.stats()["requests_out"] == 2)


def test_start_and_flush_in_a_handler_the_bridge_runs_are_the_crates_would_block(nats_url: str) -> None:
    """A handler an import runs inline is on the bridge's own thread, where
    starting or flushing a bridge would block it: the bridge crate refuses
    both, and its status and wording come through unchanged."""
    refusals: "queue.Queue[Tuple[Optional[BaseException], Optional[BaseException]]]" = queue.Queue()

    def failure(call: Callable[[], object]) -> Optional[BaseException]:
        try:
            call()
        except BaseException as e:
            return e
        return None

    with charter.Bus() as a, charter.Bus() as b:
        with charter.Bridge(b, nats_url, imports=["stop.>"]) as importer:

            def handler(_: charter.Message) -> None:
                refusals.put((failure(lambda: charter.Bridge(b, nats_url)), failure(lambda: importer.flush(10))))

            b.subscribe("stop.>", handler, dispatch="inline")
            with charter.Bridge(a, nats_url, exports=["stop.>"]) as exporter:
                importer.flush(10)
                exporter.flush(10)
                a.publish("stop.now", b"stop")
                started, flushed = refusals.get(timeout=10)
    for refused, action in ((started, "started"), (flushed, "flushed")):
        assert isinstance(refused, charter.WouldBlockError), repr(refused)
        assert refused.message == (
            f"a bridge cannot be {action} inside an async runtime (a handler a bridge runs is in one): "
            "it would block the runtime's thread; call it from a plain thread"
        )


def test_unsigned_messages_are_refused_and_audited(nats_url: str) -> None:
    root, holder = charter.KeyPair.generate(), charter.KeyPair.generate()
    now = int(time.time())
    token = charter.Token.mint(root, holder.public_key, ["publish alerts.>"], now - 60, now + 3600)
    authority = charter.Authority([root.public_key])
    log = charter.AuditLog.in_memory()
    with charter.Bus() as sealed, charter.Bus() as plain, charter.Bus() as receiver:
        alerts = receiver.subscribe("alerts.>")
        with charter.Bridge(
            receiver, nats_url, imports=["alerts.>"], authority=authority, audit=log
        ) as verifier, charter.Bridge(
            sealed, nats_url, exports=["alerts.>"], token=token, key=holder
        ) as s, charter.Bridge(plain, nats_url, exports=["alerts.>"]) as p:
            for bridge in (verifier, s, p):
                bridge.flush(10)
            sealed.publish("alerts.fire", b"sealed")
            m = alerts.recv(timeout=10)
            assert m.payload == b"sealed"
            assert m.header("Charter-Principal") == str(holder.principal)
            plain.publish("alerts.fire", b"forged")
            eventually(lambda: verifier.refused()["unsigned"] == 1)
            assert verifier.stats()["imported"] == 1
            assert len(log) == 1
            with pytest.raises(charter.TimeoutError):
                alerts.recv(timeout=0)


def test_readme_example_runs(nats_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## NATS bridge", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "no ```python block after '## NATS bridge'"
    exec(compile(match.group(1).replace("nats://127.0.0.1:4222", nats_url), "README", "exec"), {})
    assert capsys.readouterr().out == "32 ['audit_failed', 'bad_proof']\n"


def test_a_durable_import_skips_what_the_committed_position_covers(jetstream_url: str) -> None:
    """Everything through stream sequence 2, and 4, was handled before:
    the bridge acknowledges those and never delivers them. It creates the
    stream when it binds, so the exporter publishes until sequence 5 is in."""
    position = charter.DurableImport("jobs.>", "JOBS", "py-importer", handled_through=2, handled=[4])
    assert (position.handled_through, position.handled, position.ack_wait) == (2, (4,), 30.0)
    assert (position.sealed_through, position.sealed) == (0, ())
    sealed = charter.DurableImport("jobs.>", "JOBS", "py-importer", sealed_through=9, sealed=[2**64 - 1])
    assert (sealed.sealed_through, sealed.sealed) == (9, (2**64 - 1,))
    with charter.Bus() as a, charter.Bus() as b:
        jobs = b.subscribe("jobs.>")
        with charter.Bridge(b, jetstream_url, durable_imports=[position]) as importer, charter.Bridge(
            a, jetstream_url, exports=["jobs.>"]
        ) as exporter:
            exporter.flush(10)
            seen: dict[int, int] = {}
            deadline = time.monotonic() + 10
            while 5 not in seen:
                assert time.monotonic() < deadline, f"only {sorted(seen)} delivered"
                a.publish("jobs.one", b"x")
                try:
                    while True:
                        m = jobs.recv(timeout=0.1)
                        seq = int(m.header("Charter-Stream-Seq") or "0")
                        assert seq not in seen, f"{seq} delivered twice"
                        seen[seq] = int(m.header("Charter-Stream-Floor") or "-1")
                except charter.TimeoutError:
                    pass
            assert 3 in seen and not {1, 2, 4} & seen.keys()
            assert all(2 <= floor < seq for seq, floor in seen.items()), seen
            eventually(lambda: importer.stats()["duplicate_suppressed"] == 3)
        too_many = charter.DurableImport("jobs.>", "JOBS", "py-importer", handled=range(2**20 + 1))
        with pytest.raises(charter.LimitExceededError):
            charter.Bridge(b, jetstream_url, durable_imports=[too_many])


def test_readme_durable_example_runs(jetstream_url: str) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.DOTALL)
    block = next(b for b in blocks if "DurableImport" in b)
    exec(compile(block.replace("nats://127.0.0.1:4222", jetstream_url), "README", "exec"), {})


class Importer:
    """tests/durable_importer.py running against `url` with its store, and
    the lines it printed (one per message it handled)."""

    def __init__(self, url: str, store: Path, log: Path) -> None:
        self.log = log
        with log.open("w") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).with_name("durable_importer.py")), url, str(store)],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self.lines: "queue.Queue[str]" = queue.Queue()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def read(self, timeout: float) -> str:
        """The next line it prints; fails after `timeout` seconds."""
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the importer handled nothing more: {self.log.read_text()}") from None

    def kill(self) -> None:
        self.process.kill()  # SIGKILL
        self.process.wait()


def handled_lines(store: Path) -> List[Tuple[int, int, int]]:
    """The store's complete lines: (payload, stream sequence, floor)."""
    text = store.read_text()
    complete = text[: text.rfind("\n") + 1]
    return [(int(p), int(s), int(f)) for p, s, f in (line.split() for line in complete.splitlines())]


def test_a_killed_importer_restarted_from_its_position_handles_each_message_once(
    jetstream_url: str, tmp_path: Path
) -> None:
    """docs/bridge.md's exactly-once promise, across processes: the
    importing process (tests/durable_importer.py) commits each message with
    its position, is SIGKILLed mid-stream twice and restarted from what it
    committed; in the end every message was handled exactly once."""
    messages = 300
    store = tmp_path / "handled"
    with charter.Bus() as bus, charter.Bridge(bus, jetstream_url, exports=["dur.>"]) as exporter:
        exporter.flush(10)

        def publish(i: int) -> None:
            # Its own message id: the stream stores a resend once.
            bus.publish("dur.order", str(i).encode(), {"Nats-Msg-Id": f"order-{i}"})

        runs: List[Importer] = []

        def start() -> Importer:
            runs.append(Importer(jetstream_url, store, tmp_path / f"importer-{len(runs) + 1}.log"))
            return runs[-1]

        try:
            run = start()
            # The importer creates the stream when it binds: message 0 is
            # sent again until it comes through, then the others once.
            deadline = time.monotonic() + 10
            while run.lines.empty():
                assert time.monotonic() < deadline, f"the stream never bound: {run.log.read_text()}"
                publish(0)
                time.sleep(0.05)
            for i in range(1, messages):
                publish(i)
            exporter.flush(10)
            for kill_at in [messages // 4, messages // 2]:
                while len(handled_lines(store)) < kill_at:
                    run.read(10)
                run.kill()
                assert len(handled_lines(store)) < messages, "killed mid-stream"
                run = start()
            while len({payload for payload, _, _ in handled_lines(store)}) < messages:
                run.read(10)
            # A redelivery of what a killed run took and did not acknowledge
            # comes after the ack wait (1 s): give one time to show up.
            time.sleep(1.5)
        finally:
            for each in runs:
                each.kill()
    handled = handled_lines(store)
    payloads = sorted(payload for payload, _, _ in handled)
    assert payloads == list(range(messages)), "nothing lost, nothing twice"
    assert all(floor < seq for _, seq, floor in handled), "a message is above the floor it carries"
