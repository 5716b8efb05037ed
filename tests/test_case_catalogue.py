"""The case catalogue as data: well-formed, complete for CONTRACT.md, its cassettes fresh and clean."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conformance import _data, cassettes, error_catalogue
from conformance.case import CaseFormatError, all_cases, load_case_file
from conformance.engine import case_deadline
from conformance.results import DEFAULT_DEADLINE
from conformance.validation import classify_envelope, validate_response

CASES = all_cases()

# Bodies that break the wire schema on purpose, and why.
# Cases say themselves why their answers break the wire schema (``off_schema``).
DELIBERATELY_OFF_SCHEMA = {case.id: case.off_schema for case in all_cases() if case.off_schema}
# Codes no single-method case can script: they live inside batch answers.
BATCH_ONLY_CODES = {"ERROR_BATCH_METHOD_NOT_ALLOWED", "ERROR_BATCH_LENGTH_EXCEEDED"}


def test_case_ids_and_descriptions_are_unique() -> None:
    ids = [c.id for c in CASES]
    descriptions = [c.description for c in CASES]
    assert len(ids) == len(set(ids))
    duplicates = {d for d in descriptions if descriptions.count(d) > 1}
    assert not duplicates


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_description_states_a_fact(case: object) -> None:
    description = case.description  # type: ignore[attr-defined]
    assert not re.search(r"(?i)\b(should|test that|must)\b", description)
    assert description[0].islower() or description[0].isdigit() or description.split()[0].isupper()


def descriptions_cut_by_comments(text: str, where: str) -> list[str]:
    """Plain (unquoted) descriptions that a `` #`` on their line turned into a comment."""
    lines = text.splitlines()
    cut = []
    for node in yaml.compose_all(text):
        stack = [node]
        while stack:
            current = stack.pop()
            if isinstance(current, yaml.MappingNode):
                for key, value in current.value:
                    if key.value == "description" and isinstance(value, yaml.ScalarNode):
                        rest = lines[value.end_mark.line][value.end_mark.column :]
                        if value.style is None and rest.lstrip().startswith("#"):
                            line = value.start_mark.line + 1
                            cut.append(
                                f"{where}:{line}: description loads as {value.value!r} but the "
                                f"line goes on with {rest.strip()!r}; quote the description"
                            )
                    stack.append(value)
            elif isinstance(current, yaml.SequenceNode):
                stack.extend(current.value)
    return cut


CASE_FILES = sorted(_data.cases_dir().rglob("*.yaml"))


@pytest.mark.parametrize("path", CASE_FILES, ids=lambda p: p.name)
def test_no_description_is_cut_by_a_yaml_comment(path: Path) -> None:
    assert descriptions_cut_by_comments(path.read_text(encoding="utf-8"), path.name) == []


def test_the_cut_description_lint_catches_an_unquoted_hash() -> None:
    text = (
        "description: file level\ncases:\n  - id: get.hash\n"
        "    description: a code with & + # % reaches the portal\n"
        '  - id: get.quoted\n    description: "a code with & + # % reaches it"  # fine\n'
    )
    assert descriptions_cut_by_comments(text, "planted.yaml") == [
        "planted.yaml:4: description loads as 'a code with & +' but the line goes on with "
        "'# % reaches the portal'; quote the description"
    ]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_scripted_envelopes_validate_under_wire(case: object) -> None:
    for step in case.steps:  # type: ignore[attr-defined]
        for response in step.responses:
            if not response.has_body or classify_envelope(response.body) not in (
                "success",
                "error",
            ):
                continue
            if case.uses_clock or case.id in DELIBERATELY_OFF_SCHEMA:  # type: ignore[attr-defined]
                continue
            result = validate_response(step.method, response.body, status=response.status)
            assert result.valid, [v.as_dict() for v in result.violations]


def test_deliberately_off_schema_bodies_are_still_off_schema() -> None:
    for case_id in DELIBERATELY_OFF_SCHEMA:
        case = next(c for c in CASES if c.id == case_id)
        bodies = [(s.method, r) for s in case.steps for r in s.responses if r.has_body]
        assert any(not validate_response(m, r.body, status=r.status).valid for m, r in bodies), (
            case_id
        )


def test_every_catalogued_error_code_has_a_case() -> None:
    scripted = {
        str(r.body["error"])
        for c in CASES
        for s in c.steps
        for r in s.responses
        if r.has_body and isinstance(r.body, dict) and "error" in r.body
    }
    missing = {str(e.code) for e in error_catalogue.error_catalogue()} - scripted - BATCH_ONLY_CODES
    assert not missing


