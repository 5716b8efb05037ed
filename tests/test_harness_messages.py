"""The harness protocol's messages decoded through schemas/harness/: what the lenient default
forgives (each tolerance in messages.LENIENT), what it refuses, and what only validation holds."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import schemas
from conformance.api import ApiError, Success, TransportFailure
from conformance.harness import PROTOCOL_VERSION, messages

SUCCESS: dict[str, Any] = {
    "type": "outcome",
    "seq": 1,
    "outcome": "success",
    "result": {"badges": []},
    "time": None,
    "total": 0,
}
API_ERROR: dict[str, Any] = {
    "type": "outcome",
    "seq": 1,
    "outcome": "api-error",
    "code": "NOT_FOUND",
    "description": None,
    "status": 400,
}
FAILURE: dict[str, Any] = {
    "type": "outcome",
    "seq": 1,
    "outcome": "transport-failure",
    "kind": "non-json",
    "detail": "HTML",
    "status": 502,
}
STARTED: dict[str, Any] = {
    "type": "started",
    "protocol": 1,
    "name": "scripted",
    "version": "1.0",
    "language": "python",
    "capabilities": ["status"],
}
CRASH: dict[str, Any] = {"type": "crash", "seq": 1, "error": "TypeError: boom", "traceback": None}


def _without(message: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != key}


# (tolerance keyword, tolerance field, a message breaking its schema only that way, the decoded)
# fmt: off
FORGIVEN: list[tuple[str, str | None, dict[str, Any], object]] = [
    ("additionalProperties", None, {**SUCCESS, "note": "x"}, Success({"badges": []}, None, 0)),
    ("required", "time", _without(SUCCESS, "time"), Success({"badges": []}, None, 0)),
    ("required", "total", _without(SUCCESS, "total"), Success({"badges": []}, None, None)),
    ("required", "description", _without(API_ERROR, "description"), ApiError("NOT_FOUND", None, 400)),
    ("required", "status", _without(API_ERROR, "status"), ApiError("NOT_FOUND", None, None)),
    ("required", "detail", _without(FAILURE, "detail"), TransportFailure("non-json", "", 502)),
    ("type", "detail", {**FAILURE, "detail": None}, TransportFailure("non-json", "", 502)),
    ("required", "version", _without(STARTED, "version"), messages.Started("scripted", "", "python", frozenset({"status"}))),
    ("required", "language", _without(STARTED, "language"), messages.Started("scripted", "1.0", "", frozenset({"status"}))),
    ("required", "seq", _without({**CRASH, "seq": None}, "seq"), "TypeError: boom"),
    ("enum", "kind", {**FAILURE, "kind": "dns"}, TransportFailure("dns", "HTML", 502)),
    ("minimum", None, {**FAILURE, "status": 99}, TransportFailure("non-json", "HTML", 99)),
    ("maximum", None, {**FAILURE, "status": 600}, TransportFailure("non-json", "HTML", 600)),
    ("uniqueItems", "capabilities", {**STARTED, "capabilities": ["status", "status"]}, messages.Started("scripted", "1.0", "python", frozenset({"status"}))),
    ("type", "traceback", {**CRASH, "traceback": 7}, "TypeError: boom"),
]
# fmt: on


def _decode(message: dict[str, Any]) -> object:
    if message["type"] == "started":
        return messages.decode_started(message)
    if message["type"] == "crash":
        return messages.crash_error(message, message.get("seq"))
    return messages.decode_outcome(message, 1)


def test_every_tolerance_has_a_row() -> None:
    tolerances = {(t.keyword, t.field) for t in messages.LENIENT}
    assert tolerances == {(keyword, field) for keyword, field, _, _ in FORGIVEN}


@pytest.mark.parametrize(
    ("keyword", "field", "message", "decoded"),
    FORGIVEN,
    ids=[f"{keyword}-{field}" for keyword, field, _, _ in FORGIVEN],
)
def test_lenient_decoding_forgives_what_only_validation_refuses(
    keyword: str, field: str | None, message: dict[str, Any], decoded: object
) -> None:
    assert repr(_decode(message)) == repr(decoded)
    mismatch = messages.schema_mismatch(message)
    assert mismatch is not None, "--validate-protocol refuses it"
    assert mismatch.startswith(f"does not match schemas/harness/{message['type']}.json at $")


# (a message, what the lenient default says about it)
REFUSED: list[tuple[dict[str, Any], str]] = [
    ({**API_ERROR, "status": 400.0}, "an `api-error` outcome whose `status` is not an integer"),
    ({**SUCCESS, "total": 0.0}, "a `success` outcome whose `total` is not an integer or null"),
    ({**API_ERROR, "code": True}, "an `api-error` outcome whose `code` is not a string, integer"),
    ({**SUCCESS, "time": []}, "a `success` outcome whose `time` is not an object or null"),
    (_without(SUCCESS, "result"), "a `success` outcome without `result`"),
    (_without(API_ERROR, "code"), "an `api-error` outcome without `code`"),
    ({**FAILURE, "kind": ""}, "a `transport-failure` outcome whose `kind` breaks"),
    ({**FAILURE, "kind": 5}, "a `transport-failure` outcome whose `kind` is not a string"),
    ({**SUCCESS, "outcome": "maybe"}, "outcome 'maybe', expected 'success', 'api-error' or"),
    ({**SUCCESS, "seq": 1.0}, "seq 1.0, expected 1"),
    ({**STARTED, "protocol": True}, "protocol True: this suite speaks protocol 1"),
    ({**STARTED, "name": " "}, "a `started` whose `name` breaks the schema's `pattern`"),
    (_without(STARTED, "name"), "a `started` without a `name` string"),
    ({**STARTED, "capabilities": ["status", "x", "y"]}, "unknown capabilities ['x', 'y'] (known:"),
    ({**STARTED, "version": 1}, "a `started` whose `version` is not a string"),
    (_without(CRASH, "error"), "a `crash` without an `error` string"),
]


@pytest.mark.parametrize(("message", "reason"), REFUSED, ids=[r for _, r in REFUSED])
def test_lenient_decoding_refuses_what_the_suite_cannot_map(
    message: dict[str, Any], reason: str
) -> None:
    with pytest.raises(messages.Malformed) as caught:
        _decode(message)
    assert str(caught.value).startswith(reason), str(caught.value)
    assert messages.schema_mismatch(message) is not None, "validation refuses it too"


def test_a_crash_answering_start_has_no_seq() -> None:
    with pytest.raises(messages.Malformed, match=r"a `crash` with seq 1, expected null"):
        messages.crash_error(CRASH, None)
    assert messages.crash_error({**CRASH, "error": "A\n  at b\n"}, 1) == "A | at b"


def test_the_suite_speaks_the_version_its_schemas_state() -> None:
    for relative in ("harness/start.json", "harness/started.json"):
        protocol = schemas.contents_at(schemas.uri(f"{relative}#/properties/protocol"))
        assert protocol["const"] == PROTOCOL_VERSION


def test_the_suites_own_messages_match_their_schemas() -> None:
    call = messages.call_message(3, "crm.activity.badge.get", {"code": "x"})
    assert messages.schema_mismatch(call) is None
    assert messages.schema_mismatch(messages.STOP_MESSAGE) is None
    assert messages.encode(messages.STOP_MESSAGE) == b'{"type":"stop"}\n'
    assert messages.schema_mismatch({**call, "seq": 0}) is not None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"\xff\xfe\n", "a line that is not UTF-8"),
        (b"NaN\n", "a line that is not JSON"),
        (b"[1]\n", "JSON that is not an object"),
    ],
)
def test_a_line_that_is_no_message_is_refused(raw: bytes, reason: str) -> None:
    with pytest.raises(messages.Malformed, match=reason):
        messages.parse_line(raw)


def test_a_blank_line_is_skipped_and_a_message_kept_with_its_text() -> None:
    assert messages.parse_line(b"  \r\n") is None
    assert messages.parse_line(b'{"type":"stop"}\r\n') == ({"type": "stop"}, '{"type":"stop"}')
