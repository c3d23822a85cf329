"""Charter: a handler registry (and, in progress, a topic bus, capability
tokens and an audit log) over one Rust core shared with C, Go and Node.

>>> import charter
>>> with charter.Registry() as registry:
...     seen = []
...     handler_id = registry.register(seen.append)
...     registry.notify("hello")
NotifyReport(delivered=1, failed=0, panicked=0)

Every failure raises a subclass of :class:`charter.Error`; see
:mod:`charter.errors`.
"""

from ._native import NotifyReport, Registry, __version__
from .errors import (
    ERRORS,
    STATUS_CODES,
    AlreadyFreedError,
    BadSignatureError,
    ClosedError,
    CorruptError,
    DeniedError,
    Error,
    ExpiredError,
    HandleFreedError,
    InternalError,
    InvalidArgumentError,
    InvalidHandleError,
    InvalidUtf8Error,
    IoError,
    LimitExceededError,
    MalformedError,
    NotFoundError,
    NotYetValidError,
    NullArgumentError,
    PanicError,
    RevokedError,
    TimeoutError,
    UntrustedRootError,
    WouldBlockError,
    WrongHandleTypeError,
)

__all__ = [
    "__version__",
    "Registry",
    "NotifyReport",
    "ERRORS",
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
    "TimeoutError",
    "ClosedError",
    "IoError",
    "CorruptError",
    "PanicError",
    "InternalError",
]