@pytest.mark.parametrize(
    "required",
    [
        "get.success", "get.success-language-map", "get.not-found", "get.missing-code-100",
        "get.code-100-string", "get.hostile-code", "get.escaped-unicode", "add.success",
        "add.success-language-map", "add.unknown-language-0", "add.error-0-string",
        "add.wrong-type-value", "add.duplicate-code", "add.access-denied",
        "list.success-with-total", "list.empty", "list.many-badges", "delete.success",
        "delete.not-found", "delete.entity-with-badge-exists", "system.empty-error-code",
        "system.error-with-200", "system.overload-limit-503", "system.query-limit-exceeded-503",
        "transport.html-502", "transport.empty-body-200", "transport.timeout",
        "transport.redirect-302", "transport.not-an-envelope", "retry.query-limit-then-success",
        "retry.query-limit-exhausted", "retry.overload-limit-not-retried",
        "retry.operating-limit-waits-for-reset", "auth.oauth-get-success", "auth.expired-token",
    ],
)  # fmt: skip
def test_the_catalogue_covers_what_the_issue_lists(required: str) -> None:
    assert required in {c.id for c in CASES}


def test_client_observable_contract_checks_have_cases() -> None:
    from conformance import _data

    checks = _data.read_schema_file("catalogue/contract-checks.json")["checks"]
    covered = {n for c in CASES for n in c.contract_checks}
    uncovered = [
        c["number"]
        for c in checks
        if c["observable_by"] in ("client", "both") and c["number"] not in covered
    ]
    assert uncovered == []


def test_cassettes_are_generated_and_fresh() -> None:
    changes = cassettes.generate(check_only=True)
    assert [c.path.name for c in changes if c.change != "unchanged"] == []
    assert len(changes) == len([c for c in CASES if "replay" in c.modes])


def test_cassettes_lint_clean() -> None:
    assert list(cassettes.lint()) == []


def test_cassette_lint_catches_a_planted_secret_and_a_bad_body(tmp_path: object) -> None:
    from pathlib import Path

    source = cassettes.cassette_path("get.success").read_text()
    planted = Path(str(tmp_path)) / "planted.yaml"
    planted.write_text(
        source.replace("WEBHOOK_SECRET", "0a1b2c3d4e5f6a7b").replace("failure", "danger")
    )
    problems = [p.problem for p in cassettes.lint([planted], secrets=("0a1b2c3d4e5f6a7b",))]
    assert any("looks like it holds a secret" in p for p in problems)
    assert any("planted secret value" in p for p in problems)
    assert any("$.result.badge.type" in p for p in problems)


def test_a_case_file_that_breaks_the_format_names_the_place(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "broken.yaml"
    path.write_text(
        "cases:\n  - id: get.x\n    description: a badge test that should pass\n    level: must\n"
        "    source: docs\n    contract: ['1.2']\n    request: {method: crm.activity.badge.get, params: {}}\n"
        "    response: {status: 200, body: {result: true}}\n"
    )
    with pytest.raises(CaseFormatError, match=r"broken.yaml: \$\.cases\[0\]\.description"):
        load_case_file(path)


def test_replay_cases_cannot_use_the_clock(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "clock.yaml"
    path.write_text(
        "cases:\n  - id: get.clock\n    description: a clock-bound answer in replay\n    level: must\n"
        "    source: docs\n    contract: ['1.2']\n    request: {method: crm.activity.badge.get, params: {}}\n"
        "    response: {status: 200, body: {result: true, time: {operating_reset_at: {$now: 1}}}}\n"
    )
    with pytest.raises(CaseFormatError, match="list its modes without replay"):
        load_case_file(path)


@pytest.mark.parametrize(
    ("case_id", "allowance"),
    [
        # the reset stamp it serves has passed: a wait of up to a basket is the client's choice
        ("retry.operating-limit-reset-passed", 60.0),
        # operating_reset_at {$now: 2}: the announced wait
        ("retry.operating-limit-waits-for-reset", 2.0),
        ("get.success", 0.0),
    ],
)
def test_a_case_deadline_allows_the_wait_the_contract_allows(
    case_id: str, allowance: float
) -> None:
    case = next(case for case in all_cases() if case.id == case_id)
    assert case_deadline(case) == DEFAULT_DEADLINE + allowance
