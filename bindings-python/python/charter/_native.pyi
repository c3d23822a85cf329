"""Type stubs for the Rust extension module ``charter._native``."""

import os
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import (
    Any,
    Awaitable,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Type,
    Union,
    final,
    overload,
)

from typing_extensions import Buffer, Self, disjoint_base

from .audit import Decision, Record

__all__ = [
    "__version__",
    "STATUS_CODES",
    "NotifyReport",
    "Registry",
    "Bus",
    "Bridge",
    "BridgeVerifier",
    "DurableImport",
    "Subscription",
    "_Reactor",
    "_Waiter",
    "_no_reply",
    "Message",
    "PublishReport",
    "Drops",
    "SubscriptionStats",
    "BusStats",
    "Overflow",
    "Block",
    "DROP_OLDEST",
    "DROP_NEWEST",
    "ERROR_ON_FULL",
    "validate_topic",
    "validate_pattern",
    "topic_matches",
    "pattern_contains",
    "PublicKey",
    "KeyPair",
    "Grant",
    "Link",
    "Token",
    "ManualClock",
    "Verified",
    "Authority",
    "Session",
    "Client",
    "AuditLog",
    "AuditRecords",
    "VerifyReport",
    "Recovery",
    "Checkpoint",
    "verify_inclusion",
    "verify_consistency",
    "verify_checkpoint",
    "verifier_key",
    "leaf_hash",
    "EMPTY_ROOT",
    "verify_log",
    "LogView",
    "Witness",
    "Cosigned",
    "cosigner_key",
    "cosign",
    "verify_cosigned",
    "witness_request",
    "parse_witness_request",
    "_encode_record",
    "_record_millis",
]
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
    def register_once(self, handler: _Handler, priority: int = 0) -> int:
        """Registers ``handler`` to run once, then be removed (even if it
        raises, and even when notifies race); returns its id."""
    def unregister(self, id: int) -> bool:
        """Removes registration ``id``; returns whether it was registered.
        A ``notify`` running on another thread may still be calling it."""
    def unregister_and_wait(self, id: int) -> bool:
        """Removes registration ``id``, then waits (GIL released) until no
        ``notify`` on any thread can still be running it. Inside a handler
        of this registry it does not wait."""
    def contains(self, id: int) -> bool:
        """Whether ``id`` is registered."""
    def __contains__(self, id: object, /) -> bool: ...
    def __len__(self) -> int: ...
    def clear(self) -> None:
        """Removes every handler."""
    def clear_and_wait(self) -> None:
        """Removes every handler, then waits (GIL released) until no
        ``notify`` on any thread can still be running any of them. Inside a
        handler of this registry it does not wait."""
    def notify(self, event: object, /) -> NotifyReport:
        """Calls every handler with ``event``; raises
        :class:`charter.LimitExceededError` past the nesting bound. An
        ``async def`` handler fails here (use :meth:`notify_async`)."""
    def notify_async(self, event: object, *, sequential: bool = False) -> Coroutine[Any, Any, NotifyReport]:
        """``notify`` for asyncio: awaits the coroutines of ``async def``
        handlers, together or (``sequential``) one after another; one that
        raises counts as failed and is reported, never raised."""
    def _notify_start(self, event: object) -> Tuple[NotifyReport, List[Tuple[int, Awaitable[object]]]]: ...
    def _handler_failed(self, id: int, exception: BaseException) -> None: ...
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

_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
"""Headers: a mapping of names to values, or ``(name, value)`` pairs."""

_MessageHandler = Callable[["Message"], object]
"""A subscription handler: called with each message; its return value is ignored."""

_BusErrorHook = Callable[[int, BaseException], object]
"""A bus's ``on_error`` hook: called with the subscription id and the exception."""

