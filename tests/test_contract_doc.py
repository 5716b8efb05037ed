"""Every citation of CONTRACT.md in the checkout points at a section or check the file has."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.common import ROOT
from tests.fixtures.contract_doc import (
    COLLECTORS,
    Citation,
    ContractFormatError,
    case_sections,
    parse_contract,
    python_sections,
    sections_cited_in,
)

CONTRACT = ROOT / "CONTRACT.md"
INDEX = parse_contract(CONTRACT.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", sorted(COLLECTORS))
def test_every_citation_resolves_in_the_root_contract(kind: str) -> None:
    citations = list(COLLECTORS[kind](ROOT))
    assert citations, f"{kind}: found no citation at all; the walker looks in the wrong place"
    dangling = [c.describe() for c in citations if not INDEX.resolves(c)]
    assert dangling == [], (
        f"{len(dangling)} citation(s) point at nothing in {CONTRACT.name}:\n  "
        + "\n  ".join(dangling)
        + f"\nsections there: {', '.join(sorted(INDEX.sections))}; checks 1-{max(INDEX.checks)}"
        + "\nreproduce: python -m pytest -q tests/test_contract_doc.py"
    )


def test_coverage_lists_exactly_the_documents_checks() -> None:
    catalogue = json.loads((ROOT / "schemas/catalogue/contract-checks.json").read_text("utf-8"))
    assert [c["number"] for c in catalogue["checks"]] == sorted(INDEX.checks)


def test_readme_links_the_contract() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "[CONTRACT.md](CONTRACT.md)" in readme


MINI_CONTRACT = """\
# A contract

## 1. Methods

### 1.1 add

## 2. Envelope

### 2.1 Success

## 5. Contradictions

1. the first
2. the second
   1. a nested list is not an item of section 5

## 6. Sources

### Server source

## Conformance checks to derive

1. add answers 200.
2. get answers 400.
"""


def test_parser_reads_headings_list_items_and_checks() -> None:
    index = parse_contract(MINI_CONTRACT)
    assert index.sections == {"1", "1.1", "2", "2.1", "5", "5.1", "5.2", "6"}
    assert index.checks == {1, 2}


@pytest.mark.parametrize(
    ("citation", "resolves"),
    [
        (Citation("x", "2.1"), True),
        (Citation("x", "5.2"), True),
        (Citation("x", "2.9"), False),
        (Citation("x", "5.3"), False),
        (Citation("x", "7"), False),
        (Citation("x", "2", "check"), True),
        (Citation("x", "3", "check"), False),
    ],
    ids=lambda value: value.describe() if isinstance(value, Citation) else str(value),
)
def test_resolver_tells_a_missing_target(citation: Citation, resolves: bool) -> None:
    assert parse_contract(MINI_CONTRACT).resolves(citation) is resolves


@pytest.mark.parametrize(
    ("broken", "complaint"),
    [
        (MINI_CONTRACT.replace("2. get answers", "3. get answers"), "numbered 3, expected 2"),
        (MINI_CONTRACT.replace("### 2.1 Success", "### 1.1 Success"), "section 1.1 repeats"),
        (MINI_CONTRACT.replace("2. the second", "4. the second"), "numbered 4, expected 2"),
    ],
    ids=["check gap", "repeated heading", "item gap"],
)
def test_parser_refuses_broken_numbering(broken: str, complaint: str) -> None:
    with pytest.raises(ContractFormatError, match=complaint):
        parse_contract(broken)


@pytest.mark.parametrize(
    ("text", "numbers"),
    [
        ("see CONTRACT.md section 2.1.", ["2.1"]),
        ("(CONTRACT.md 4)", ["4"]),
        ("CONTRACT.md sections 1, 2.4, 3.1 and 6 (source)", ["1", "2.4", "3.1", "6"]),
        ("CONTRACT.md sections 2.1-2.3 and 3.2: successes", ["2.1", "2.3", "3.2"]),
        ("CONTRACT.md 1.1 to 1.4: errors", ["1.1", "1.4"]),
        ("CONTRACT.md\n    section 4, so", ["4"]),
        ('f"CONTRACT.md section {violation.contract}"', []),
        ("the facts in CONTRACT.md: the file", []),
    ],
)
def test_text_citations_are_found(text: str, numbers: list[str]) -> None:
    assert sections_cited_in(text) == numbers


def test_a_planted_dangling_citation_is_reported(tmp_path: Path) -> None:
    cases = tmp_path / "conformance" / "cases"
    cases.mkdir(parents=True)
    (cases / "planted.yaml").write_text(
        "cases:\n  - id: get.planted\n    contract: ['2.1', '9.9']\n", encoding="utf-8"
    )
    (tmp_path / "conformance" / "planted.py").write_text(
        'MESSAGE = "see CONTRACT.md section 4.7"\nmake(contract=("1.1", "8"))\n', encoding="utf-8"
    )
    index = parse_contract(MINI_CONTRACT)
    found = [*case_sections(tmp_path), *python_sections(tmp_path)]
    dangling = [c.describe() for c in found if not index.resolves(c)]
    assert dangling == [
        "conformance/cases/planted.yaml: get.planted contract cites CONTRACT.md section 9.9",
        "conformance/planted.py:2 contract= cites CONTRACT.md section 8",
        "conformance/planted.py:1 cites CONTRACT.md section 4.7",
    ]
