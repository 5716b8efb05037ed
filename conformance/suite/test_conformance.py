"""One test per case and mode; the plugin parametrizes it and runs the case in setup."""

from __future__ import annotations

import pytest

from conformance.results import CaseResult


def test_case(b24_result: CaseResult) -> None:
    """The client conforms to the case (see the case description in the report)."""
    if b24_result.outcome == "skipped":
        pytest.skip(b24_result.message)
    if b24_result.outcome == "xfailed":
        pytest.xfail(b24_result.message)
    if b24_result.outcome == "failed":
        if b24_result.level != "must":
            # Reported, and fails the run only under --strict (the exit code says which).
            pytest.fail(f"{b24_result.level} shortfall: {b24_result.message}", pytrace=False)
        pytest.fail(b24_result.message, pytrace=False)