@disjoint_base
class Overflow:
    """What a full subscription queue does with one more message.

    Use :data:`DROP_OLDEST`, :data:`DROP_NEWEST`, :data:`ERROR_ON_FULL` or
    :class:`Block`. Compares by policy and timeout; pickles.
    """

    @property
    def policy(self) -> Literal["drop_oldest", "drop_newest", "block", "error"]:
        """The policy's name."""
    @property
    def timeout(self) -> Optional[float]:
        """How long a ``Block`` publisher waits for room, in seconds; else ``None``."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> Union[str, Tuple[Type[Block], Tuple[float]]]: ...

DROP_OLDEST: Overflow
"""Drop the oldest queued message to make room (the default)."""
DROP_NEWEST: Overflow
"""Drop the new message."""
ERROR_ON_FULL: Overflow
"""Drop the new message and make ``publish`` raise :class:`charter.LimitExceededError`."""

@final
class Block(Overflow):
    """The publisher waits up to ``timeout`` seconds (or a ``timedelta``) for
    room, then the message is dropped and ``publish`` raises
    :class:`charter.TimeoutError`; inside a callback of the same bus it raises
    :class:`charter.WouldBlockError` at once."""

    def __new__(cls, timeout: Union[float, timedelta]) -> Self: ...

@final
class Message:
    """One received message. Immutable; compares equal to its copies by all
    its fields, and pickles."""

    @property
    def seq(self) -> int:
        """The bus-wide sequence number, increasing in publish order."""
    @property
    def topic(self) -> str:
        """The topic it was published on."""
    @property
    def payload(self) -> bytes:
        """The payload: one ``bytes`` object, made at the first read and the same
        object on every later read (no copy); ``memoryview`` it to slice."""
    @property
    def headers(self) -> Tuple[Tuple[str, str], ...]:
        """The headers as ``(name, value)`` pairs, in the order given."""
    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The value of the first header called ``name``, else ``default``."""
    @property
    def reply_to(self) -> Optional[str]:
        """The reply inbox if this message is a request, else ``None``."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...
    def __reduce__(self) -> Tuple[Callable[..., Message], Tuple[int, str, bytes, Tuple[Tuple[str, str], ...], Optional[str]]]: ...
    @staticmethod
    def _restore(
        seq: int, topic: str, payload: bytes, headers: Sequence[Tuple[str, str]], reply_to: Optional[str]
    ) -> Message: ...

@final
class PublishReport:
    """The outcome of one publish: ``matched == delivered + dropped``."""

    def __new__(cls, matched: int = 0, delivered: int = 0, dropped: int = 0) -> Self: ...
    @property
    def matched(self) -> int:
        """Subscriptions whose pattern matched the topic."""
    @property
    def delivered(self) -> int:
        """Of those, how many accepted the message (queued it or ran their handler)."""
    @property
    def dropped(self) -> int:
        """Of those, how many dropped it."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Drops:
    """Messages dropped, by reason."""

    def __new__(
        cls,
        *,
        overflow: int = 0,
        expired: int = 0,
        timeout: int = 0,
        rejected: int = 0,
        closed: int = 0,
        session_ended: int = 0,
    ) -> Self: ...
    @property
    def overflow(self) -> int:
        """Dropped by ``DROP_OLDEST`` or ``DROP_NEWEST`` on a full queue."""
    @property
    def expired(self) -> int:
        """Past their time-to-live when received."""
    @property
    def timeout(self) -> int:
        """A ``Block`` publisher ran out of time (or would have deadlocked)."""
    @property
    def rejected(self) -> int:
        """Refused by an ``ERROR_ON_FULL`` queue, or too large for the queue at all."""
    @property
    def closed(self) -> int:
        """Still queued, or arriving, when the subscription ended."""
    @property
    def session_ended(self) -> int:
        """Still queued, or arriving, when the subscription's session ended (expiry, revocation, distrust)."""
    @property
    def total(self) -> int:
        """All drops together."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class SubscriptionStats:
    """One subscription's accounting: ``received == delivered + dropped.total + queued``."""

    def __new__(
        cls,
        *,
        received: int = 0,
        delivered: int = 0,
        queued: int = 0,
        dropped: Optional[Drops] = None,
        handler_failures: int = 0,
        slow_episodes: int = 0,
    ) -> Self: ...
    @property
    def received(self) -> int:
        """Messages offered by publishes that matched the subscription."""
    @property
    def delivered(self) -> int:
        """Messages returned by a receive, or passed to the handler."""
    @property
    def queued(self) -> int:
        """Messages waiting in the queue."""
    @property
    def dropped(self) -> Drops:
        """Messages dropped, by reason."""
    @property
    def handler_failures(self) -> int:
        """Handler calls that raised (each also counts as delivered)."""
    @property
    def slow_episodes(self) -> int:
        """Times the queue became full after having room."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class BusStats:
    """A bus's accounting over its whole life, ended subscriptions included."""

    def __new__(
        cls,
        *,
        published: int = 0,
        subscriptions: Optional[SubscriptionStats] = None,
        live_subscriptions: int = 0,
        denied: int = 0,
        depth_exceeded: int = 0,
    ) -> Self: ...
    @property
    def published(self) -> int:
        """Publishes that got as far as matching subscriptions."""
    @property
    def subscriptions(self) -> SubscriptionStats:
        """The totals of every subscription, live or ended."""
    @property
    def live_subscriptions(self) -> int:
        """Subscriptions live now."""
    @property
    def denied(self) -> int:
        """Calls refused by authorization (grants, or no session on a bus with an authority)."""
    @property
    def depth_exceeded(self) -> int:
        """Publishes refused for nesting more than 16 levels deep inside handlers."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Subscription:
    """A subscription to a topic pattern, made by :meth:`Bus.subscribe`.

    Without a handler, receive with :meth:`recv`, :meth:`try_recv`,
    :meth:`recv_async`, ``for`` or ``async for``; iteration ends when the
    subscription or its bus closes.
    """

    @property
    def id(self) -> int:
        """The subscription's id, unique within its bus."""
    @property
    def pattern(self) -> str:
        """The pattern it was made with."""
    @property
    def closed(self) -> bool:
        """Whether it has ended: closed, its bus closed, or evicted as idle."""
    def recv(self, timeout: Union[float, timedelta, None] = None) -> Message:
        """Waits up to ``timeout`` seconds (``None``: no limit) for the next message.

        Raises :class:`charter.TimeoutError` when none came and
        :class:`charter.ClosedError` once the subscription has ended.
        """
    def recv_many(self, max: int, timeout: Union[float, timedelta, None] = None) -> List[Message]:
        """Waits as :meth:`recv` does for the next message, then takes those
        already queued behind it, up to ``max`` (at least 1) in all."""
    def recv_many_async(
        self, max: int, timeout: Union[float, timedelta, None] = None
    ) -> Coroutine[Any, Any, List[Message]]:
        """:meth:`recv_many` for asyncio."""
    def qsize(self) -> int:
        """How many messages are queued now (0 once it has ended)."""
    def empty(self) -> bool:
        """Whether no message is queued now."""
    def try_recv(self) -> Optional[Message]:
        """The next message if one is queued, else ``None``, without waiting."""
    def recv_async(self, timeout: Union[float, timedelta, None] = None) -> Coroutine[Any, Any, Message]:
        """:meth:`recv` for asyncio; cancelling the awaiting task consumes nothing."""
    def __iter__(self) -> Self: ...
    def __next__(self) -> Message: ...
    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Coroutine[Any, Any, Message]: ...
    def stats(self) -> SubscriptionStats:
        """The subscription's accounting (still readable once it has ended)."""
    def close(self) -> None:
        """Ends the subscription; queued messages are dropped and counted. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
        /,
    ) -> None: ...
    def _poll(self, waiter: _Waiter) -> Union[Message, float]: ...
    def _disarm(self, waiter: _Waiter) -> bool: ...

@final
class _Reactor:
    """One event loop's wake-up socket (``charter._aio``)."""

    def __init__(self) -> None: ...
    def fileno(self) -> int: ...
    def waiter(self) -> _Waiter: ...
    def drain(self) -> List[int]: ...

@final
class _Waiter:
    """A notify the core arms for ``charter._aio``."""

    @property
    def key(self) -> int: ...

def _no_reply(topic: str, timeout: float) -> BaseException: ...

