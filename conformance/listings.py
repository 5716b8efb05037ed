"""What ``b24-conformance cases`` and ``coverage`` show, as data: the CLI only renders it."""

from __future__ import annotations

from typing import Any

from conformance import _data
from conformance.case import all_cases


def case_rows() -> list[dict[str, Any]]:
    """One row per catalogue case: id, level, source, modes, needs, contract, checks, text."""
    return [
        {
            "id": case.id,
            "level": case.level,
            "source": case.source,
            "modes": list(case.modes),
            "needs": sorted(case.needs),
            "contract": list(case.contract),
            # CONTRACT.md check numbers, as the case file's ``checks`` field names them
            "checks": list(case.contract_checks),
            "description": case.description,
        }
        for case in all_cases()
    ]


def coverage_rows() -> list[dict[str, Any]]:
    """One row per numbered CONTRACT.md check: its summary, who can observe it, its cases."""
    checks = _data.read_schema_file("catalogue/contract-checks.json")["checks"]
    by_check: dict[int, list[str]] = {c["number"]: [] for c in checks}
    for case in all_cases():
        for number in case.contract_checks:
            by_check.setdefault(number, []).append(case.id)
    return [
        {
            "number": c["number"],
            "summary": c["summary"],
            "observable_by": c["observable_by"],
            "cases": by_check[c["number"]],
        }
        for c in checks
    ]
