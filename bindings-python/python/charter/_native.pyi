"""Type stubs for the Rust extension module ``charter._native``."""

from types import TracebackType
from typing import Callable, Dict, Optional, Type, final

from typing_extensions import Self

__all__ = ["__version__", "STATUS_CODES", "NotifyReport", "Registry"]
__version__: str
STATUS_CODES: Dict[str, int]

_Handler = Callable[[object], object]
"""A handler: called with the event; its return value is ignored."""

_ErrorHook = Callable[[int, BaseException], object]
"""An ``on_error`` hook: called with the handler id and its exception."""

@final
class NotifyReport:
    """How the handlers of one notify round fared."""

    def __new__(cls, delivered: int = 0, failed: int = 0, panicked: int = 0) -> Self: ...
    @property
    def delivered(self) -> int:
        """Handlers that returned normally."""
    @property
    def failed(self) -> int:
        """Handlers that raised an exception."""
    @property
    def panicked(self) -> int:
        """Handlers that panicked in Rust code; the panic was caught."""
    @property
    def called(self) -> int:
        """How many handlers were called."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Registry:
    """A set of handlers notified together.

    Raises :class:`charter.InvalidArgumentError` unless
    ``1 <= max_depth <= 64``.
    """

    def __new__(
        cls, max_depth: int = 8, *, on_error: Optional[_ErrorHook] = None
    ) -> Self: ...
    def register(self, handler: _Handler, priority: int = 0) -> int:
        """Registers ``handler``; returns its id. Higher priorities fire first."""
    def unregister(self, id: int) -> bool:
        """Removes registration ``id``; returns whether it was registered."""
    def contains(self, id: int) -> bool:
        """Whether ``id`` is registered."""
    def __contains__(self, id: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def clear(self) -> None:
        """Removes every handler."""
    def notify(self, event: object, /) -> NotifyReport:
        """Calls every handler with ``event``; raises
        :class:`charter.LimitExceededError` past the nesting bound."""
    @property
    def on_error(self) -> Optional[_ErrorHook]:
        """The hook that receives every exception a handler raises."""
    @on_error.setter
    def on_error(self, hook: Optional[_ErrorHook]) -> None: ...
    @property
    def max_depth(self) -> int:
        """The bound on nested ``notify`` calls of this registry on one thread."""
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
    def close(self) -> None:
        """Releases every handler and the hook. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
        /,
    ) -> None: ...
