"""The exception hierarchy: one class per core status, each carrying its status."""

from __future__ import annotations

import builtins
import pickle
import re

import pytest

import charter
from charter import errors

# Pinned here because these values are an ABI: a change must break a test.
PINNED = {
    "CHARTER_E_NULL_ARGUMENT": -1,
    "CHARTER_E_INVALID_ARGUMENT": -2,
    "CHARTER_E_LIMIT_EXCEEDED": -8,
    "CHARTER_E_DENIED": -10,
    "CHARTER_E_TIMEOUT": -18,
    "CHARTER_E_CLOSED": -19,
    "CHARTER_E_IO": -20,
    "CHARTER_E_INTERNAL": -23,
    "CHARTER_E_CANCELLED": -24,
}

ALL = sorted(charter.ERROR_CLASSES.items(), key=lambda item: -item[1].status)


def class_name(status_name: str) -> str:
    words = status_name.removeprefix("CHARTER_E_").split("_")
    return "".join(w.capitalize() for w in words) + "Error"


def test_status_codes_come_from_the_core() -> None:
    assert charter.STATUS_CODES == charter._native.STATUS_CODES
    assert len(charter.STATUS_CODES) == 24
    assert sorted(charter.STATUS_CODES.values()) == list(range(-24, 0))
    for name, code in PINNED.items():
        assert charter.STATUS_CODES[name] == code
    with pytest.raises(TypeError):
        charter.STATUS_CODES["CHARTER_E_DENIED"] = 0  # type: ignore[index]


def test_one_class_per_status() -> None:
    assert set(charter.ERROR_CLASSES) == set(charter.STATUS_CODES)
    assert len({cls for cls in charter.ERROR_CLASSES.values()}) == 24


@pytest.mark.parametrize("name,cls", ALL, ids=[n for n, _ in ALL])
def test_each_class(name: str, cls: type[charter.Error]) -> None:
    assert cls.__name__ == class_name(name)
    assert getattr(charter, cls.__name__) is cls
    exported = cls is not charter.TimeoutError
    assert (cls.__name__ in charter.__all__) == exported
    assert (cls.__name__ in errors.__all__) == exported
    assert issubclass(cls, charter.Error) and issubclass(cls, Exception)
    assert cls.code == name
    assert cls.status == charter.STATUS_CODES[name]
    assert cls.__doc__

    exc = cls("what went wrong")
    assert (exc.code, exc.status, exc.message) == (name, cls.status, "what went wrong")
    assert str(exc) == "what went wrong"
    with pytest.raises(charter.Error) as info:
        raise exc
    assert info.value is exc

    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is cls and copy.message == "what went wrong"


def test_builtin_bases() -> None:
    assert issubclass(charter.TimeoutError, builtins.TimeoutError)
    assert issubclass(charter.IoError, OSError)
    assert issubclass(charter.InvalidArgumentError, ValueError)
    assert issubclass(charter.NotFoundError, LookupError)
    with pytest.raises(ValueError):
        charter.Registry(0)
    with pytest.raises(LookupError):
        with charter.Bus() as bus:
            bus.request("nobody.listens", b"", timeout=1.0)
    with pytest.raises(builtins.TimeoutError):
        raise charter.TimeoutError("waited too long")
    with pytest.raises(OSError):
        raise charter.IoError("disk on fire")
    others = [c for c in charter.ERROR_CLASSES.values() if c not in (charter.TimeoutError, charter.IoError)]
    assert not any(issubclass(c, OSError) for c in others)


def test_star_import_shadows_no_builtin() -> None:
    """`from charter import *` must leave TimeoutError the built-in."""
    namespace: dict[str, object] = {}
    exec("from charter import *", namespace)
    shadowed = [name for name in namespace if name != "__builtins__" and hasattr(builtins, name)]
    assert shadowed == []


def test_the_base_class_is_an_exception() -> None:
    assert charter.Error.__bases__ == (Exception,)
    assert charter.Error("x").message == "x"


def test_errors_raised_by_the_native_module_carry_the_core_message() -> None:
    with pytest.raises(charter.InvalidArgumentError) as info:
        charter.Registry(0)
    exc = info.value
    assert type(exc) is charter.InvalidArgumentError
    assert exc.code == "CHARTER_E_INVALID_ARGUMENT" and exc.status == -2
    assert re.fullmatch(r"max_depth must be between 1 and 64, got 0", exc.message)
    assert str(exc) == exc.message


def test_user_subclasses_need_no_status() -> None:
    class AppDenied(charter.DeniedError):
        pass

    assert AppDenied.code == "CHARTER_E_DENIED"
    assert charter.ERROR_CLASSES["CHARTER_E_DENIED"] is charter.DeniedError


def test_no_exported_names_differ_only_in_case() -> None:
    """`Error`, `ERROR` and `ERROR_CLASSES` were one slip apart: the overflow
    policy is `ERROR_ON_FULL`."""
    folded: dict[str, list[str]] = {}
    for name in charter.__all__:
        folded.setdefault(name.lower().rstrip("s"), []).append(name)
    assert [names for names in folded.values() if len(names) > 1] == []
    assert not hasattr(charter, "ERROR") and not hasattr(charter, "ERRORS")
