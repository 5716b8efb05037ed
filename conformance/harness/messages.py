"""The protocol's messages (schemas/harness/): what the suite writes, and what it reads back.

Answers are decoded through the schemas themselves. With ``--validate-protocol`` a message must
match its schema; by default (lenient) the same schema applies minus the tolerances in LENIENT
(docs/harness-protocol.md, "Lenient and validating"). Code adds only what a schema cannot say
on its own: the protocol version spoken, and the seq of the call being answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

from conformance import schemas
from conformance.api import ApiError, Outcome, Success, Target, TransportFailure

__all__ = [
    "LENIENT",
    "PROTOCOL_VERSION",
    "STOP_MESSAGE",
    "Malformed",
    "Started",
    "Tolerance",
    "call_message",
    "crash_error",
    "decode_outcome",
    "decode_started",
    "encode",
    "parse_line",
    "schema_mismatch",
    "start_message",
    "target_message",
]

#: The version the suite speaks: start.json's ``protocol`` (a test holds the two equal).
PROTOCOL_VERSION: Final = 1
STOP_MESSAGE: Final = {"type": "stop"}


class Malformed(Exception):
    """A line or message that breaks the protocol: the text says how, ``line`` is what to quote."""

    def __init__(self, reason: str, line: str | None = None) -> None:
        super().__init__(reason)
        self.line = line


@dataclass(frozen=True)
class Started:
    """What a harness said about itself in ``started``."""

    name: str
    version: str
    language: str
    capabilities: frozenset[str]


@dataclass(frozen=True)
class Tolerance:
    """A schema violation the lenient default lets through, and why."""

    keyword: str
    #: The message's top-level field it concerns; None: any field.
    field: str | None
    why: str
    #: Only when the value is null.
    null_only: bool = False


#: What the lenient default forgives; everything else in a schema holds in both modes.
LENIENT: Final = (
    Tolerance("additionalProperties", None, "a later minor revision may add fields"),
    Tolerance("required", "time", "taken as null"),
    Tolerance("required", "total", "taken as null"),
    Tolerance("required", "description", "taken as null"),
    Tolerance("required", "status", "taken as null"),
    Tolerance("required", "detail", "taken as empty"),
    Tolerance("type", "detail", "null is taken as empty", null_only=True),
    Tolerance("required", "version", "taken as empty"),
    Tolerance("required", "language", "taken as empty"),
    Tolerance("required", "seq", "checked against the call it answers before the schema"),
    Tolerance("enum", "kind", "an undocumented kind is passed on for outcome.failure-kind"),
    Tolerance("minimum", None, "ranges are held with --validate-protocol"),
    Tolerance("maximum", None, "ranges are held with --validate-protocol"),
    Tolerance("uniqueItems", "capabilities", "a capability named twice counts once"),
    Tolerance("type", "traceback", "the suite never reads it"),
)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# JSON Schema counts 400.0 as an integer; Python reads it as a float, and an outcome's status,
# total and seq must stay integers to be compared and shown as the portal sent them.
_IntegerStrict = validators.extend(  # type: ignore[no-untyped-call]  # untyped in jsonschema
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda _checker, value: _is_int(value)
    ),
)


def _validator(relative: str) -> Any:
    # Without its $schema: jsonschema swaps in the standard class wherever it meets one, and the
    # integer rule with it. The schema's own $refs are local, so nothing else changes.
    contents = schemas.contents_at(schemas.uri(relative))
    schema = {key: value for key, value in contents.items() if key != "$schema"}
    return _IntegerStrict(schema, registry=schemas.registry())


def _schema_of(message: Mapping[str, Any]) -> str:
    return f"harness/{message.get('type')}.json"


# -- what the suite writes --------------------------------------------------------------------


def target_message(target: Target) -> dict[str, Any]:
    """The ``target`` object of a ``start`` message."""
    return {
        "base_url": target.base_url,
        "portal_url": target.portal_url,
        "user_id": target.user_id,
        "secret": target.secret,
        "auth_token": target.auth_token,
        "ca_bundle": target.ca_bundle,
        "timeout": float(target.timeout),
    }


def start_message(target: Target) -> dict[str, Any]:
    return {"type": "start", "protocol": PROTOCOL_VERSION, "target": target_message(target)}


def call_message(seq: int, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "call", "seq": seq, "method": method, "params": dict(params)}


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as the line the harness reads."""
    return (json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def schema_mismatch(message: Mapping[str, Any]) -> str | None:
    """How a message (either way) departs from schemas/harness/<type>.json, or None."""
    relative = _schema_of(message)
    errors = list(_validator(relative).iter_errors(message))
    if not errors:
        return None
    error = best_match(errors)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"does not match schemas/{relative} at {error.json_path}: {error.message}{more}"


# -- what the harness writes ------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(raw: bytes) -> tuple[dict[str, Any], str] | None:
    """A line from the harness as (message, text); None for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
        raise Malformed("a line that is not UTF-8", line) from None
    text = text.rstrip("\r\n")
    if not text.strip():
        return None
    try:
        message = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise Malformed(f"a line that is not JSON ({exc})", text) from None
    if not isinstance(message, dict):
        raise Malformed("JSON that is not an object", text)
    return message, text


def decode_started(answer: Mapping[str, Any]) -> Started:
    """The harness's ``started``, held to schemas/harness/started.json (leniently)."""
    protocol = answer.get("protocol")
    if protocol != PROTOCOL_VERSION or not _is_int(protocol):
        raise Malformed(f"protocol {protocol!r}: this suite speaks protocol {PROTOCOL_VERSION}")
    _hold_leniently(answer, "a `started`")
    return Started(
        answer["name"],
        answer.get("version", ""),
        answer.get("language", ""),
        frozenset(answer["capabilities"]),
    )


def decode_outcome(answer: Mapping[str, Any], seq: int) -> Outcome:
    """The ``outcome`` answering call ``seq``, held to schemas/harness/outcome.json (leniently)."""
    _hold_seq(answer, seq)
    kind = answer.get("outcome")
    _hold_leniently(answer, f"{_article(kind)} `{kind}` outcome" if isinstance(kind, str) else "")
    status = answer.get("status")
    if kind == "success":
        return Success(answer["result"], answer.get("time"), answer.get("total"))
    if kind == "api-error":
        return ApiError(answer["code"], answer.get("description"), status)
    return TransportFailure(answer["kind"], answer.get("detail") or "", status)


def crash_error(answer: Mapping[str, Any], seq: int | None) -> str:
    """The one-line error of a ``crash`` answering call ``seq`` (None: answering ``start``)."""
    if seq is None:
        if answer.get("seq") is not None:
            raise Malformed(f"a `crash` with seq {answer.get('seq')!r}, expected null")
    else:
        _hold_seq(answer, seq)
    _hold_leniently(answer, "a `crash`")
    error: str = answer["error"]
    return " | ".join(line.strip() for line in error.splitlines() if line.strip()) or (
        "(no error text)"
    )


def _hold_seq(answer: Mapping[str, Any], seq: int) -> None:
    if answer.get("seq") != seq or not _is_int(answer.get("seq")):
        raise Malformed(f"seq {answer.get('seq')!r}, expected {seq}")


# -- lenient decoding: the schema minus LENIENT ------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    keyword: str
    field: str | None
    path: tuple[str | int, ...]
    value: Any
    error: ValidationError


def _problems(message: Mapping[str, Any]) -> Iterator[_Problem]:
    seen: set[tuple[str, str | None, tuple[str | int, ...]]] = set()
    for error in _validator(_schema_of(message)).iter_errors(message):
        path = tuple(error.absolute_path)
        if error.validator == "required":
            # One error per missing property; which one is not kept apart, so find them all.
            found = [
                (name, (), None) for name in error.validator_value if name not in error.instance
            ]
        else:
            found = [(str(path[0]) if path else None, path, error.instance)]
        for field, where, value in found:
            key = (str(error.validator), field, where)
            if key not in seen:
                seen.add(key)
                yield _Problem(str(error.validator), field, where, value, error)


def _tolerated(problem: _Problem) -> bool:
    return any(
        tolerance.keyword == problem.keyword
        and tolerance.field in (None, problem.field)
        and (not tolerance.null_only or problem.value is None)
        for tolerance in LENIENT
    )


def _hold_leniently(message: Mapping[str, Any], label: str) -> None:
    problems = [problem for problem in _problems(message) if not _tolerated(problem)]
    if problems:
        raise Malformed(_phrase(problems, label or f"a `{message.get('type')}`"))


def _phrase(problems: Sequence[_Problem], label: str) -> str:
    """The first problem in words, as a harness author reads it."""
    first = problems[0]
    field, error = first.field, first.error
    schema: Any = error.schema
    expected: Any = error.validator_value
    if first.keyword == "required":
        kind = schema.get("properties", {}).get(field, {}).get("type")
        typed = f"{_article(field)} `{field}` {kind}" if isinstance(kind, str) else f"`{field}`"
        return f"{label} without {typed}"
    if first.keyword == "type":
        return f"{label} whose `{field}` is not {_types(expected)}"
    if first.keyword == "enum" and len(first.path) > 1:
        unknown = [p.value for p in problems if p.keyword == "enum" and p.field == field]
        known = ", ".join(str(value) for value in expected)
        return f"unknown {field} {unknown} (known: {known})"
    if first.keyword == "enum":
        return f"{field} {first.value!r}, expected {_alternatives(expected)}"
    return f"{label} whose `{field}` breaks the schema's `{first.keyword}`: {error.message}"


def _article(word: object) -> str:
    return "an" if str(word)[:1] in tuple("aeiou") else "a"


def _alternatives(values: Sequence[Any]) -> str:
    shown = [repr(value) for value in values]
    return shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"


def _types(kinds: str | Sequence[str]) -> str:
    """JSON Schema ``type`` in words: ["integer", "null"] -> 'an integer or null'."""
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    words = _alternatives(names).replace("'", "")
    return f"{_article(words)} {words}"
