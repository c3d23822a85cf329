"""Overflow policies are values: `Block` is a class (an `Overflow`) with a
timeout, a repr, equality and pickling, as are the constants."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta

import pytest

import charter
from charter import DROP_NEWEST, DROP_OLDEST, ERROR_ON_FULL, Block, Overflow


def test_block_is_a_type_with_a_timeout() -> None:
    block = Block(timedelta(milliseconds=1500))
    assert isinstance(Block, type) and issubclass(Block, Overflow)
    assert isinstance(block, Block) and isinstance(block, Overflow)
    assert block.policy == "block" and block.timeout == 1.5
    assert repr(block) == "charter.Block(1.5)"
    assert block == Block(1.5) and hash(block) == hash(Block(1.5))
    assert block != Block(2) and block != DROP_OLDEST
    assert Block(float("inf")).timeout == float("inf")
    with pytest.raises(charter.InvalidArgumentError, match="Block timeout"):
        Block(-1)
    with pytest.raises(TypeError):
        Block("1")  # type: ignore[arg-type]


@pytest.mark.parametrize("policy", [Block(0.25), DROP_OLDEST, DROP_NEWEST, ERROR_ON_FULL], ids=repr)
def test_policies_pickle_and_copy(policy: Overflow) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(policy, protocol))
        assert type(back) is type(policy) and back == policy
    assert copy.copy(policy) == policy and copy.deepcopy(policy) == policy
    if not isinstance(policy, Block):
        assert pickle.loads(pickle.dumps(policy)) is policy


def test_a_block_instance_is_a_subscription_policy(bus: charter.Bus) -> None:
    sub = bus.subscribe("t", capacity=1, overflow=Block(timedelta(milliseconds=1)))
    bus.publish("t", b"1")
    with pytest.raises(charter.TimeoutError):
        bus.publish("t", b"2")
    assert sub.stats().dropped.timeout == 1
