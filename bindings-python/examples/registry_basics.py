"""Registry basics: register handlers, notify them, see failures, close.

Run: ``python bindings-python/examples/registry_basics.py``
"""

from __future__ import annotations

from dataclasses import dataclass

import charter


@dataclass(frozen=True)
class ConfigChanged:
    """The event: handlers receive this very object."""

    path: str
    version: int


def main() -> None:
    failures: list[tuple[int, BaseException]] = []

    def remember_failure(handler_id: int, exc: BaseException) -> None:
        failures.append((handler_id, exc))

    with charter.Registry(on_error=remember_failure) as registry:
        applied: list[int] = []

        def apply(event: object) -> None:
            assert isinstance(event, ConfigChanged)
            applied.append(event.version)

        def audit(event: object) -> None:
            print(f"audit: {event}")

        def broken(event: object) -> None:
            raise RuntimeError("this handler always fails")

        registry.register(apply)
        audit_id = registry.register(audit, priority=10)  # fires first
        broken_id = registry.register(broken, priority=-10)

        report = registry.notify(ConfigChanged("/etc/app.toml", 2))
        print(report)
        assert report == charter.NotifyReport(delivered=2, failed=1)
        assert applied == [2]
        assert [hid for hid, _ in failures] == [broken_id]

        registry.unregister(audit_id)
        print(f"{len(registry)} handlers left; audit registered: {audit_id in registry}")

    try:
        registry.notify(ConfigChanged("/etc/app.toml", 3))
    except charter.ClosedError as exc:
        print(f"after close: {exc.code} ({exc.status}): {exc.message}")

    try:
        charter.Registry(max_depth=0)
    except charter.InvalidArgumentError as exc:
        print(f"bad max_depth: {exc}")


if __name__ == "__main__":
    main()