@final
class DurableImport:
    """A JetStream stream carried onto the bus by a :class:`Bridge`
    (docs/bridge.md, "Durable import"): at least once; exactly once for an
    application that stores the position it handled with its results and
    passes it back as ``handled_through`` (the largest
    ``Charter-Stream-Floor`` it handled) and ``handled`` (the
    ``Charter-Stream-Seq`` values above it that it handled). With
    verification, also ``sealed_through`` (the largest
    ``Charter-Seal-Floor`` it handled) and ``sealed`` (the
    ``Charter-Seal-Id`` values it handled with ``Charter-Seal-Time`` at or
    after it): a stored copy of those is refused."""

    def __new__(
        cls,
        pattern: str,
        stream: str,
        durable: str,
        *,
        ack_wait: Union[float, timedelta] = 30.0,
        max_ack_pending: int = 1024,
        relay: bool = False,
        handled_through: int = 0,
        handled: Sequence[int] = ...,
        sealed_through: int = 0,
        sealed: Sequence[int] = ...,
    ) -> Self: ...
    @property
    def pattern(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def durable(self) -> str: ...
    @property
    def ack_wait(self) -> float: ...
    @property
    def max_ack_pending(self) -> int: ...
    @property
    def relay(self) -> bool: ...
    @property
    def handled_through(self) -> int: ...
    @property
    def handled(self) -> Tuple[int, ...]: ...
    @property
    def sealed_through(self) -> int: ...
    @property
    def sealed(self) -> Tuple[int, ...]: ...

@final
class Bridge:
    """Carries a :class:`Bus` onto NATS and back (docs/bridge.md).

    Local publishes (and requests) on ``exports`` go to NATS on the same
    subject; NATS messages (and requests) on ``imports`` are published on
    the bus. An import is a pattern or ``(pattern, queue_group)``. With
    ``token`` and ``key`` everything sent is sealed; with ``authority``
    everything received is verified, and each refusal is counted by reason
    (:meth:`refused`) and, with ``audit``, recorded. A server that does not
    answer yet is not an error: the bridge connects in the background.
    Use it as a context manager, or call :meth:`close`.

    An option left ``None`` is the bridge's default: ``max_skew`` the
    bridge's default (30 s), ``request_timeout`` the bridge's default
    (5 s), ``worker_threads`` the bridge's default (1), and the capacities
    as docs/bridge.md lists them. ``token`` and ``key`` go together.
    ``bare_exports=True`` sends exported publishes with their application
    headers only (no message id, no origin; docs/bridge.md, "Bare
    exports"); it cannot go with ``token`` and ``key``.
    """

    def __new__(
        cls,
        bus: Bus,
        server: str,
        *,
        servers: Sequence[str] = ...,
        exports: Sequence[str] = ...,
        imports: Sequence[Union[str, Tuple[str, Optional[str]]]] = ...,
        relay: bool = False,
        durable_imports: Sequence[DurableImport] = ...,
        name: Optional[str] = None,
        token: Optional[Token] = None,
        key: Optional[KeyPair] = None,
        authority: Optional[Authority] = None,
        audit: Optional[AuditLog] = None,
        audit_scope: str = "denials",
        max_skew: Union[float, timedelta, None] = None,
        session: Optional[Session] = None,
        request_timeout: Union[float, timedelta, None] = None,
        export_capacity: Optional[int] = None,
        export_max_bytes: Optional[int] = None,
        import_capacity: Optional[int] = None,
        max_requests_in_flight: Optional[int] = None,
        worker_threads: Optional[int] = None,
        bare_exports: bool = False,
    ) -> Self: ...
    @property
    def origin(self) -> str:
        """The bridge's origin id (32 hex digits), fresh at every start."""
    @property
    def connected(self) -> bool:
        """Whether the bridge is connected to a NATS server now."""
    @property
    def closed(self) -> bool:
        """Whether the bridge has been closed."""
    def flush(self, timeout: Optional[Union[float, timedelta]] = None) -> None:
        """Waits until the server has seen everything sent so far (None: the bridge's default)."""
    def stats(self) -> Dict[str, int]:
        """What the bridge carried and dropped so far, each drop by its reason."""
    def refused(self) -> Dict[str, int]:
        """The messages the verifier refused, by reason."""
    def close(self) -> None:
        """Stops carrying and closes the connection. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(self, *_exc_info: object) -> None: ...

@final
class BridgeVerifier:
    """The checks a receiving :class:`Bridge` makes on every sealed message,
    on their own (docs/formats.md, "NATS bridge message authentication"):
    the chain, the proof, the grant, freshness and replay, revocation, in
    that order. It keeps a replay window, as a bridge does: the same
    message checked twice is refused the second time. ``fixed_time_ms``
    judges messages' times against a fixed time (tests and vectors).
    """

    def __new__(
        cls,
        authority: Authority,
        *,
        max_skew: float = 30.0,
        fixed_time_ms: Optional[int] = None,
        audit: Optional[AuditLog] = None,
        audit_scope: str = "denials",
    ) -> Self: ...
    def check(
        self,
        subject: str,
        payload: bytes,
        headers: Sequence[Tuple[str, str]] = ...,
        *,
        reply: Optional[str] = None,
        expect: str = "publish",
        request: Optional[str] = None,
        inbox: Optional[str] = None,
        nonce: Optional[str] = None,
        sent_ms: int = 0,
    ) -> str:
        """Checks one message as it arrived from NATS (every header, the
        envelope's included), expected to be a ``"publish"``, a
        ``"request"``, or a ``"reply"`` to the request on subject
        ``request`` sent with reply subject ``inbox``, nonce ``nonce`` at
        ``sent_ms``. Returns the proven sender's principal id; a refused
        message raises the refusal's :class:`charter.Error`, whose
        ``reason`` names the check (``"bad_proof"``, ``"replayed"``, ...)."""
    def refused(self) -> Dict[str, int]:
        """The messages refused so far, by reason, zeros included."""

@final
class Bus:
    """A topic bus: NATS-style topics and wildcards, bounded queues, request/reply.

    Every limit is a keyword argument; one left out (``None``) is the
    core's default (docs/bus.md). Exceeding one raises
    :class:`charter.LimitExceededError` (or :class:`charter.InvalidArgumentError`
    for topics). With an ``authority`` the bus enforces capabilities: every
    publish, subscribe and request goes through :meth:`client` and needs a
    grant; the bus's own methods raise :class:`charter.DeniedError`. With
    an ``audit`` log, refused publishes, subscribes and requests are recorded
    in it (every decision with ``audit_scope="all"``).
    """

    def __new__(
        cls,
        *,
        authority: Optional[Authority] = None,
        max_subscriptions: Optional[int] = None,
        max_queue_messages: Optional[int] = None,
        max_queue_bytes: Optional[int] = None,
        max_payload: Optional[int] = None,
        max_topic_len: Optional[int] = None,
        max_topic_tokens: Optional[int] = None,
        max_headers: Optional[int] = None,
        max_header_bytes: Optional[int] = None,
        on_error: Optional[_BusErrorHook] = None,
        audit: Optional[AuditLog] = None,
        audit_scope: _AuditScope = "denials",
    ) -> Self: ...
    def client(self, session: Session) -> Client:
        """The bus as seen by the holder of ``session``: each call checked against its grants."""
    def subscribe(
        self,
        pattern: str,
        handler: Optional[_MessageHandler] = None,
        *,
        capacity: Optional[int] = None,
        max_bytes: Optional[int] = None,
        overflow: Optional[Overflow] = None,
        ttl: Union[float, timedelta, None] = None,
        idle_ttl: Union[float, timedelta, None] = None,
        dispatch: Optional[Literal["inline", "thread"]] = None,
    ) -> Subscription:
        """Subscribes to ``pattern``: a queue to receive from, or ``handler``.

        An option left out (``None``) takes the core's default (docs/bus.md:
        :data:`DROP_OLDEST` for ``overflow``), and the core decides which
        options and combinations it refuses. ``ttl`` drops messages
        older than that when received; ``idle_ttl`` ends a queue subscription
        not received from for that long. A handler runs on the publishing
        thread (``dispatch="inline"``) or on a thread of the subscription's
        own (``"thread"``).
        """
    def publish(self, topic: str, payload: Buffer, headers: _Headers = None) -> PublishReport:
        """Publishes ``payload`` on ``topic`` to every matching subscription."""
    def publish_many(self, topic: str, payloads: Iterable[Buffer], headers: _Headers = None) -> PublishReport:
        """Publishes each payload on ``topic`` in order, as :meth:`publish` would;
        returns the reports added up. The first message that fails stops the
        batch; its exception's ``published`` says how many went out."""
    def request(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Union[float, timedelta, None] = ...,
    ) -> Message:
        """Publishes a request and waits up to ``timeout`` seconds for the first reply
        (``None``: no limit; omitted: the core's default, 5 s).

        Raises :class:`charter.NotFoundError` at once when nothing subscribes
        to ``topic``, and :class:`charter.TimeoutError` when no reply comes.
        """
    def request_async(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Union[float, timedelta, None] = ...,
    ) -> Coroutine[Any, Any, Message]:
        """:meth:`request` for asyncio; the request is published when awaited."""
    def _request_start(
        self, topic: str, payload: Buffer, headers: _Headers = None
    ) -> Subscription: ...
    def respond(
        self, request: Message, payload: Buffer, headers: _Headers = None
    ) -> PublishReport:
        """Answers ``request``, a message received with a reply inbox."""
    def stats(self) -> BusStats:
        """The bus's accounting over its whole life."""
    def evict_idle(self) -> int:
        """Ends every subscription idle for longer than its ``idle_ttl``; returns how many."""
    @property
    def on_error(self) -> Optional[_BusErrorHook]:
        """The hook that receives every exception a handler raises."""
    @on_error.setter
    def on_error(self, hook: Optional[_BusErrorHook]) -> None: ...
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
    def close(self) -> None:
        """Closes the bus: every subscription ends and handlers are released. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
        /,
    ) -> None: ...

def validate_topic(topic: str) -> None:
    """Checks ``topic`` as a topic to publish on (at most 256 bytes and 16 tokens);
    :class:`charter.InvalidArgumentError` names the broken rule otherwise."""

def validate_pattern(pattern: str) -> None:
    """Checks ``pattern`` as a pattern to subscribe with or grant (``*`` one token,
    ``>`` one or more, last only); :class:`charter.InvalidArgumentError` otherwise."""

def topic_matches(pattern: str, topic: str) -> bool:
    """Whether ``pattern`` matches ``topic``, as a bus delivers; both are checked
    first (:class:`charter.InvalidArgumentError`)."""

def pattern_contains(inner: str, outer: str) -> bool:
    """Whether every topic ``inner`` matches, ``outer`` matches too (as a delegated
    grant must); both are checked first (:class:`charter.InvalidArgumentError`)."""

_AuditScope = Literal["denials", "all"]
"""Which decisions a bus or an authority records in its audit log."""

_Action = Literal["publish", "subscribe", "request"]
"""What a grant allows."""

_Key = Union["PublicKey", str]
_When = Union[int, datetime]
"""An aware ``datetime``, or whole seconds since the Unix epoch (at most the year 9999)."""
"""A public key, or its text form ``charter-pk1:...``."""

_Grants = Iterable[Union["Grant", str]]
"""Grants, as :class:`Grant` objects or ``"ACTION PATTERN"`` strings."""

@final
class PublicKey:
    """An Ed25519 public key; ``str()`` gives its text form, ``bytes()`` its 32 bytes."""

    @staticmethod
    def from_text(text: str) -> PublicKey:
        """Parses ``charter-pk1:...``; :class:`charter.MalformedError` otherwise."""
    @staticmethod
    def from_bytes(data: Buffer) -> PublicKey:
        """Parses 32 key bytes, refusing non-canonical and small-order keys."""
    @property
    def principal(self) -> str:
        """The principal id this key establishes, ``charter-id1:...``."""
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class KeyPair:
    """An Ed25519 key pair; the private half leaves only through :meth:`to_pkcs8`,
    :meth:`to_pem` and :meth:`write_file`."""

    @staticmethod
    def generate() -> KeyPair:
        """A new key pair from the operating system's random source."""
    @staticmethod
    def from_pkcs8(data: Buffer) -> KeyPair:
        """A key pair from a PKCS#8 document (:class:`charter.MalformedError` otherwise)."""
    def to_pkcs8(self) -> bytes:
        """The private key as a PKCS#8 v1 document (RFC 8410). Treat it as a secret."""
    @staticmethod
    def from_pem(text: str) -> KeyPair:
        """A key pair from PEM text (``-----BEGIN PRIVATE KEY-----``)."""
    def to_pem(self) -> str:
        """The private key as PEM text. Treat it as a secret."""
    @staticmethod
    def read_file(path: Union[str, os.PathLike[str]], *, allow_open_permissions: bool = False) -> KeyPair:
        """Reads a private key file (PKCS#8, DER or PEM).

        A file that group or others may access is refused with
        :class:`charter.InvalidArgumentError` unless ``allow_open_permissions``.
        """
    def write_file(self, path: Union[str, os.PathLike[str]], *, pem: bool = False) -> None:
        """Writes the private key to a new file, mode 0600 (DER, or PEM with ``pem``)."""
    @property
    def public_key(self) -> PublicKey:
        """The public key."""
    @property
    def principal(self) -> str:
        """The principal id this key pair speaks for, ``charter-id1:...``."""

@final
class Grant:
    """An action allowed on the topics a pattern matches: ``Grant("publish orders.*")``.

    Raises :class:`charter.InvalidArgumentError` for an unknown action, a bad
    pattern or one in the reserved ``_charter.`` space.
    """

    def __new__(cls, text: str) -> Self: ...
    @property
    def action(self) -> _Action:
        """``"publish"``, ``"subscribe"`` or ``"request"``."""
    @property
    def pattern(self) -> str:
        """The topic pattern."""
    def allows(self, action: _Action, topic: str) -> bool:
        """Whether this grant allows ``action`` on ``topic`` (for subscribe, a pattern)."""
    def within(self, other: Grant) -> bool:
        """Whether everything this grant allows, ``other`` allows too."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Link:
    """One link of a token, as decoded (not verified)."""

    @property
    def index(self) -> int:
        """Its position, 0 for the root link."""
    @property
    def id(self) -> str:
        """Its id, 64 hex digits: the name :meth:`Authority.revoke` takes."""
    @property
    def issuer(self) -> PublicKey:
        """The key that signed it: the root key, or the previous link's subject."""
    @property
    def subject(self) -> PublicKey:
        """The key it grants to."""
    @property
    def grants(self) -> Tuple[Grant, ...]:
        """What it grants."""
    @property
    def not_before(self) -> int:
        """Valid from this time (seconds since the epoch) ..."""
    @property
    def not_after(self) -> int:
        """... until just before this one."""
    @property
    def is_root(self) -> bool:
        """Whether this is the root link."""

@final
class Token:
    """A capability token: signed links from a root key to the holder.

    ``bytes()`` gives the binary form, ``str()`` the text form
    ``charter-tok1:...``. Decoding checks structure only; verification is
    :meth:`Authority.verify`.
    """

    @staticmethod
    def mint(
        root: KeyPair, subject: _Key, grants: _Grants, not_before: _When, not_after: _When
    ) -> Token:
        """``root`` gives ``grants`` to ``subject`` for ``[not_before, not_after)`` (aware datetimes or Unix seconds)."""
    def delegate(
        self, holder: KeyPair, subject: _Key, grants: _Grants, not_before: _When, not_after: _When
    ) -> Token:
        """A narrower token for ``subject``, signed by ``holder`` (this token's subject).

        Widening a grant or the window raises :class:`charter.DeniedError`.
        """
    @staticmethod
    def from_bytes(data: Buffer) -> Token:
        """Decodes the binary form; :class:`charter.MalformedError` otherwise."""
    @staticmethod
    def from_text(text: str) -> Token:
        """Decodes ``charter-tok1:...``; :class:`charter.MalformedError` otherwise."""
    @property
    def links(self) -> Tuple[Link, ...]:
        """The links, root first."""
    @property
    def subject(self) -> PublicKey:
        """The holder: the last link's subject."""
    @property
    def root_key(self) -> PublicKey:
        """The root key the chain starts from."""
    def prove(self, holder: KeyPair, challenge: Buffer) -> bytes:
        """The holder's 64-byte proof of possession for ``challenge``."""
    def inspect(self) -> str:
        """A readable account of every link."""
    def __bytes__(self) -> bytes: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class ManualClock:
    """A clock that moves only when told to, for ``Authority(clock=...)`` in tests."""

    def __new__(cls, now: _When) -> Self: ...
    def now(self) -> int:
        """The time, in seconds since the epoch."""
    def set(self, now: _When) -> None:
        """Sets the time: an aware ``datetime`` or seconds since the epoch."""
    def advance(self, seconds: Union[int, timedelta]) -> None:
        """Moves the time forward by ``seconds`` (whole seconds, or a ``timedelta``)."""

@final
class Verified:
    """What a verified token establishes (from :meth:`Authority.verify`)."""

    @property
    def subject(self) -> PublicKey:
        """The holder's public key."""
    @property
    def principal(self) -> str:
        """The holder's principal id."""
    @property
    def grants(self) -> Tuple[Grant, ...]:
        """The last link's grants."""
    @property
    def not_before(self) -> int:
        """The last link's window starts ..."""
    @property
    def not_after(self) -> int:
        """... and ends (exclusive)."""
    @property
    def links(self) -> Tuple[str, ...]:
        """Every link's id, root first."""

@final
class Authority:
    """Trusts root keys, judges time, verifies tokens, opens sessions, revokes links.

    ``max_lifetime`` bounds any link's window and ``clock_skew`` is the
    tolerance at both ends of it, in seconds. ``clock`` defaults to the
    system clock. With an ``audit`` log, refused session openings are
    recorded in it (every opening with ``audit_scope="all"``).
    """

    def __new__(
        cls,
        roots: Iterable[_Key] = (),
        *,
        clock: Optional[ManualClock] = None,
        max_lifetime: Union[int, timedelta, None] = None,
        clock_skew: Union[int, timedelta, None] = None,
        audit: Optional[AuditLog] = None,
        audit_scope: _AuditScope = "denials",
    ) -> Self: ...
    def trust(self, root: _Key) -> None:
        """Trusts ``root`` from now on."""
    def distrust(self, root: _Key) -> bool:
        """Stops trusting ``root`` and ends every session opened under it; returns whether it was trusted."""
    def sweep(self) -> int:
        """Ends every expired (or revoked) session and its subscriptions; returns how many ended."""
    def now(self) -> int:
        """The time by this authority's clock."""
    def verify(self, token: Token) -> Verified:
        """Verifies ``token`` (releasing the GIL).

        Raises :class:`charter.RevokedError`, :class:`charter.UntrustedRootError`,
        :class:`charter.MalformedError`, :class:`charter.BadSignatureError`,
        :class:`charter.DeniedError` (a link widens its parent or lives too
        long), :class:`charter.NotYetValidError` or :class:`charter.ExpiredError`.
        """
    def challenge(self) -> bytes:
        """A fresh 32-byte challenge, usable once within two minutes."""
    def open_session(self, token: Token, challenge: Buffer, proof: Buffer) -> Session:
        """Verifies ``token`` and the holder's ``proof`` for ``challenge``; opens a session."""
    def revoke(self, link_id: str) -> bool:
        """Revokes link ``link_id`` (as in :attr:`Link.id`); returns whether it was new."""
    def unrevoke(self, link_id: str) -> bool:
        """Lifts a revocation; returns whether the link was revoked."""
    def revocations(self) -> List[str]:
        """The revoked link ids, sorted."""
    def export_revocations(self) -> str:
        """The revocations as text, one link id per line."""
    def import_revocations(self, text: str) -> int:
        """Adds the link ids in ``text`` (all or nothing); returns how many were new."""

@final
class Session:
    """An open session: a verified token whose holder proved possession.

    It ends when the token expires or any link of it is revoked.
    """

    def check(self, action: _Action, topic: str) -> None:
        """Raises unless the session may ``action`` on ``topic``.

        :class:`charter.DeniedError` names the topic and the missing grant;
        :class:`charter.ExpiredError` or :class:`charter.RevokedError` once
        the session has ended.
        """
    @property
    def active(self) -> bool:
        """Whether the session is still open."""
    @property
    def principal(self) -> str:
        """The holder's principal id."""
    @property
    def subject(self) -> PublicKey:
        """The holder's public key."""
    @property
    def grants(self) -> Tuple[Grant, ...]:
        """What the session may do."""
    @property
    def expires_at(self) -> int:
        """When the session ends (Unix seconds), unless revoked before."""

@final
class Client:
    """A bus as seen by a session's holder (:meth:`Bus.client`); every call is checked.

    Publishing needs a ``publish`` grant matching the topic, subscribing a
    ``subscribe`` grant containing the pattern, requesting a ``request``
    grant matching the topic; otherwise :class:`charter.DeniedError`. Hand
    a component a client, not the bus: it cannot reach the bus (to close
    it), and a subscription it makes can be received from and closed only
    by the holder of the same session.
    """

    @property
    def session(self) -> Session:
        """The session calls are checked against."""
    def subscribe(
        self,
        pattern: str,
        handler: Optional[_MessageHandler] = None,
        *,
        capacity: Optional[int] = None,
        max_bytes: Optional[int] = None,
        overflow: Optional[Overflow] = None,
        ttl: Union[float, timedelta, None] = None,
        idle_ttl: Union[float, timedelta, None] = None,
        dispatch: Optional[Literal["inline", "thread"]] = None,
    ) -> Subscription:
        """:meth:`Bus.subscribe`; the subscription ends when the session does."""
    def publish(self, topic: str, payload: Buffer, headers: _Headers = None) -> PublishReport:
        """:meth:`Bus.publish`."""
    def publish_many(self, topic: str, payloads: Iterable[Buffer], headers: _Headers = None) -> PublishReport:
        """:meth:`Bus.publish_many`."""
    def respond(
        self, request: Message, payload: Buffer, headers: _Headers = None
    ) -> PublishReport:
        """:meth:`Bus.respond`: needs no grant, but a live session."""
    def request(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Union[float, timedelta, None] = ...,
    ) -> Message:
        """:meth:`Bus.request`."""
    def request_async(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Union[float, timedelta, None] = ...,
    ) -> Coroutine[Any, Any, Message]:
        """:meth:`Bus.request_async`."""
    def _request_start(
        self, topic: str, payload: Buffer, headers: _Headers = None
    ) -> Subscription: ...

_Fsync = Union[Literal["always", "never"], float, timedelta]
"""When records reach stable storage: before ``append`` returns, only on
:meth:`AuditLog.sync` and checkpoints, or by a background
thread at this interval (seconds or a ``timedelta``)."""

_Interval = Union[float, timedelta]
"""A positive interval: seconds or a ``timedelta``."""

_Path = Union[str, os.PathLike[str]]

_DecisionName = Union[Decision, Literal["allow", "deny", "error"]]
"""A decision, as a :class:`charter.Decision` or its name."""

@final
class Recovery:
    """What :meth:`AuditLog.open` found and repaired in the file."""

    def __new__(cls, records: int = 0, truncated_bytes: int = 0) -> Self: ...
    @property
    def records(self) -> int:
        """Intact records in the file."""
    @property
    def truncated_bytes(self) -> int:
        """Bytes of a torn last record (a crash during an append) cut off."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class VerifyReport:
    """What :meth:`AuditLog.verify` or :func:`verify_log` found; true when
    everything checked out."""

    @property
    def records(self) -> int:
        """Records read back intact, in order, from the start."""
    @property
    def first_bad(self) -> Optional[int]:
        """The first record damaged, rewritten or missing, if any."""
    @property
    def problem(self) -> Optional[str]:
        """What is wrong, if anything."""
    @property
    def checkpoint(self) -> Optional[int]:
        """The size of the signed checkpoint the records were checked against."""
    @property
    def against(self) -> Optional[int]:
        """The size of the earlier checkpoint checked too (:meth:`AuditLog.verify_against`,
        :func:`verify_log` with ``against``)."""
    @property
    def problem_code(self) -> Optional[str]:
        """What kind of problem it is, as a status name (:attr:`charter.Error.code`):
        ``"CHARTER_E_CORRUPT"`` for records damaged, missing or rewritten,
        ``"CHARTER_E_BAD_SIGNATURE"`` for a checkpoint missing, not verifying
        or short of its witnesses; ``None`` when everything checked out."""
    @property
    def root(self) -> bytes:
        """The root of the first ``records`` records."""
    @property
    def witnesses(self) -> Tuple[str, ...]:
        """The names of the witnesses whose cosignatures on the checkpoint
        verified (:func:`verify_log` with ``witnesses``)."""
    @property
    def ok(self) -> bool:
        """Whether everything checked out."""
    def __bool__(self) -> bool: ...
    def __eq__(self, other: object, /) -> bool: ...

@final
class Checkpoint:
    """A signed tree head, as :func:`verify_checkpoint` reads it."""

    def __new__(cls, origin: str, size: int, root: Buffer) -> Self: ...
    @property
    def origin(self) -> str:
        """The log's identity."""
    @property
    def size(self) -> int:
        """The number of records in the tree."""
    @property
    def root(self) -> bytes:
        """The tree's root (32 bytes)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class AuditRecords(Iterator[Tuple[int, Record]]):
    """The records :meth:`AuditLog.records` selects, as ``(index, record)`` pairs.

    A record changed on disk is raised as :class:`charter.CorruptError`,
    which ends the iteration.
    """

    def __iter__(self) -> Self: ...
    def __next__(self) -> Tuple[int, Record]: ...

@final
class AuditLog:
    """An append-only, tamper-evident log of :class:`charter.Record` s.

    Records go to a file (or memory) and into an RFC 9162 Merkle tree whose
    root is signed in C2SP checkpoints. Every method may be called from any
    thread; those that may wait on the disk release the GIL.
    """

    @staticmethod
    def open(
        path: _Path,
        *,
        fsync: _Fsync = "always",
        signer: Optional[KeyPair] = None,
        origin: str = "charter.local/audit",
        checkpoint_every: int = 0,
        checkpoint_interval: Optional[_Interval] = None,
    ) -> AuditLog:
        """Opens the log at ``path``, creating it (mode 0600) if needed.

        A torn last record (a crash during an append) is cut off and
        reported in :attr:`recovery`; any other damage, or contents that do
        not extend the log's own checkpoint (rewritten, cut, replaced),
        raises :class:`charter.CorruptError` naming the record and cuts
        nothing. Without a ``signer`` the log cannot sign checkpoints.
        ``origin`` names the log in its checkpoints (no spaces, no ``+``).
        With a signer, ``checkpoint_every`` records or ``checkpoint_interval``
        (seconds or a ``timedelta``) sign a checkpoint automatically:
        records after the newest checkpoint cannot be authenticated.
        """
    @staticmethod
    def start_over(
        path: _Path,
        *,
        reason: str,
        signer: KeyPair,
        origin: str,
        fsync: _Fsync = "always",
        checkpoint_every: int = 0,
        checkpoint_interval: Optional[_Interval] = None,
    ) -> AuditLog:
        """Starts a new history at ``path``: the operator's explicit act for a
        log that no longer extends its checkpoint.

        ``origin`` must differ from the old checkpoint's
        (:class:`charter.InvalidArgumentError` otherwise). The old log and
        checkpoint are kept, renamed ``<path>.replaced-<unix ms>`` and
        ``<path>.checkpoint.replaced-<unix ms>``; record 0 of the new log
        (action ``start_over``) names the old origin, size and root and
        ``reason``, and its first checkpoint is signed at once.
        """
    @staticmethod
    def in_memory(
        *, signer: Optional[KeyPair] = None, origin: str = "charter.local/audit"
    ) -> AuditLog:
        """A log kept in memory only: the same tree, proofs and checkpoints."""
    @property
    def path(self) -> Optional[Path]:
        """The file the log is kept in; ``None`` in memory."""
    @property
    def origin(self) -> str:
        """The log's name in its checkpoints."""
    @property
    def fsync(self) -> Union[Literal["always", "never"], float]:
        """The fsync policy; an interval in seconds."""
    @property
    def checkpoint_every(self) -> int:
        """A checkpoint is signed automatically after every this many records (0: never)."""
    @property
    def checkpoint_interval(self) -> Optional[float]:
        """A checkpoint is signed automatically this often, in seconds, when
        records were added (``None``: never)."""
    @property
    def recovery(self) -> Recovery:
        """What opening the file found and repaired (all zero in memory)."""
    @overload
    def append(
        self,
        action: str,
        resource: str,
        decision: _DecisionName,
        /,
        *,
        actor: Optional[str] = None,
        reason: int = 0,
        detail: str = "",
        time: Optional[_When] = None,
        actor_unproven: bool = False,
    ) -> int:
        """Appends a record and returns its index; durable on return under ``fsync="always"``.

        ``actor`` is a principal id, ``time`` Unix milliseconds (default: now);
        ``actor_unproven`` marks an actor only claimed, never proven.
        :class:`charter.LimitExceededError` or :class:`charter.InvalidArgumentError`
        for a record over its limits.
        """
    @overload
    def append(self, record: Record, /) -> int: ...
    def sync(self) -> None:
        """Forces every record appended so far to stable storage."""
    def __len__(self) -> int: ...
    @property
    def root(self) -> bytes:
        """The Merkle root of all records (32 bytes)."""
    def root_at(self, size: int) -> bytes:
        """The Merkle root of the first ``size`` records."""
    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of record ``index``."""
    def prove_inclusion(self, index: int, size: int) -> List[bytes]:
        """The proof that record ``index`` is in the tree of the first ``size`` records."""
    def prove_consistency(self, old_size: int, new_size: int) -> List[bytes]:
        """The proof that the tree of ``old_size`` records is a prefix of that of ``new_size``."""
    def get(self, index: int) -> Record:
        """Record ``index``, read back and checked against the tree.

        :class:`charter.NotFoundError` past the end; :class:`charter.CorruptError`
        when it was changed on disk.
        """
    @overload
    def __getitem__(self, index: int, /) -> Record: ...
    @overload
    def __getitem__(self, index: slice, /) -> List[Record]: ...
    def records(
        self,
        *,
        start: int = 0,
        since: Optional[_When] = None,
        until: Optional[_When] = None,
        actor: Optional[str] = None,
        decision: Optional[_DecisionName] = None,
    ) -> AuditRecords:
        """The records from ``start`` on, among those in the log now, that
        match every filter given; ``since`` and ``until`` (exclusive) are
        aware datetimes or Unix milliseconds."""
    @property
    def verifier_key(self) -> Optional[str]:
        """The note verifier key checkpoints verify with; ``None`` without a signer."""
    def checkpoint(self) -> str:
        """Signs a checkpoint of the log as it is now and returns the note.

        What it covers is synced first; a file log keeps the latest one in
        ``<path>.checkpoint``. :class:`charter.InvalidArgumentError` without
        a signer.
        """
    @property
    def latest_checkpoint(self) -> Optional[str]:
        """The latest checkpoint note kept, if any."""
    def verify(self) -> VerifyReport:
        """Rereads and rechecks every record and checks the latest checkpoint."""
    def verify_against(self, note: str) -> VerifyReport:
        """:meth:`verify`, and checks that the log extends ``note``, a checkpoint kept elsewhere."""
    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called."""
    def close(self) -> None:
        """Gives up this object's hold on the log; afterwards its methods raise
        :class:`charter.ClosedError`. Idempotent."""
    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
        /,
    ) -> None: ...

