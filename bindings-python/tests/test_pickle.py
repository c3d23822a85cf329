"""Value types pickle (for multiprocessing, caches) and compare equal to
their copies."""

from __future__ import annotations

import copy
import pickle

import pytest

import charter

KEY = charter.KeyPair.generate()
VALUES = [
    KEY.public_key,
    charter.Grant("publish orders.*"),
    charter.Token.mint(KEY, KEY.public_key, ["publish a"], 1, 2),
    charter.NotifyReport(1, 2, 3),
    charter.PublishReport(3, 2, 1),
]


@pytest.mark.parametrize("value", VALUES, ids=[type(v).__name__ for v in VALUES])
def test_value_types_pickle_and_compare(value: object) -> None:
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        back = pickle.loads(pickle.dumps(value, protocol))
        assert type(back) is type(value) and back == value
        assert hash(back) == hash(value)
    assert copy.copy(value) == value and copy.deepcopy(value) == value
