"""`validate` and `validate_response` never raise on hostile input: one line, exit 2, or one
clear TypeError; unprintable values print escaped."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.validation import MAX_BODY_DEPTH, BodyRejected, validate_response

GET = "crm.activity.badge.get"


def _nested(depth: int) -> str:
    return '{"result":' * (depth - 1) + "1" + "}" * (depth - 1)


# input text -> what the one usage line says
HOSTILE_TEXTS = {
    '{"error":"E","error_description":["\\ud800"]}': "lone surrogate (0xd800)",
    '{"error":"\\udfff"}': "$.error: the string holds a lone surrogate",
    '{"\\ud800":1}': "a key holds a lone surrogate",
    # json's parser refuses the deepest, body_problem the rest: which one depends on the stack.
    "[" * 5000 + "]" * 5000: f"nested deeper than {MAX_BODY_DEPTH} levels",
    _nested(990): f"nested deeper than {MAX_BODY_DEPTH} levels",
    _nested(MAX_BODY_DEPTH + 1): f"nested deeper than {MAX_BODY_DEPTH} levels",
    "1" * 5000: "is not JSON",
    '{"result": NaN}': "is not JSON",
}


@pytest.mark.parametrize(
    ("text", "says"), list(HOSTILE_TEXTS.items()), ids=range(len(HOSTILE_TEXTS))
)
def test_a_body_that_cannot_be_checked_is_one_usage_line(text: str, says: str) -> None:
    result = CliRunner().invoke(main, ["validate", GET, "-"], input=text.encode("utf-8"))
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0], lines[0]


def test_the_deepest_accepted_body_is_judged() -> None:
    result = CliRunner().invoke(main, ["validate", GET, "-"], input=_nested(MAX_BODY_DEPTH))
    assert result.exit_code == 1, result.output
    assert "violation" in result.stdout


UNPRINTABLE = '{"error":"E\\u001b[31m\\u202e\\u0000","error_description":["\\r\\nFAKE: valid", 5]}'


@pytest.mark.parametrize("output_format", ["text", "json"])
def test_unprintable_values_print_escaped(output_format: str) -> None:
    result = CliRunner().invoke(
        main, ["validate", GET, "-", "--format", output_format], input=UNPRINTABLE
    )
    assert result.exit_code == 1, result.output
    shown = [c for c in result.stdout.replace("\n", "") if not c.isprintable()]
    assert shown == [], f"unescaped characters in the output: {shown!r}"
    if output_format == "text":
        assert not any(line.startswith("FAKE") for line in result.stdout.splitlines())
        assert "\\x1b" in result.stdout or "\\u001b" in result.stdout


class _Custom:
    pass


# body -> what the TypeError says
NOT_JSON = {
    "a set": ({"result": {1, 2}}, "$.result: a set is not a JSON value"),
    "an object": (_Custom(), "$: a _Custom is not a JSON value"),
    "a bytes": ({"error": b"E"}, "$.error: a bytes is not a JSON value"),
    "a tuple": ({"result": (1,)}, "$.result: a tuple is not a JSON value"),
    "an int key": ({1: "x"}, "$: key 1 is a int, not a string"),
    "a surrogate": ({"error": "\udc80"}, "lone surrogate (0xdc80)"),
    "a huge int": ({"result": 10**10000}, "an integer of about"),
    "too deep": (json.loads(_nested(MAX_BODY_DEPTH + 1)), "nested deeper than"),
}


@pytest.mark.parametrize(("body", "says"), list(NOT_JSON.values()), ids=list(NOT_JSON))
def test_the_python_api_rejects_what_is_not_json_with_one_type_error(
    body: object, says: str
) -> None:
    with pytest.raises(BodyRejected, match=r"^body: ") as raised:
        validate_response(GET, body)
    assert isinstance(raised.value, TypeError)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"status": "200"}, "status: expected an int or None, got a str"),
        ({"status": True}, "status: expected an int or None, got a bool"),
        ({"profile": "strict"}, "profile: expected one of"),
    ],
)
def test_the_python_api_rejects_wrong_options_with_a_type_error(
    options: dict[str, object], says: str
) -> None:
    with pytest.raises(BodyRejected, match=says):
        validate_response(GET, {"result": True}, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_are_judged_not_rejected(number: float) -> None:
    result = validate_response(GET, {"result": {"badge": number}, "time": {"start": number}})
    assert not result.valid


def test_a_method_that_is_not_a_string_is_a_type_error() -> None:
    with pytest.raises(BodyRejected, match="method: expected a str, got a int"):
        validate_response(5, {"result": True})  # type: ignore[arg-type]