def verify_inclusion(
    leaf_hash: Buffer, index: int, size: int, proof: Iterable[Buffer], root: Buffer
) -> None:
    """Checks that ``leaf_hash`` is record ``index`` of the tree of ``size`` records with ``root``.

    :class:`charter.BadSignatureError` when the proof does not lead to the
    root, :class:`charter.MalformedError` for a proof of the wrong length,
    :class:`charter.InvalidArgumentError` for an index outside the tree.
    """

def verify_consistency(
    old_size: int, new_size: int, old_root: Buffer, new_root: Buffer, proof: Iterable[Buffer]
) -> None:
    """Checks that the tree of ``old_size`` records is a prefix of the tree of ``new_size``.

    Raises as :func:`verify_inclusion` does.
    """

def verify_checkpoint(note: str, verifier_key: str) -> Checkpoint:
    """Verifies a signed checkpoint note with one trusted verifier key; returns what it says.

    :class:`charter.BadSignatureError` unless the key signed it,
    :class:`charter.MalformedError` for bad syntax.
    """

def verifier_key(name: str, public_key: _Key) -> str:
    """The note verifier key for ``public_key`` under ``name``: ``<name>+<key id>+<key>``."""

def leaf_hash(leaf: Buffer) -> bytes:
    """The RFC 9162 leaf hash: ``SHA-256(0x00 || leaf)``."""

