"""The backend raises its open-file limit towards what WS_MAX_CLIENTS connections need."""

from __future__ import annotations

import logging
import resource
from collections.abc import Iterator

import pytest

from backend.main import OPEN_FILES_BESIDES_CLIENTS, raise_open_file_limit


@pytest.fixture
def low_soft_limit() -> Iterator[tuple[int, int]]:
    """A soft limit of 256 for the test (lowering it is always allowed), the old one restored after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    yield 256, hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_soft_limit_is_raised_for_the_clients(low_soft_limit: tuple[int, int]) -> None:
    _, hard = low_soft_limit
    wanted = 1000 + OPEN_FILES_BESIDES_CLIENTS
    expected = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    assert raise_open_file_limit(1000) == expected
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (expected, hard)


def test_a_hard_limit_below_the_clients_is_said(
    low_soft_limit: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    _, hard = low_soft_limit
    if hard == resource.RLIM_INFINITY:
        pytest.skip("no hard limit on open files here")
    with caplog.at_level(logging.WARNING, logger="dashboard"):
        assert raise_open_file_limit(hard) == hard  # the clients and the rest do not fit under it
    assert f"open files are limited to {hard}: fewer than WS_MAX_CLIENTS ({hard}) connections fit" in caplog.text
