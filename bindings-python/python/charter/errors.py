"""Charter's exceptions: one class per status of the core, all under :class:`Error`.

Every status has a stable name (``"CHARTER_E_DENIED"``) and code (``-10``)
shared by C, Go, Node and Python. Each class below names its status; its
numeric code is read from the core when the class is created, so Python
never keeps a copy that could drift, and :data:`ERROR_CLASSES` maps every status
name to its class (the native module raises through it).
"""

from __future__ import annotations

import builtins
from types import MappingProxyType
from typing import Any, ClassVar, Dict, Mapping, Optional, Type

from ._native import STATUS_CODES as _CORE_STATUS_CODES
from ._native import PublishReport

__all__ = [
    "ERROR_CLASSES",
    "STATUS_CODES",
    "Error",
    "NullArgumentError",
    "InvalidArgumentError",
    "InvalidUtf8Error",
    "InvalidHandleError",
    "WrongHandleTypeError",
    "HandleFreedError",
    "AlreadyFreedError",
    "LimitExceededError",
    "NotFoundError",
    "DeniedError",
    "ExpiredError",
    "NotYetValidError",
    "RevokedError",
    "BadSignatureError",
    "MalformedError",
    "UntrustedRootError",
    "WouldBlockError",
    "ClosedError",
    "IoError",
    "CorruptError",
    "PanicError",
    "InternalError",
    "CancelledError",
]
# TimeoutError is not in __all__: `from charter import *` would shadow the
# built-in it subclasses, and `except TimeoutError` would then miss the
# built-in's other sources. It is charter.TimeoutError (and
# charter.errors.TimeoutError).

STATUS_CODES: Mapping[str, int] = MappingProxyType(dict(_CORE_STATUS_CODES))
"""Every status name mapped to its stable (negative) code, from the core."""

_errors: Dict[str, Type[Error]] = {}
ERROR_CLASSES: Mapping[str, Type[Error]] = MappingProxyType(_errors)
"""Every status name mapped to its exception class."""


class Error(Exception):
    """Base class of every exception Charter raises.

    ``code`` is the status name, ``status`` its numeric code and
    ``message`` the core's explanation, which names the argument or limit
    involved.
    """

    code: ClassVar[str]
    status: ClassVar[int]

    published: Optional[int] = None
    """Set by ``publish_many``: how many messages of the batch went out
    before the one that failed."""
    report: Optional[PublishReport] = None
    """Set by ``publish_many``: the reports of those messages, added up."""

    def __init_subclass__(cls, code: Optional[str] = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
            cls.status = STATUS_CODES[code]
            _errors[code] = cls

    # No ``__init__`` of Python's own: the binding raises these from native
    # code, and making an instance must run no Python code there (a daemon
    # thread that let the GIL go while the interpreter finalizes is ended by
    # ``pthread_exit``, which cannot unwind through native frames), so the
    # message is read from ``args``, where ``Exception`` keeps it.
    @property
    def message(self) -> str:
        """The core's explanation (the first argument; empty if none)."""
        return str(self.args[0]) if self.args else ""


class NullArgumentError(Error, code="CHARTER_E_NULL_ARGUMENT"):
    """A required argument was missing."""


class InvalidArgumentError(Error, ValueError, code="CHARTER_E_INVALID_ARGUMENT"):
    """An argument was present but not acceptable; also a :class:`ValueError`."""


class InvalidUtf8Error(Error, code="CHARTER_E_INVALID_UTF8"):
    """A string argument was not valid UTF-8."""


class InvalidHandleError(Error, code="CHARTER_E_INVALID_HANDLE"):
    """A handle that was never a Charter handle."""


class WrongHandleTypeError(Error, code="CHARTER_E_WRONG_HANDLE_TYPE"):
    """A handle of another type than the call expects."""


class HandleFreedError(Error, code="CHARTER_E_HANDLE_FREED"):
    """A handle that has been freed."""


class AlreadyFreedError(Error, code="CHARTER_E_ALREADY_FREED"):
    """A second free of the same handle."""


class LimitExceededError(Error, code="CHARTER_E_LIMIT_EXCEEDED"):
    """A configured or built-in limit was reached."""


class NotFoundError(Error, LookupError, code="CHARTER_E_NOT_FOUND"):
    """The thing asked for does not exist; also a :class:`LookupError`."""


class DeniedError(Error, code="CHARTER_E_DENIED"):
    """Authorization refused the operation."""


class ExpiredError(Error, code="CHARTER_E_EXPIRED"):
    """A token or link is past its validity window."""


class NotYetValidError(Error, code="CHARTER_E_NOT_YET_VALID"):
    """A token or link is before its validity window."""


class RevokedError(Error, code="CHARTER_E_REVOKED"):
    """A token or link has been revoked."""


class BadSignatureError(Error, code="CHARTER_E_BAD_SIGNATURE"):
    """A signature did not verify."""


class MalformedError(Error, code="CHARTER_E_MALFORMED"):
    """Bytes that do not decode."""


class UntrustedRootError(Error, code="CHARTER_E_UNTRUSTED_ROOT"):
    """A token whose root key is not trusted."""


class WouldBlockError(Error, code="CHARTER_E_WOULD_BLOCK"):
    """The operation would have to wait and was asked not to."""


class TimeoutError(Error, builtins.TimeoutError, code="CHARTER_E_TIMEOUT"):
    """A wait ran out of time; also a built-in :class:`TimeoutError`."""


class ClosedError(Error, code="CHARTER_E_CLOSED"):
    """The object was closed."""


class IoError(Error, OSError, code="CHARTER_E_IO"):
    """An operating-system I/O error; also an :class:`OSError`."""


class CorruptError(Error, code="CHARTER_E_CORRUPT"):
    """Stored data failed an integrity check."""


class PanicError(Error, code="CHARTER_E_PANIC"):
    """A panic was caught at the library boundary."""


class InternalError(Error, code="CHARTER_E_INTERNAL"):
    """A bug in Charter itself."""


class CancelledError(Error, code="CHARTER_E_CANCELLED"):
    """A wait was cancelled before it took anything; nothing was consumed.

    Not :class:`asyncio.CancelledError`: that one cancels a task, and
    Charter never raises it for its own waits.
    """


_missing = sorted(set(STATUS_CODES) - set(ERROR_CLASSES))
if _missing:
    raise ImportError(f"charter.errors has no class for status {', '.join(_missing)}")