EMPTY_ROOT: bytes
"""The root of the empty tree: SHA-256 of nothing."""

def verify_log(
    path: _Path,
    *,
    log_key: Optional[str] = None,
    allow_missing_checkpoint: bool = False,
    against: Optional[str] = None,
    witnesses: Sequence[str] = (),
    quorum: int = 0,
    state: Optional[_Path] = None,
) -> VerifyReport:
    """Verifies the log at ``path`` without writing to it or locking it: on a
    read-only file, or beside a live writer (it reads the complete records
    there are). Memory stays bounded as the log grows.

    Every record is reread and rechecked and the tree recomputed. With
    ``log_key`` (the log's note verifier key) ``<path>.checkpoint`` must
    verify and the records must extend it; a log without one fails unless
    ``allow_missing_checkpoint``. ``against`` is an earlier checkpoint kept
    elsewhere that the records must extend too. ``quorum`` of the
    ``witnesses`` (cosigner keys, see :func:`cosigner_key`) must have
    cosigned the checkpoint. ``state`` is a trust state file (created 0600)
    holding the last checkpoint this verifier accepted per origin: the log
    must extend it, and a pass records the newest one, so a rollback is
    caught without ``against``.

    Findings are in the report (``problem``, ``first_bad``); it raises only
    when the check cannot run: :class:`charter.NotFoundError`,
    :class:`charter.IoError`, :class:`charter.InvalidArgumentError` (not a
    regular file, or options that need ``log_key``),
    :class:`charter.CorruptError` (not an audit log),
    :class:`charter.MalformedError` or :class:`charter.BadSignatureError`
    (a bad key or ``against`` note).
    """

