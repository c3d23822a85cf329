"""Every public method of Registry and NotifyReport, on the happy path and off it."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref
from types import TracebackType
from typing import Any, Callable, Optional

import pytest

import charter
from charter import NotifyReport, Registry


def test_register_returns_distinct_ids_never_reused(registry: Registry) -> None:
    a = registry.register(lambda e: None)
    b = registry.register(lambda e: None)
    assert a != b and 0 < a < 2**53 and 0 < b < 2**53
    assert registry.unregister(b)
    c = registry.register(lambda e: None)
    assert c not in (a, b)


def test_ids_of_another_registry_or_guessed_ids_match_nothing(registry: Registry) -> None:
    with Registry() as other:
        theirs = other.register(lambda e: None)
        mine = registry.register(lambda e: None)
        assert theirs != mine
        assert not registry.unregister(theirs)
        assert mine in registry
        assert not any(registry.contains(guess) for guess in range(1, 2000) if guess != mine)


def test_handlers_receive_the_event_object_itself(registry: Registry) -> None:
    seen: list[object] = []
    registry.register(seen.append)
    event = {"any": ["python", "object"]}
    registry.notify(event)
    registry.notify(None)
    assert seen[0] is event
    assert seen[1] is None


def test_priority_then_registration_order(registry: Registry) -> None:
    order: list[str] = []

    def appender(name: str) -> Callable[[object], None]:
        return lambda event: order.append(name)

    for name, prio in [("a", 0), ("b", 10), ("c", 0), ("d", -5), ("e", 10)]:
        registry.register(appender(name), priority=prio)
    registry.register(lambda e: order.append("max"), 2**31 - 1)
    registry.register(lambda e: order.append("min"), -(2**31))
    assert registry.notify(0) == NotifyReport(delivered=7)
    assert order == ["max", "b", "e", "a", "c", "d", "min"]


def test_priority_must_fit_32_bits(registry: Registry) -> None:
    with pytest.raises(OverflowError):
        registry.register(print, priority=2**31)


def test_register_rejects_non_callables(registry: Registry) -> None:
    with pytest.raises(TypeError, match="handler must be callable, not int"):
        registry.register(42)  # type: ignore[arg-type]
    assert len(registry) == 0


def test_unregister_contains_len_and_in(registry: Registry) -> None:
    calls: list[int] = []
    hid = registry.register(lambda e: calls.append(1))
    assert registry.contains(hid) and hid in registry and len(registry) == 1
    assert registry.unregister(hid) is True
    assert registry.unregister(hid) is False
    assert not registry.contains(hid) and hid not in registry and len(registry) == 0
    assert registry.notify("x") == NotifyReport()
    assert calls == []


@pytest.mark.parametrize("stranger", [0, -1, 999, 2**64, 2**100])
def test_ids_never_issued_match_nothing(registry: Registry, stranger: int) -> None:
    registry.register(print)
    assert registry.unregister(stranger) is False
    assert registry.contains(stranger) is False
    assert stranger not in registry
    assert len(registry) == 1


def test_ids_must_be_ints(registry: Registry) -> None:
    with pytest.raises(TypeError):
        registry.unregister("1")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        registry.contains(1.0)  # type: ignore[arg-type]
    assert "1" not in registry


def test_clear_removes_every_handler(registry: Registry) -> None:
    ids = [registry.register(print) for _ in range(3)]
    registry.clear()
    assert len(registry) == 0
    assert not any(i in registry for i in ids)
    assert registry.notify(1) == NotifyReport()


def test_notify_takes_exactly_one_argument(registry: Registry) -> None:
    with pytest.raises(TypeError, match="exactly one argument"):
        registry.notify()  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="exactly one argument"):
        registry.notify(1, 2)  # type: ignore[call-arg]


def test_a_raising_handler_counts_as_failed_and_siblings_still_run(registry: Registry) -> None:
    ran: list[str] = []
    registry.on_error = lambda hid, exc: None  # seen, not sent to sys.unraisablehook

    def bad(event: object) -> None:
        ran.append("bad")
        raise ValueError("bad handler")

    registry.register(lambda e: ran.append("first"), priority=1)
    registry.register(bad)
    registry.register(lambda e: ran.append("last"), priority=-1)
    assert registry.notify(0) == NotifyReport(delivered=2, failed=1)
    assert ran == ["first", "bad", "last"]


def test_on_error_receives_id_and_exception_with_traceback() -> None:
    errors: list[tuple[int, BaseException]] = []
    with Registry(on_error=lambda hid, exc: errors.append((hid, exc))) as reg:

        def exploding_handler(event: object) -> None:
            raise KeyError(event)

        reg.register(print, priority=5)
        bad = reg.register(exploding_handler)
        reg.notify("k")
    assert len(errors) == 1
    hid, exc = errors[0]
    assert hid == bad
    assert isinstance(exc, KeyError) and exc.args == ("k",)
    assert exc.__traceback__ is not None
    frames = []
    tb: Optional[TracebackType] = exc.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert "exploding_handler" in frames


def test_on_error_is_a_property(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.on_error is None
    seen: list[int] = []

    def hook(hid: int, exc: BaseException) -> None:
        seen.append(hid)

    registry.on_error = hook
    assert registry.on_error is hook
    hid = registry.register(lambda e: 1 / 0)
    registry.notify(0)
    registry.on_error = None
    assert registry.on_error is None
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    registry.notify(0)
    assert seen == [hid], "without the hook, the failure went elsewhere"
    assert [type(u.exc_value) for u in unraisable] == [ZeroDivisionError]
    with pytest.raises(TypeError, match="on_error must be callable or None"):
        registry.on_error = 3  # type: ignore[assignment]
    with pytest.raises(TypeError, match="on_error must be callable or None"):
        Registry(on_error="nope")  # type: ignore[arg-type]


def test_keyboard_interrupt_finishes_the_round_then_propagates(registry: Registry) -> None:
    got: list[BaseException] = []
    ran: list[str] = []
    registry.on_error = lambda hid, exc: got.append(exc)

    def interrupt(event: object) -> None:
        ran.append("interrupt")
        raise KeyboardInterrupt

    def exit_too(event: object) -> None:
        ran.append("exit")
        raise SystemExit(3)

    registry.register(interrupt, priority=2)
    registry.register(exit_too, priority=1)
    registry.register(lambda event: ran.append("sibling"))
    with pytest.raises(KeyboardInterrupt):
        registry.notify(0)
    assert ran == ["interrupt", "exit", "sibling"], "the round finished first"
    assert got == [], "interrupts are not errors: they go to the caller, not on_error"


def test_an_exception_in_on_error_goes_to_sys_unraisablehook(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def bad_hook(hid: int, exc: BaseException) -> None:
        calls.append(hid)
        raise RuntimeError("hook broke")

    registry.on_error = bad_hook
    first = registry.register(lambda e: 1 / 0)
    second = registry.register(lambda e: 1 / 0)
    assert registry.notify(0) == NotifyReport(failed=2)
    assert calls == [first, second]
    assert [type(u.exc_value) for u in unraisable] == [RuntimeError, RuntimeError]
    assert all(u.object is bad_hook for u in unraisable), "names the hook that failed"


def test_failures_without_a_hook_go_to_sys_unraisablehook(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As an exception in a thread or a __del__ does: never silently lost,
    and never raised to the caller."""
    unraisable: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)

    def handler(event: object) -> None:
        raise ValueError(event)

    registry.register(handler)
    assert registry.notify(7) == NotifyReport(failed=1)
    [u] = unraisable
    assert isinstance(u.exc_value, ValueError) and u.exc_value.args == (7,)
    assert u.exc_traceback is not None
    assert u.object is handler, "names the handler that failed"


