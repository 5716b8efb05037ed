"""captured_logs sets the loggers' levels for a case and puts them back, caches included."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from conformance._capture import HTTP_STACK_LOGGERS, TRANSPORT_LOGGERS, captured_logs


@pytest.fixture
def root_at_warning() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.WARNING)
    try:
        yield root
    finally:
        root.setLevel(before)


def test_levels_hold_inside_and_are_restored_after(root_at_warning: logging.Logger) -> None:
    client = logging.getLogger("some.client")
    quiet = [logging.getLogger(name) for name in (*HTTP_STACK_LOGGERS, *TRANSPORT_LOGGERS)]
    before = {logger.name: logger.level for logger in quiet}
    assert not client.isEnabledFor(logging.DEBUG)  # cached now: the restore must empty it
    with captured_logs() as records:
        assert client.isEnabledFor(logging.DEBUG), "a client's DEBUG records are captured"
        for logger in quiet:
            assert not logger.isEnabledFor(logging.DEBUG), f"{logger.name} DEBUG is made"
            assert logger.isEnabledFor(logging.WARNING), f"{logger.name} WARNING is dropped"
        client.debug("seen")
        logging.getLogger("urllib3").debug("not even made")
    assert [record.getMessage() for record in records] == ["seen"]
    assert not client.isEnabledFor(logging.DEBUG), "a level cache outlived the case"
    assert root_at_warning.level == logging.WARNING
    assert {logger.name: logger.level for logger in quiet} == before
