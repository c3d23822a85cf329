"""``inspect.signature`` works on every public function and method, as on
pure-Python code: IDEs, ``help()`` and decorators rely on it."""

from __future__ import annotations

import inspect
from typing import Any, List, Tuple

import charter


def callables() -> List[Tuple[str, Any]]:
    found: List[Tuple[str, Any]] = []
    for name in charter.__all__:
        value = getattr(charter, name)
        if isinstance(value, type):
            for attr, member in vars(value).items():
                if attr.startswith("_") or not callable(getattr(value, attr)):
                    continue
                found.append((f"{name}.{attr}", getattr(value, attr)))
        elif callable(value):
            found.append((name, value))
    return found


def test_every_function_and_method_has_a_signature() -> None:
    missing = []
    for name, value in callables():
        try:
            inspect.signature(value)
        except (TypeError, ValueError) as e:
            missing.append(f"{name}: {e}")
    assert missing == []


def test_subscribe_shows_its_keywords() -> None:
    for method in (charter.Bus.subscribe, charter.Client.subscribe):
        parameters = inspect.signature(method).parameters
        assert parameters["overflow"].default is None
        assert parameters["capacity"].default is None
        assert parameters["dispatch"].kind is inspect.Parameter.KEYWORD_ONLY
