"""Shared fixtures for the binding's tests."""

from __future__ import annotations

from typing import Iterator

import pytest

import charter


@pytest.fixture
def registry() -> Iterator[charter.Registry]:
    """A fresh registry, closed after the test."""
    with charter.Registry() as reg:
        yield reg


@pytest.fixture
def bus() -> Iterator[charter.Bus]:
    """A fresh bus, closed after the test."""
    with charter.Bus() as b:
        yield b
