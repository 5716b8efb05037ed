"""pytest plugin entry point (``pytest11``: b24_conformance).

It only registers its command-line options; nothing runs unless the suite is asked for.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("b24-conformance", "Bitrix24 badge conformance suite")
    group.addoption(
        "--b24-profile",
        action="store",
        default="wire",
        choices=("docs", "wire"),
        help="contract profile used by the conformance checks (default: wire)",
    )
