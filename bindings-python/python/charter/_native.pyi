"""Type stubs for the Rust extension module ``charter._native``."""

from types import TracebackType
from typing import (
    Any,
    Callable,
    Coroutine,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Tuple,
    Type,
    Union,
    final,
)

from typing_extensions import Buffer, Self

__all__ = [
    "__version__",
    "STATUS_CODES",
    "NotifyReport",
    "Registry",
    "Bus",
    "Subscription",
    "Message",
    "PublishReport",
    "Drops",
    "SubscriptionStats",
    "BusStats",
    "Overflow",
    "Block",
    "DROP_OLDEST",
    "DROP_NEWEST",
    "ERROR",
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

_Headers = Union[Mapping[str, str], Iterable[Tuple[str, str]], None]
"""Headers: a mapping of names to values, or ``(name, value)`` pairs."""

_MessageHandler = Callable[["Message"], object]
"""A subscription handler: called with each message; its return value is ignored."""

_BusErrorHook = Callable[[int, BaseException], object]
"""A bus's ``on_error`` hook: called with the subscription id and the exception."""

@final
class Overflow:
    """What a full subscription queue does with one more message.

    Use :data:`DROP_OLDEST`, :data:`DROP_NEWEST`, :data:`ERROR` or
    :func:`Block`.
    """

    @property
    def policy(self) -> Literal["drop_oldest", "drop_newest", "block", "error"]:
        """The policy's name."""
    @property
    def timeout(self) -> Optional[float]:
        """How long a ``Block`` publisher waits for room, in seconds; else ``None``."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

DROP_OLDEST: Overflow
"""Drop the oldest queued message to make room (the default)."""
DROP_NEWEST: Overflow
"""Drop the new message."""
ERROR: Overflow
"""Drop the new message and make ``publish`` raise :class:`charter.LimitExceededError`."""

def Block(timeout: float) -> Overflow:
    """The publisher waits up to ``timeout`` seconds for room, then the message is
    dropped and ``publish`` raises :class:`charter.TimeoutError`; inside a
    callback of the same bus it raises :class:`charter.WouldBlockError` at once."""

@final
class Message:
    """One received message. Immutable."""

    @property
    def seq(self) -> int:
        """The bus-wide sequence number, increasing in publish order."""
    @property
    def topic(self) -> str:
        """The topic it was published on."""
    @property
    def payload(self) -> bytes:
        """The payload (a new ``bytes`` object on each read)."""
    @property
    def headers(self) -> Tuple[Tuple[str, str], ...]:
        """The headers as ``(name, value)`` pairs, in the order given."""
    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        """The value of the first header called ``name``, else ``default``."""
    @property
    def reply_to(self) -> Optional[str]:
        """The reply inbox if this message is a request, else ``None``."""

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
        """Refused by an ``ERROR`` queue, or too large for the queue at all."""
    @property
    def closed(self) -> int:
        """Still queued, or arriving, when the subscription ended."""
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
        """Publishes, subscribes and requests refused by authorization."""
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
    def recv(self, timeout: Optional[float] = None) -> Message:
        """Waits up to ``timeout`` seconds (``None``: no limit) for the next message.

        Raises :class:`charter.TimeoutError` when none came and
        :class:`charter.ClosedError` once the subscription has ended.
        """
    def try_recv(self) -> Optional[Message]:
        """The next message if one is queued, else ``None``, without waiting."""
    def recv_async(self, timeout: Optional[float] = None) -> Coroutine[Any, Any, Message]:
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
    def _wait(self, seconds: float) -> Optional[Message]: ...
    def _abandon(self) -> None: ...
    def _settling(self) -> bool: ...
    def _give_back(self, message: Optional[Message]) -> None: ...

@final
class Bus:
    """A topic bus: NATS-style topics and wildcards, bounded queues, request/reply.

    Every limit is a keyword argument; exceeding one raises
    :class:`charter.LimitExceededError` (or :class:`charter.InvalidArgumentError`
    for topics). With an ``authority`` the bus enforces capabilities: every
    publish, subscribe and request goes through :meth:`client` and needs a
    grant; the bus's own methods raise :class:`charter.DeniedError`.
    """

    def __new__(
        cls,
        *,
        authority: Optional[Authority] = None,
        max_subscriptions: int = 65536,
        max_queue_messages: int = 1048576,
        max_queue_bytes: int = 268435456,
        max_payload: int = 1048576,
        max_topic_len: int = 256,
        max_topic_tokens: int = 16,
        max_headers: int = 64,
        max_header_bytes: int = 16384,
        on_error: Optional[_BusErrorHook] = None,
    ) -> Self: ...
    def client(self, session: Session) -> Client:
        """The bus as seen by the holder of ``session``: each call checked against its grants."""
    def subscribe(
        self,
        pattern: str,
        handler: Optional[_MessageHandler] = None,
        *,
        capacity: int = 1024,
        max_bytes: int = 16777216,
        overflow: Overflow = ...,
        ttl: Optional[float] = None,
        idle_ttl: Optional[float] = None,
        dispatch: Literal["inline", "thread"] = "inline",
    ) -> Subscription:
        """Subscribes to ``pattern``: a queue to receive from, or ``handler``.

        ``overflow`` defaults to :data:`DROP_OLDEST`. ``ttl`` drops messages
        older than that when received; ``idle_ttl`` ends a queue subscription
        not received from for that long. A handler runs on the publishing
        thread (``dispatch="inline"``) or on a thread of the subscription's
        own (``"thread"``).
        """
    def publish(self, topic: str, payload: Buffer, headers: _Headers = None) -> PublishReport:
        """Publishes ``payload`` on ``topic`` to every matching subscription."""
    def request(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Optional[float] = 5.0,
    ) -> Message:
        """Publishes a request and waits up to ``timeout`` seconds for the first reply.

        Raises :class:`charter.NotFoundError` at once when nothing subscribes
        to ``topic``, and :class:`charter.TimeoutError` when no reply comes.
        """
    def request_async(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Optional[float] = 5.0,
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

_Action = Literal["publish", "subscribe", "request"]
"""What a grant allows."""

_Key = Union["PublicKey", str]
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
    """An Ed25519 key pair; the private half leaves only through :meth:`to_pkcs8`."""

    @staticmethod
    def generate() -> KeyPair:
        """A new key pair from the operating system's random source."""
    @staticmethod
    def from_pkcs8(data: Buffer) -> KeyPair:
        """A key pair from a PKCS#8 document (:class:`charter.MalformedError` otherwise)."""
    def to_pkcs8(self) -> bytes:
        """The private key as a PKCS#8 document. Treat it as a secret."""
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
        root: KeyPair, subject: _Key, grants: _Grants, not_before: int, not_after: int
    ) -> Token:
        """``root`` gives ``grants`` to ``subject`` for ``[not_before, not_after)`` (Unix seconds)."""
    def delegate(
        self, holder: KeyPair, subject: _Key, grants: _Grants, not_before: int, not_after: int
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

    def __new__(cls, now: int) -> Self: ...
    def now(self) -> int:
        """The time, in seconds since the epoch."""
    def set(self, now: int) -> None:
        """Sets the time."""
    def advance(self, seconds: int) -> None:
        """Moves the time forward by ``seconds``."""

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
    system clock.
    """

    def __new__(
        cls,
        roots: Iterable[_Key] = (),
        *,
        clock: Optional[ManualClock] = None,
        max_lifetime: int = 7776000,
        clock_skew: int = 60,
    ) -> Self: ...
    def trust(self, root: _Key) -> None:
        """Trusts ``root`` from now on."""
    def distrust(self, root: _Key) -> bool:
        """Stops trusting ``root``; returns whether it was trusted."""
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
    grant matching the topic; otherwise :class:`charter.DeniedError`.
    """

    @property
    def bus(self) -> Bus:
        """The bus."""
    @property
    def session(self) -> Session:
        """The session calls are checked against."""
    def subscribe(
        self,
        pattern: str,
        handler: Optional[_MessageHandler] = None,
        *,
        capacity: int = 1024,
        max_bytes: int = 16777216,
        overflow: Overflow = ...,
        ttl: Optional[float] = None,
        idle_ttl: Optional[float] = None,
        dispatch: Literal["inline", "thread"] = "inline",
    ) -> Subscription:
        """:meth:`Bus.subscribe`; the subscription ends when the session does."""
    def publish(self, topic: str, payload: Buffer, headers: _Headers = None) -> PublishReport:
        """:meth:`Bus.publish`."""
    def request(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Optional[float] = 5.0,
    ) -> Message:
        """:meth:`Bus.request`."""
    def request_async(
        self,
        topic: str,
        payload: Buffer,
        headers: _Headers = None,
        timeout: Optional[float] = 5.0,
    ) -> Coroutine[Any, Any, Message]:
        """:meth:`Bus.request_async`."""
    def _request_start(
        self, topic: str, payload: Buffer, headers: _Headers = None
    ) -> Subscription: ...