@final
class LogView:
    """A read-only snapshot of a log file, for proofs: the tree of the
    complete records it held when opened. It never writes and takes no lock."""

    @staticmethod
    def open(path: _Path) -> LogView:
        """Reads the complete records of the log at ``path``.

        :class:`charter.CorruptError` names a damaged record;
        :class:`charter.NotFoundError`, :class:`charter.IoError` and
        :class:`charter.InvalidArgumentError` (not a regular file) as for
        opening it.
        """
    def __len__(self) -> int: ...
    @property
    def root(self) -> bytes:
        """The Merkle root of the records read (32 bytes)."""
    def root_at(self, size: int) -> bytes:
        """The Merkle root of the first ``size`` records."""
    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash of record ``index``."""
    def prove_inclusion(self, index: int, size: int) -> List[bytes]:
        """As :meth:`AuditLog.prove_inclusion`."""
    def prove_consistency(self, old_size: int, new_size: int) -> List[bytes]:
        """As :meth:`AuditLog.prove_consistency`."""
    def checkpoint(self) -> Optional[str]:
        """The persisted checkpoint note (``<path>.checkpoint``), read now."""

@final
class Cosigned:
    """A checkpoint with the trusted witnesses that verifiably cosigned it."""

    @property
    def checkpoint(self) -> Checkpoint:
        """What the log's own signature vouches for."""
    @property
    def witnesses(self) -> Tuple[str, ...]:
        """The names of the witnesses whose cosignatures verified, each once."""
    @property
    def timestamps(self) -> Tuple[int, ...]:
        """When each of them cosigned (POSIX seconds), in the same order."""
    def __eq__(self, other: object, /) -> bool: ...

