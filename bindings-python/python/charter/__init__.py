"""Charter: a handler registry and a topic bus (and, in progress, capability
tokens and an audit log) over one Rust core shared with C, Go and Node.

>>> import charter
>>> with charter.Registry() as registry:
...     seen = []
...     handler_id = registry.register(seen.append)
...     registry.notify("hello")
NotifyReport(delivered=1, failed=0, panicked=0)

>>> with charter.Bus() as bus:
...     orders = bus.subscribe("orders.*.created")
...     bus.publish("orders.eu.created", b"order 17", {"trace": "abc"})
...     message = orders.recv(timeout=1.0)
...     message.topic, message.payload, message.header("trace")
PublishReport(matched=1, delivered=1, dropped=0)
('orders.eu.created', b'order 17', 'abc')

Every failure raises a subclass of :class:`charter.Error`; see
:mod:`charter.errors`.
"""

from ._native import (
    DROP_NEWEST,
    DROP_OLDEST,
    ERROR,
    Block,
    Bus,
    BusStats,
    Drops,
    Message,
    NotifyReport,
    Overflow,
    PublishReport,
    Registry,
    Subscription,
    SubscriptionStats,
    __version__,
)
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
    "Bus",
    "Subscription",
    "Message",
    "PublishReport",
    "BusStats",
    "SubscriptionStats",
    "Drops",
    "Overflow",
    "Block",
    "DROP_OLDEST",
    "DROP_NEWEST",
    "ERROR",
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
