"""Several threads using one registry at once."""

from __future__ import annotations

import threading

from conftest import run_all

import charter
from charter import NotifyReport, Registry


def test_four_notifiers_and_a_registrar(registry: Registry) -> None:
    handlers_to_add = 200
    rounds = 300
    calls: list[tuple[int, int]] = []
    reports: dict[int, list[NotifyReport]] = {}

    def handler(event: object) -> None:
        assert isinstance(event, int)
        calls.append((event, threading.get_ident()))

    def registrar() -> None:
        for _ in range(handlers_to_add):
            registry.register(handler)

    def notifier() -> None:
        me = threading.get_ident()
        mine = reports.setdefault(me, [])
        for _ in range(rounds):
            mine.append(registry.notify(me))

    run_all([registrar] + [notifier] * 4)

    assert len(registry) == handlers_to_add
    assert sum(r.delivered for rs in reports.values() for r in rs) == len(calls)
    assert all(event == thread for event, thread in calls), "handlers run on the notifying thread"
    for rs in reports.values():
        delivered = [r.delivered for r in rs]
        assert delivered == sorted(delivered), "registrations only grow"
        assert all(r.failed == 0 and r.panicked == 0 for r in rs)
    assert registry.notify(0).delivered == handlers_to_add


def test_handlers_that_register_and_unregister_while_others_notify(registry: Registry) -> None:
    def churn(event: object) -> None:
        registry.unregister(registry.register(lambda e: None))

    registry.register(churn)

    def notifier() -> None:
        for _ in range(500):
            report = registry.notify(0)
            assert report.failed == 0 and report.delivered >= 1

    def writer() -> None:
        for _ in range(500):
            registry.unregister(registry.register(print))

    run_all([notifier, notifier, writer])
    assert len(registry) == 1


def test_close_while_other_threads_notify() -> None:
    reg = Registry()
    reg.register(lambda e: None)
    outcomes: list[str] = []
    started = threading.Barrier(4)

    def notifier() -> None:
        started.wait()
        for _ in range(2000):
            try:
                reg.notify(0)
                outcomes.append("report")
            except charter.ClosedError:
                outcomes.append("closed")
                return

    def closer() -> None:
        started.wait()
        reg.close()

    run_all([notifier, notifier, notifier, closer])
    assert outcomes.count("closed") == 3
    assert reg.closed
