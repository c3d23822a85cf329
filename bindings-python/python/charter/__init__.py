"""Charter: a handler registry, a topic bus, capability tokens and an audit
log over one Rust core shared with C, Go and Node.

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

>>> root, service = charter.KeyPair.generate(), charter.KeyPair.generate()
>>> clock = charter.ManualClock(1_000)
>>> authority = charter.Authority([root.public_key], clock=clock)
>>> token = charter.Token.mint(root, service.public_key, ["publish orders.>"], 1_000, 2_000)
>>> challenge = authority.challenge()
>>> session = authority.open_session(token, challenge, token.prove(service, challenge))
>>> session.check("publish", "orders.eu.created")
>>> try:
...     session.check("publish", "payments.eu")
... except charter.DeniedError as e:
...     print(e.code)
CHARTER_E_DENIED

>>> with charter.AuditLog.in_memory(signer=charter.KeyPair.generate(), origin="example.com/audit") as log:
...     log.append("publish", "payments.eu", charter.Decision.DENY, actor=session.principal)
...     note = log.checkpoint()
...     charter.verify_checkpoint(note, log.verifier_key).size
...     [(index, record.decision) for index, record in log.records(decision="deny")]
0
1
[(0, <Decision.DENY: 'deny'>)]

Every failure raises a subclass of :class:`charter.Error`; see
:mod:`charter.errors`.
"""

from ._native import (
    DROP_NEWEST,
    DROP_OLDEST,
    EMPTY_ROOT,
    ERROR_ON_FULL,
    AuditLog,
    AuditRecords,
    Authority,
    Block,
    Bridge,
    BridgeVerifier,
    Bus,
    BusStats,
    Checkpoint,
    Client,
    Cosigned,
    Drops,
    DurableImport,
    Grant,
    KeyPair,
    Link,
    LogView,
    ManualClock,
    Message,
    NotifyReport,
    Overflow,
    PublicKey,
    PublishReport,
    Recovery,
    Registry,
    Session,
    Subscription,
    SubscriptionStats,
    Token,
    Verified,
    VerifyReport,
    Witness,
    __version__,
    cosign,
    cosigner_key,
    leaf_hash,
    parse_witness_request,
    pattern_contains,
    topic_matches,
    validate_pattern,
    validate_topic,
    verifier_key,
    verify_checkpoint,
    verify_consistency,
    verify_cosigned,
    verify_inclusion,
    verify_log,
    witness_request,
)
from .audit import Decision, Record
from .errors import (
    ERROR_CLASSES,
    STATUS_CODES,
    AlreadyFreedError,
    BadSignatureError,
    CancelledError,
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
    TimeoutError as TimeoutError,  # exported, though not by `import *`
    UntrustedRootError,
    WouldBlockError,
    WrongHandleTypeError,
)

__all__ = [
    "__version__",
    "Registry",
    "NotifyReport",
    "Bus",
    "Bridge",
    "BridgeVerifier",
    "DurableImport",
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
    "ERROR_ON_FULL",
    "validate_topic",
    "validate_pattern",
    "topic_matches",
    "pattern_contains",
    "KeyPair",
    "PublicKey",
    "Grant",
    "Token",
    "Link",
    "Authority",
    "ManualClock",
    "Verified",
    "Session",
    "Client",
    "AuditLog",
    "AuditRecords",
    "Record",
    "Decision",
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
# charter.TimeoutError is left out of __all__, so that `from charter import
# *` does not shadow the built-in it subclasses.