def cosigner_key(name: str, public_key: _Key) -> str:
    """The cosigner verifier key (C2SP ``cosignature/v1``, type 0x04) of the
    witness ``name``: ``<name>+<key id>+<key>``."""

def cosign(note: str, name: str, key: KeyPair, timestamp: _When) -> str:
    """The cosignature line of witness ``name`` over the checkpoint in
    ``note`` at ``timestamp`` (POSIX seconds or an aware ``datetime``); append it to the note.

    The caller is the witness and has checked the checkpoint first;
    :meth:`Witness.add_checkpoint` does both.
    """

def verify_cosigned(note: str, log_key: str, witnesses: Sequence[str], quorum: int) -> Cosigned:
    """Verifies that ``note`` is signed by ``log_key`` and cosigned by at
    least ``quorum`` distinct witnesses among ``witnesses`` (cosigner keys).

    Lines by other keys are ignored. :class:`charter.BadSignatureError` for
    too few witnesses or a trusted line that does not verify;
    :class:`charter.InvalidArgumentError` for a quorum that can never be met.
    """

def witness_request(old_size: int, proof: Iterable[Buffer], note: str) -> str:
    """The body of a C2SP ``tlog-witness`` ``add-checkpoint`` request."""

def parse_witness_request(body: str) -> Tuple[int, List[bytes], str]:
    """An ``add-checkpoint`` request body as ``(old_size, proof, note)``;
    :class:`charter.MalformedError` names what is wrong."""