def test_by_default_a_failure_is_printed_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    """sys.unraisablehook's default prints: what a Python user expects to see."""
    code = (
        "import charter\n"
        "r = charter.Registry()\n"
        "r.register(lambda e: 1 / 0)\n"
        "print(r.notify(0).failed)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1\n"
    assert "ZeroDivisionError" in out.stderr


@pytest.mark.parametrize("depth", [1, 8, 64])
def test_max_depth_bounds_nested_notify(depth: int) -> None:
    reached: list[int] = []
    errors: list[BaseException] = []
    with Registry(depth, on_error=lambda hid, exc: errors.append(exc)) as reg:
        assert reg.max_depth == depth

        def recurse(level: object) -> None:
            assert isinstance(level, int)
            reached.append(level)
            reg.notify(level + 1)

        reg.register(recurse)
        outer_failed = int(depth == 1)
        assert reg.notify(1) == NotifyReport(delivered=1 - outer_failed, failed=outer_failed)
    assert reached == list(range(1, depth + 1))
    assert len(errors) == 1
    assert isinstance(errors[0], charter.LimitExceededError)
    assert errors[0].code == "CHARTER_E_LIMIT_EXCEEDED"
    assert f"more than {depth} levels" in errors[0].message


def test_default_max_depth_is_8(registry: Registry) -> None:
    assert registry.max_depth == 8


@pytest.mark.parametrize("bad", [0, 65, -1, 2**64, 2**200])
def test_invalid_max_depth_raises_invalid_argument(bad: int) -> None:
    with pytest.raises(charter.InvalidArgumentError) as info:
        Registry(bad)
    assert info.value.message == f"max_depth must be between 1 and 64, got {bad}"
    assert info.value.status == charter.STATUS_CODES["CHARTER_E_INVALID_ARGUMENT"]


def test_max_depth_must_be_an_int() -> None:
    with pytest.raises(TypeError):
        Registry(8.0)  # type: ignore[arg-type]


def test_repr(registry: Registry) -> None:
    registry.register(print)
    assert repr(registry) == "<charter.Registry len=1 max_depth=8>"
    registry.close()
    assert repr(registry) == "<charter.Registry closed>"


def test_context_manager_closes_and_returns_the_registry() -> None:
    with Registry() as reg:
        assert isinstance(reg, Registry)
        assert not reg.closed
    assert reg.closed


def test_context_manager_closes_on_exceptions_too() -> None:
    with pytest.raises(ZeroDivisionError):
        with Registry() as reg:
            1 / 0
    assert reg.closed


def test_every_method_raises_closed_error_after_close() -> None:
    reg = Registry(on_error=print)
    hid = reg.register(print)
    reg.close()
    reg.close()
    calls = {
        "register": lambda: reg.register(print),
        "unregister": lambda: reg.unregister(hid),
        "contains": lambda: reg.contains(hid),
        "in": lambda: hid in reg,
        "len": lambda: len(reg),
        "clear": reg.clear,
        "notify": lambda: reg.notify(0),
        "on_error get": lambda: reg.on_error,
        "max_depth": lambda: reg.max_depth,
        "enter": reg.__enter__,
    }
    for name, call in calls.items():
        with pytest.raises(charter.ClosedError, match="the registry is closed"):
            call()
    with pytest.raises(charter.ClosedError):
        reg.on_error = None
    assert reg.closed


def test_close_releases_handlers_and_hook() -> None:
    class Handler:
        def __call__(self, event: object) -> None:
            pass

    class Hook:
        def __call__(self, handler_id: int, exc: BaseException) -> None:
            pass

    handler, hook = Handler(), Hook()
    handler_ref, hook_ref = weakref.ref(handler), weakref.ref(hook)
    reg = Registry(on_error=hook)
    reg.register(handler)
    del handler, hook
    assert handler_ref() is not None and hook_ref() is not None
    reg.close()
    assert handler_ref() is None and hook_ref() is None


def test_unregister_and_clear_release_the_callable(registry: Registry) -> None:
    class Handler:
        def __call__(self, event: object) -> None:
            pass

    h1, h2 = Handler(), Handler()
    r1, r2 = weakref.ref(h1), weakref.ref(h2)
    id1 = registry.register(h1)
    registry.register(h2)
    del h1, h2
    registry.unregister(id1)
    assert r1() is None and r2() is not None
    registry.clear()
    assert r2() is None


def test_a_registry_in_a_reference_cycle_is_collected() -> None:
    reg = Registry()
    reg.register(lambda e: reg.notify(e))
    reg.on_error = lambda hid, exc: print(reg)
    ref = weakref.ref(reg)
    del reg
    gc.collect()
    assert ref() is None


def test_notify_report_value_semantics() -> None:
    r = NotifyReport(delivered=3, failed=2, panicked=1)
    assert (r.delivered, r.failed, r.panicked, r.called) == (3, 2, 1, 6)
    assert repr(r) == "NotifyReport(delivered=3, failed=2, panicked=1)"
    assert r == NotifyReport(3, 2, 1)
    assert r != NotifyReport(3, 2, 0)
    assert r != (3, 2, 1)
    assert hash(r) == hash(NotifyReport(3, 2, 1))
    assert NotifyReport() == NotifyReport(0, 0, 0)
    with pytest.raises(AttributeError):
        r.delivered = 5  # type: ignore[misc]


def test_reports_are_equal_whether_shared_or_fresh(registry: Registry) -> None:
    for n in range(20):
        assert registry.notify(n) == NotifyReport(delivered=n)
        registry.register(lambda e: None)


def test_register_once_runs_once_even_if_it_raises(registry: Registry) -> None:
    calls: list[object] = []
    errors: list[int] = []
    registry.on_error = lambda handler_id, exc: errors.append(handler_id)

    def once(event: object) -> None:
        calls.append(event)
        raise ValueError("once")

    handler_id = registry.register_once(once)
    assert handler_id in registry
    assert registry.notify("a") == NotifyReport(delivered=0, failed=1, panicked=0)
    assert registry.notify("b").called == 0
    assert calls == ["a"] and errors == [handler_id]
    assert handler_id not in registry and len(registry) == 0


def test_register_once_releases_its_callable_after_the_call(registry: Registry) -> None:
    class Callable:
        def __call__(self, event: object) -> None:
            pass

    handler = Callable()
    ref = weakref.ref(handler)
    registry.register_once(handler)
    del handler
    gc.collect()
    assert ref() is not None, "held until it runs"
    registry.notify(None)
    gc.collect()
    assert ref() is None, "released once it ran"


def test_register_once_runs_once_when_threads_race(registry: Registry) -> None:
    import threading

    calls: list[int] = []
    registry.register_once(lambda e: calls.append(1))
    start = threading.Barrier(4)

    def notify_many() -> None:
        start.wait()
        for _ in range(200):
            registry.notify(None)

    threads = [threading.Thread(target=notify_many) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]


def test_unregister_and_wait_waits_for_a_handler_running_on_another_thread(registry: Registry) -> None:
    import threading
    import time

    entered, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def slow(event: object) -> None:
        entered.set()
        release.wait(5)
        finished.append("handler")

    handler_id = registry.register(slow)
    notifier = threading.Thread(target=registry.notify, args=(None,))
    notifier.start()
    assert entered.wait(5)
    waiter = threading.Thread(target=lambda: finished.append(str(registry.unregister_and_wait(handler_id))))
    waiter.start()
    time.sleep(0.05)
    assert finished == [], "still waiting while the handler runs"
    release.set()
    waiter.join(5)
    notifier.join(5)
    assert finished == ["handler", "True"]
    assert not registry.unregister_and_wait(handler_id)


def test_waiting_removal_inside_a_handler_does_not_deadlock(registry: Registry) -> None:
    seen: list[bool] = []
    ids: list[int] = []

    def remove_self(event: object) -> None:
        seen.append(registry.unregister_and_wait(ids[0]))
        registry.clear_and_wait()

    ids.append(registry.register(remove_self))
    registry.register(lambda e: seen.append(False), priority=-1)
    assert registry.notify(None) == NotifyReport(delivered=1, failed=0, panicked=0)
    assert seen == [True] and len(registry) == 0
