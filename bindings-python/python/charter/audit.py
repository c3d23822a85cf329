"""Audit records: :class:`Record` and :class:`Decision`.

The log itself (:class:`charter.AuditLog`), its reports and the standalone
verifiers are in the native module and re-exported by :mod:`charter`.
"""

from __future__ import annotations

import enum
import time as _time
from dataclasses import dataclass, field
from typing import Optional

from ._native import _encode_record

__all__ = ["Decision", "Record"]


class Decision(str, enum.Enum):
    """What an audited operation came to; equal to its name as a string."""

    ALLOW = "allow"
    DENY = "deny"
    ERROR = "error"

    def __str__(self) -> str:
        return self.value


def _now_ms() -> int:
    return _time.time_ns() // 1_000_000


@dataclass(frozen=True)
class Record:
    """One audited event: who (``actor``, a principal id, if known) asked
    for ``action`` on ``resource``, and what was decided.

    ``reason`` is a status code (``0`` for success, else a code from
    :data:`charter.STATUS_CODES`), ``detail`` free text, ``time`` Unix
    milliseconds (now, by default). ``actor_unproven`` is true when the
    actor was only claimed, never proven (such as the subject of a token
    whose session was refused before its holder proved possession of the
    key): read it as "someone named this principal", not "this principal
    acted". It cannot be set without an actor. ``decision`` may be given as
    ``"allow"``, ``"deny"`` or ``"error"``; it is stored as a
    :class:`Decision`. Limits (action 1 to 64 bytes, resource and detail up
    to 1024) are checked when the record is appended.
    """

    action: str
    resource: str
    decision: Decision
    actor: Optional[str] = None
    reason: int = 0
    detail: str = ""
    time: int = field(default_factory=_now_ms)
    actor_unproven: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "decision", Decision(self.decision))

    def encode(self, index: int) -> bytes:
        """The canonical encoding of this record stored at ``index``: the
        Merkle leaf, whose :func:`charter.leaf_hash` proofs are about."""
        return _encode_record(self, index)