@final
class Witness:
    """A witness: it cosigns a log's checkpoint only when a consistency proof
    shows that it extends the last one it cosigned for that log, which it
    keeps in its state file. A log that shows two histories gets a
    cosignature for one of them at most."""

    @staticmethod
    def open(state: _Path, *, name: str, key: KeyPair, logs: Sequence[str]) -> Witness:
        """A witness named ``name`` signing with ``key``, keeping its state in
        the file ``state`` (created 0600, locked while in use), trusting the
        logs whose note verifier keys are ``logs``."""
    @property
    def verifier_key(self) -> str:
        """The witness's cosigner verifier key, for verifiers."""
    @property
    def name(self) -> str:
        """The witness's name."""
    def add_checkpoint(
        self, old_size: int, proof: Iterable[Buffer], note: str, *, timestamp: Optional[_When] = None
    ) -> str:
        """Checks ``note`` against the last checkpoint cosigned for its log
        with the consistency ``proof`` from ``old_size``, records it, and
        returns the cosignature line (timestamped now, or at ``timestamp``).

        As C2SP ``tlog-witness``: :class:`charter.NotFoundError` for an
        unknown log, :class:`charter.BadSignatureError` without its valid
        signature, :class:`charter.DeniedError` when ``old_size`` is not the
        size the witness holds (see :meth:`latest`),
        :class:`charter.CorruptError` when the proof fails (a split view).
        """
    def latest(self, origin: str) -> Optional[Tuple[int, bytes]]:
        """``(size, root)`` of the last checkpoint cosigned for ``origin``."""

def _encode_record(record: Record, index: int) -> bytes: ...
def _record_millis(value: Union[int, datetime]) -> int: ...
