"""Handlers that call back into the registry that is notifying them."""

from __future__ import annotations

import charter
from charter import NotifyReport, Registry


def test_register_inside_a_handler_fires_from_the_next_round(registry: Registry) -> None:
    calls: list[str] = []
    added: list[int] = []

    def adder(event: object) -> None:
        calls.append("adder")
        if not added:
            added.append(registry.register(lambda e: calls.append("new"), priority=100))

    registry.register(adder)
    assert registry.notify(0) == NotifyReport(delivered=1)
    assert calls == ["adder"]
    assert added[0] in registry
    assert registry.notify(0) == NotifyReport(delivered=2)
    assert calls == ["adder", "new", "adder"]


def test_a_handler_may_unregister_itself(registry: Registry) -> None:
    calls: list[int] = []
    ids: list[int] = []

    def once(event: object) -> None:
        calls.append(1)
        assert registry.unregister(ids[0]) is True

    ids.append(registry.register(once))
    assert registry.notify(0) == NotifyReport(delivered=1)
    assert registry.notify(0) == NotifyReport()
    assert calls == [1]
    assert len(registry) == 0


def test_a_sibling_unregistered_mid_round_is_skipped(registry: Registry) -> None:
    calls: list[str] = []
    later = registry.register(lambda e: calls.append("later"), priority=-1)
    registry.register(lambda e: calls.append(f"first:{registry.unregister(later)}"))
    assert registry.notify(0) == NotifyReport(delivered=1)
    assert calls == ["first:True"]


def test_notify_inside_a_handler_nests(registry: Registry) -> None:
    events: list[object] = []

    def handler(event: object) -> None:
        events.append(event)
        if event == "outer":
            assert registry.notify("inner") == NotifyReport(delivered=1)

    registry.register(handler)
    assert registry.notify("outer") == NotifyReport(delivered=1)
    assert events == ["outer", "inner"]


def test_clear_inside_a_handler_skips_the_rest_of_the_round(registry: Registry) -> None:
    calls: list[str] = []

    def clearing(event: object) -> None:
        calls.append("clear")
        registry.clear()

    registry.register(clearing, priority=1)
    registry.register(lambda e: calls.append("skipped"))
    assert registry.notify(0) == NotifyReport(delivered=1)
    assert calls == ["clear"]
    assert len(registry) == 0


def test_close_inside_a_handler_finishes_the_round_quietly() -> None:
    calls: list[str] = []
    reg = Registry()

    def closer(event: object) -> None:
        reg.close()
        calls.append("closer finished")
        try:
            reg.notify(1)
        except charter.ClosedError:
            calls.append("closed")

    reg.register(closer, priority=1)
    reg.register(lambda e: calls.append("skipped"))
    assert reg.notify(0) == NotifyReport(delivered=1)
    assert calls == ["closer finished", "closed"]
    assert reg.closed


def test_the_hook_may_use_the_registry(registry: Registry) -> None:
    registered: list[int] = []

    def hook(hid: int, exc: BaseException) -> None:
        registry.unregister(hid)
        registry.on_error = None
        registered.append(registry.register(lambda e: None))

    registry.on_error = hook
    bad = registry.register(lambda e: 1 / 0)
    assert registry.notify(0) == NotifyReport(failed=1)
    assert bad not in registry and registered[0] in registry
    assert registry.on_error is None
    assert registry.notify(0) == NotifyReport(delivered=1)


def test_a_callable_whose_release_uses_the_registry(registry: Registry) -> None:
    """Dropping a handler runs its finaliser, which may call the registry."""
    log: list[str] = []

    class Finalising:
        def __call__(self, event: object) -> None:
            pass

        def __del__(self) -> None:
            log.append(f"del with {len(registry)} left")
            registry.register(lambda e: None)

    hid = registry.register(Finalising())
    assert registry.unregister(hid)
    assert log == ["del with 0 left"]
    assert len(registry) == 1
