"""`b24-conformance validate`: exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fixtures.common import cli

DOCS = Path(__file__).parent / "data" / "doc-examples"
GET = "crm.activity.badge.get"
BAD = {"result": {"badge": {"code": "x", "title": ["T"], "value": "V", "type": "danger"}}}


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = cli(["validate", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_valid_file_exits_0() -> None:
    code, out, _ = _run(GET, str(DOCS / "get.success.json"))
    assert code == 0
    assert "valid crm.activity.badge.get success envelope under profile wire" in out


def test_error_envelope_is_recognised_from_stdin() -> None:
    code, out, _ = _run(GET, "-", "--status", "400", stdin=(DOCS / "get.error.json").read_text())
    assert code == 0
    assert out.startswith("stdin: valid crm.activity.badge.get error envelope (HTTP 400)")


def test_invalid_body_exits_1_and_lists_every_violation() -> None:
    code, out, _ = _run(GET, "-", stdin=json.dumps(BAD))
    assert code == 1
    assert "3 violations" in out
    for expected in (
        "$.time: required property is missing",
        "$.result.badge.title: value matches none of the allowed forms",
        "$.result.badge.type: value is not allowed",
        'got:      "danger"',
        "schema:   wire/badge.json#/$defs/type/enum (enum); CONTRACT.md section 1.1",
    ):
        assert expected in out


def test_json_format_is_machine_readable() -> None:
    code, out, _ = _run(GET, "-", "--format", "json", stdin=json.dumps(BAD))
    assert code == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert report["profile"] == "wire"
    type_violation = next(v for v in report["violations"] if v["path"] == "$.result.badge.type")
    assert type_violation == {
        "path": "$.result.badge.type",
        "problem": "value is not allowed",
        "expected": "one of the five badge types, case-sensitive",
        "actual": '"danger"',
        "keyword": "enum",
        "schema_location": "wire/badge.json#/$defs/type/enum",
        "contract": "1.1",
    }


def test_profile_option_switches_the_contract() -> None:
    list_with_total = (
        Path(__file__).parent / "data" / "doc-examples-later" / "list.success.json"
    ).read_text()
    assert _run("crm.activity.badge.list", "-", stdin=list_with_total)[0] == 0
    code, out, _ = _run("crm.activity.badge.list", "-", "--profile", "docs", stdin=list_with_total)
    assert code == 0, "the newest docs revision documents total"
    assert "under profile docs at docs revision 69e29cb8" in out
    older = ("--profile", "docs", "--docs-revision", "5988ed13")
    code, out, _ = _run("crm.activity.badge.list", "-", *older, stdin=list_with_total)
    assert code == 1
    assert "$.total: property is not allowed here" in out


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--profile", "docs", "--docs-revision", "deadbeef"),
            "--docs-revision 'deadbeef' is not kept: expected one of 5988ed13 (older), "
            "69e29cb8 (newest, the default)",
        ),
        (("--docs-revision", "5988ed13"), "applies to --profile docs, not wire"),
    ],
)
def test_a_docs_revision_that_cannot_apply_is_a_usage_error(
    options: tuple[str, ...], message: str
) -> None:
    code, _, err = _run(GET, str(DOCS / "get.success.json"), *options)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("revision", "code"),
    [("5988ed13", 1), ("69e29cb8", 0)],
)
def test_status_checks_follow_the_docs_revision(revision: str, code: int) -> None:
    # 05e4d575's system-errors table gives PORTAL_DELETED 403 (the older one 500).
    body = json.dumps({"error": "PORTAL_DELETED", "error_description": "Portal was deleted"})
    options = ("--profile", "docs", "--docs-revision", revision, "--status", "403")
    assert _run(GET, "-", *options, stdin=body)[0] == code


def test_method_name_is_case_insensitive() -> None:
    assert _run("CRM.Activity.Badge.Get", str(DOCS / "get.success.json"))[0] == 0


def test_status_mismatch_exits_1() -> None:
    code, out, _ = _run(GET, str(DOCS / "get.error.json"), "--status", "404")
    assert code == 1
    assert "expected: HTTP 400" in out


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (
            ("crm.activity.badge.update", "-"),
            "{}",
            "unknown method 'crm.activity.badge.update': expected one of",
        ),
        ((GET, "/nonexistent/body.json"), None, "cannot read /nonexistent/body.json"),
        ((GET, "-"), "<html>502 Bad Gateway</html>", "stdin is not JSON"),
        ((GET, "-"), '{"result": NaN}', "stdin is not JSON: NaN is not JSON"),
        ((GET, "-"), "", "stdin: empty input, there is no body to validate"),
        ((GET, "-"), "\n  \n", "stdin: empty input, there is no body to validate"),
        ((GET, "-", "--profile", "strict"), "{}", "Invalid value for '--profile'"),
        ((GET, "-", "--status", "999"), "{}", "Invalid value for '--status'"),
    ],
)
def test_usage_errors_exit_2_with_one_clear_line(
    args: tuple[str, ...], stdin: str | None, message: str
) -> None:
    code, out, err = _run(*args, stdin=stdin)
    assert code == 2
    assert out == ""
    assert message in err


def test_our_usage_errors_are_one_line() -> None:
    _, _, err = _run("nope", "-", stdin="{}")
    assert err.count("\n") == 1
    assert err.startswith("Error: unknown method 'nope'")


def test_non_utf8_input_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.json"
    path.write_bytes('{"error": "d\xe9j\xe0"}'.encode("latin-1"))
    code, _, err = _run(GET, str(path))
    assert code == 2
    assert "is not JSON: it is not UTF-8 text" in err


def test_an_empty_file_says_so_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "body.json"
    path.write_bytes(b"")
    code, out, err = _run(GET, str(path))
    assert code == 2
    assert out == ""
    assert err == f"Error: {path}: empty file, there is no body to validate\n"


UNCATALOGUED = {"error": "SOMETHING_NEW", "error_description": "a code nobody wrote down"}
NOTE = (
    'note: error code "SOMETHING_NEW" is not in the error catalogue '
    "(schemas/catalogue/errors.json): its statuses, methods and retry rule are unknown here"
)


@pytest.mark.parametrize(
    ("body", "noted"),
    [
        (UNCATALOGUED, True),
        ({"error": 4711, "error_description": "x"}, True),
        ({"error": "NOT_FOUND", "error_description": "Not found."}, False),
        ({"error": "100", "error_description": "x"}, False),  # catalogued as the number 100
        ({"error": "", "error_description": "x"}, True),  # seen on the wire, not catalogued
        ({"result": True, "time": {}}, False),
    ],
    ids=["unknown string", "unknown number", "catalogued", "number as string", "empty", "success"],
)
def test_a_code_missing_from_the_catalogue_gets_a_note(body: object, noted: bool) -> None:
    _, out, _ = _run(GET, "-", stdin=json.dumps(body))
    assert ("is not in the error catalogue" in out) is noted, out
    _, out, _ = _run(GET, "-", "--format", "json", stdin=json.dumps(body))
    notes = json.loads(out)["notes"]
    assert [n["kind"] for n in notes] == (["code-not-in-catalogue"] if noted else [])


def test_the_note_leaves_the_verdict_alone() -> None:
    code, out, _ = _run(GET, "-", "--status", "400", stdin=json.dumps(UNCATALOGUED))
    assert code == 0
    assert out.splitlines() == [
        "stdin: valid crm.activity.badge.get error envelope (HTTP 400) under profile wire",
        NOTE,
    ]
    code, out, _ = _run(GET, "-", "--format", "json", stdin=json.dumps(UNCATALOGUED))
    assert code == 0
    assert json.loads(out)["notes"] == [
        {
            "kind": "code-not-in-catalogue",
            "code": "SOMETHING_NEW",
            "text": NOTE.removeprefix("note: "),
        }
    ]
