"""Audit records: :class:`Record` and :class:`Decision`.

The log itself (:class:`charter.AuditLog`), its reports and the standalone
verifiers are in the native module and re-exported by :mod:`charter`.
"""

from __future__ import annotations

import enum
import time as _time
from datetime import datetime
from dataclasses import dataclass
from typing import Literal, Optional, Union

from ._native import _encode_record, _record_millis

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


@dataclass(frozen=True, init=False)
class Record:
    """One audited event: who (``actor``, a principal id, if known) asked
    for ``action`` on ``resource``, and what was decided.

    ``reason`` is a status code (``0`` for success, else a code from
    :data:`charter.STATUS_CODES`), ``detail`` free text, ``time`` Unix
    milliseconds (now, by default); an aware ``datetime`` is taken too and
    stored as its milliseconds (a naive one is refused). ``actor_unproven`` is true when the
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
    actor: Optional[str]
    reason: int
    detail: str
    time: int
    actor_unproven: bool

    def __init__(
        self,
        action: str,
        resource: str,
        decision: Union[Decision, Literal["allow", "deny", "error"]],
        actor: Optional[str] = None,
        reason: int = 0,
        detail: str = "",
        time: Union[int, datetime, None] = None,
        actor_unproven: bool = False,
    ) -> None:
        millis = _now_ms() if time is None else _record_millis(time) if isinstance(time, datetime) else time
        for name, value in (
            ("action", action),
            ("resource", resource),
            ("decision", Decision(decision)),
            ("actor", actor),
            ("reason", reason),
            ("detail", detail),
            ("time", millis),
            ("actor_unproven", actor_unproven),
        ):
            object.__setattr__(self, name, value)

    def encode(self, index: int) -> bytes:
        """The canonical encoding of this record stored at ``index``: the
        Merkle leaf, whose :func:`charter.leaf_hash` proofs are about."""
        return _encode_record(self, index)
