"""report.md a person acts on: the verdict and counts first, one section per failed check,
skips by reason, each rerun once; checked on every miniature and on the reference client."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from conformance.case import Expectation, case_by_id
from conformance.checks import CHECKS
from conformance.config import build_config
from conformance.findings import ERRORED, findings, fixes
from conformance.modes import OFFLINE_MODES
from conformance.properties import PROPERTIES
from conformance.report_md import render_markdown
from conformance.reports import report_document
from conformance.session import RunSession
from tests.test_miniatures import DEADLINE, TABLE

HEAD = 40


def _first_mode(case_id: str) -> str:
    return next(mode for mode in OFFLINE_MODES if mode in case_by_id(case_id).modes)


def _document(client: str, items: Iterable[str], mode: str | None = None) -> dict[str, Any]:
    """The report.json document of a run of ``items`` (each in its first offline mode)."""
    session = RunSession(build_config({"client": client, "deadline": DEADLINE, "mode": ["stub"]}))
    session.prepare()
    for item in dict.fromkeys(items):
        session.run(item, mode or _first_mode(item))
    return report_document(session)


def _where(text: str) -> str:
    return "\n".join(f"{number:3} {line}" for number, line in enumerate(text.splitlines(), 1))


@pytest.mark.parametrize("row", [row for row in TABLE if not row.gap], ids=lambda row: row.name)
def test_the_head_of_report_md_names_the_check_a_miniature_breaks(row: Any) -> None:
    document = _document(f"miniature:{row.name}", [*row.caught, *row.passes])
    text = render_markdown(document)
    head = "\n".join(text.splitlines()[:HEAD])
    verdict = head.splitlines()[2]
    assert verdict.startswith(("**NOT CONFORMANT", "**CONFORMANT at level must, with")), verdict
    for check in {check or ERRORED for check in row.caught.values()}:
        assert f"[{check}](#" in head, (
            f"expected check {check!r} in the first {HEAD} lines of report.md of miniature "
            f"{row.name}; rerun: python -m pytest tests/test_report_md.py -k {row.name}\n"
            + _where(head)
        )
        assert f"## {check}: " in text, f"expected a section for {check!r}\n{_where(text)}"


def test_a_conformant_report_says_so_and_lists_no_check() -> None:
    document = _document("reference", ["get.success", "get.not-found", "auth.oauth-get-success"])
    text = render_markdown(document)
    assert text.splitlines()[2].startswith("**CONFORMANT"), _where(text)
    assert "None: no case failed or errored." in text
    assert "## Rerun" not in text


def test_every_failing_run_is_rerun_once_and_a_property_with_its_seed() -> None:
    document = _document(
        "miniature:loses-error-code",
        ["get.not-found", "add.duplicate-code", "property.error-mapping"],
        mode="stub",
    )
    text = render_markdown(document)
    failing = [c for c in document["cases"] if c["outcome"] in ("failed", "errored")]
    assert {c["id"] for c in failing} >= {"get.not-found", "property.error-mapping"}
    for entry in failing:
        assert text.count(entry["rerun"]) == 1, f"{entry['rerun']!r} in\n{_where(text)}"
    prop = next(c for c in failing if c["id"] == "property.error-mapping")
    assert "--seed " in prop["rerun"]
    assert "seed None" not in text


def test_skips_are_grouped_by_reason() -> None:
    document = _document("tests.fixtures.adapters:without_status", ["get.not-found"])
    skipped = [c for c in document["cases"] if c["outcome"] == "skipped"]
    text = render_markdown(document)
    section = text[text.index("## Skipped") :]
    for entry in skipped:
        assert entry["message"].replace("|", "\\|") in section
        assert entry["id"] in section
    assert "None." in section or skipped


def test_one_section_per_check_with_one_complete_example() -> None:
    document = _document(
        "miniature:loses-error-code", ["get.not-found", "add.duplicate-code", "get.success"]
    )
    text = render_markdown(document)
    (finding,) = findings(document)
    assert finding.check == "outcome.code"
    assert finding.case_ids == ["get.not-found", "add.duplicate-code"]
    assert text.count("## outcome.code: 2 case(s)") == 1
    assert text.count("### Example: ") == 1
    for part in ("expected: ", "actual:   ", "where:    ", "curl -X POST", fixes()["outcome.code"]):
        assert part in text, f"expected {part!r} in\n{_where(text)}"
    assert CHECKS["outcome.code"].description in text


@pytest.mark.parametrize("check", sorted({*CHECKS, *PROPERTIES, ERRORED, "baseline"}))
def test_every_check_says_how_to_fix_a_client(check: str) -> None:
    assert len(fixes().get(check, "")) > 40, f"expected a fix for {check!r} in checks/fixes.yaml"


def test_fixes_name_only_checks_that_exist() -> None:
    assert set(fixes()) <= {*CHECKS, *PROPERTIES, ERRORED, "baseline"}


def test_a_long_expected_value_is_cut_with_an_ellipsis() -> None:
    long_title = "x" * 500
    shown = Expectation("success", result={"title": long_title}).describe()
    assert "..." in shown
    assert long_title not in shown
    assert len(shown) < 200
