"""Validate a whole response body of a badge method against a profile of the contract."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from jsonschema import ValidationError

from conformance import error_catalogue, schemas
from conformance.results import clip
from conformance.schemas import Profile

Envelope = Literal["success", "error", "v3-error", "unknown"]

_MAX_SHOWN = 120


@dataclass(frozen=True)
class Violation:
    """One way a body breaks the contract, located in the body and in the schemas."""

    path: str
    problem: str
    expected: str
    actual: str
    keyword: str
    schema_location: str
    contract: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ValidationResult:
    method: str
    profile: Profile
    envelope: Envelope
    status: int | None
    violations: tuple[Violation, ...] = field(default=())
    #: the docs revision a docs-profile validation followed (None under wire)
    docs_revision: str | None = None

    @property
    def valid(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "profile": self.profile,
            "docs_revision": self.docs_revision,
            "envelope": self.envelope,
            "status": self.status,
            "valid": self.valid,
            "violations": [v.as_dict() for v in self.violations],
        }


def classify_envelope(body: Any) -> Envelope:
    """Which envelope a body is: one with ``error`` is an error, one with ``result`` a success."""
    if not isinstance(body, dict):
        return "unknown"
    if "error" in body:
        return "v3-error" if isinstance(body["error"], dict) else "error"
    if "result" in body:
        return "success"
    return "unknown"


#: How deep a body may nest (a badge body nests about 6 levels); deeper ones are refused
#: before the schemas recurse into them.
MAX_BODY_DEPTH: Final = 100

_INT_TEXT_BITS: Final = int(sys.get_int_max_str_digits() * 3.32) or 10**9
_SURROGATE = re.compile("[\ud800-\udfff]")


class BodyRejected(TypeError):
    """The body is not a JSON value :func:`validate_response` accepts; the text says where."""


def body_problem(body: Any) -> str | None:
    """Why ``body`` is not a JSON value that validate_response accepts, or None when it is.

    Accepted: ``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``float``,
    ``bool`` and ``None``, nested at most MAX_BODY_DEPTH levels, no string holding a lone
    surrogate (such text cannot be printed or encoded as UTF-8). Walked without recursion.
    """
    pending: list[tuple[Any, str, int]] = [(body, "$", 1)]
    while pending:
        value, path, depth = pending.pop()
        if depth > MAX_BODY_DEPTH:
            shown = path if len(path) <= 60 else path[:57] + "..."
            return f"{shown}: nested deeper than {MAX_BODY_DEPTH} levels"
        if isinstance(value, list):
            pending.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, dict):
            for key, item in value.items():
                if problem := _key_problem(key):
                    return f"{path}: {problem}"
                pending.append((item, _child(path, key), depth + 1))
        elif problem := _scalar_problem(value):
            return f"{path}: {problem}"
    return None


def _key_problem(key: object) -> str | None:
    if not isinstance(key, str):
        return f"key {key!r} is a {type(key).__name__}, not a string"
    if found := _SURROGATE.search(key):
        return f"a key holds a lone surrogate ({ord(found.group()):#06x})"
    return None


def _scalar_problem(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        # Python refuses to turn such an integer into text, so no message could show it.
        too_long = value.bit_length() > _INT_TEXT_BITS
        return f"an integer of about {value.bit_length() * 3 // 10} digits" if too_long else None
    if isinstance(value, float):
        return None  # NaN and the infinities too: Python's json reads them, the schemas judge
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return f"the string holds a lone surrogate ({ord(found.group()):#06x})" if found else None
    return f"a {type(value).__name__} is not a JSON value"


def validate_response(
    method: str,
    body: Any,
    *,
    profile: Profile = schemas.DEFAULT_PROFILE,
    status: int | None = None,
    docs_revision: str | None = None,
) -> ValidationResult:
    """Every violation of the profile's contract in a response body (and its status, if given).

    Under ``docs`` the pages are read at ``docs_revision`` (None: the newest kept revision);
    an unknown revision raises ``error_catalogue.UnknownRevisionError``.

    ``body`` is the parsed JSON (see :func:`body_problem` for what is accepted); ``status`` an
    ``int`` or None. Anything else raises :class:`BodyRejected` (a TypeError) saying what and
    where; an unknown method raises ``schemas.UnknownMethodError``. Nothing else is raised.
    """
    if not isinstance(method, str):
        raise BodyRejected(f"method: expected a str, got a {type(method).__name__}")
    if profile not in schemas.PROFILES:
        allowed = ", ".join(schemas.PROFILES)
        raise BodyRejected(f"profile: expected one of {allowed}, got {profile!r}")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise BodyRejected(f"status: expected an int or None, got a {type(status).__name__}")
    if problem := body_problem(body):
        raise BodyRejected(f"body: {problem}")
    method = schemas.canonical_method(method)
    revision = error_catalogue.docs_revision(docs_revision).id if profile == "docs" else None
    envelope = classify_envelope(body)
    violations: list[Violation] = []
    if envelope == "unknown":
        violations.append(_not_an_envelope(body))
    elif envelope == "v3-error":
        violations.append(_v3_envelope(body))
    else:
        target = (
            schemas.response_schema(method, profile)
            if envelope == "success"
            else schemas.error_schema(profile)
        )
        if revision is not None:
            target = schemas.uri(
                error_catalogue.revised_schema(schemas.short_location(target), revision)
            )
        violations.extend(schema_violations(target, body))
    if status is not None and envelope in ("success", "error"):
        violations.extend(_status_violations(method, envelope, body, status, profile, revision))
    return ValidationResult(method, profile, envelope, status, tuple(violations), revision)


@dataclass(frozen=True)
class Note:
    """Something worth knowing about a body that breaks nothing (validity is unchanged)."""

    kind: Literal["code-not-in-catalogue"]
    code: str | int
    text: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def catalogue_notes(body: Any) -> tuple[Note, ...]:
    """A note when an error envelope's code is in no entry of the error catalogue."""
    if classify_envelope(body) != "error":
        return ()
    code = body["error"]
    # The schema reports other types (a boolean, a list); bool is an int to Python.
    if isinstance(code, bool) or not isinstance(code, str | int):
        return ()
    if error_catalogue.code_key(code) in {
        error_catalogue.code_key(c) for c in error_catalogue.known_codes()
    }:
        return ()
    return (
        Note(
            kind="code-not-in-catalogue",
            code=code,
            text=(
                f"error code {json.dumps(code, ensure_ascii=False)} is not in the error "
                f"catalogue (schemas/{error_catalogue.ERRORS_FILE}): its statuses, methods and "
                "retry rule are unknown here"
            ),
        ),
    )


def validate_params(method: str, params: Any) -> tuple[Violation, ...]:
    """Violations of a method's request parameters (names, required, types, the type enum)."""
    return tuple(schema_violations(schemas.params_schema(schemas.canonical_method(method)), params))


def schema_violations(schema_uri: str, instance: Any) -> Iterator[Violation]:
    errors = schemas.validator(schema_uri).iter_errors(instance)
    ordered = sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    # One jsonschema error per missing property repeats the whole `required` list: dedupe.
    seen: set[Violation] = set()
    for error in ordered:
        for violation in _explain(schema_uri, error):
            if violation not in seen:
                seen.add(violation)
                yield violation


def _explain(root_uri: str, error: ValidationError) -> Iterator[Violation]:
    location, contract = _locate(root_uri, error)
    keyword = str(error.validator)
    schema: Any = error.schema
    described = schema.get("description") if isinstance(schema, dict) else None
    path = error.json_path
    value: Any = error.validator_value
    instance: Any = error.instance

    if keyword == "required":
        for name in value:
            if isinstance(instance, dict) and name not in instance:
                yield Violation(
                    path=_child(path, name),
                    problem="required property is missing",
                    expected=f"property {name!r}",
                    actual="nothing",
                    keyword=keyword,
                    schema_location=location,
                    contract=contract,
                )
        return
    if keyword == "additionalProperties" and isinstance(instance, dict):
        declared = set(schema.get("properties", {}))
        allowed = ", ".join(sorted(declared)) or "none"
        for name in instance:
            if name not in declared:
                yield Violation(
                    path=_child(path, name),
                    problem="property is not allowed here",
                    expected=f"only the properties {allowed}",
                    actual=_show(instance[name]),
                    keyword=keyword,
                    schema_location=location,
                    contract=contract,
                )
        return
    if keyword == "not" and value is True:
        yield Violation(
            path=path,
            problem="property must be absent",
            expected=described or "no such property",
            actual=_show(instance),
            keyword=keyword,
            schema_location=location,
            contract=contract,
        )
        return
    yield Violation(
        path=path,
        problem=_problem(keyword, error),
        expected=described or _expected(keyword, value),
        actual=_show(instance),
        keyword=keyword,
        schema_location=location,
        contract=contract,
    )


def _problem(keyword: str, error: ValidationError) -> str:
    problems = {
        "type": "wrong type",
        "enum": "value is not allowed",
        "const": "value is not the expected constant",
        "anyOf": "value matches none of the allowed forms",
        "oneOf": "value does not match exactly one allowed form",
        "pattern": "string does not match the pattern",
        "format": f"string is not a valid {error.validator_value}",
        "minLength": "string is too short",
        "minItems": "array is too short",
        "minProperties": "object has too few properties",
        "minimum": "number is too small",
        "not": "value has a form that is not allowed",
        "propertyNames": "property name is not allowed",
    }
    return problems.get(keyword, str(error.message))


_EXPECTED_TEMPLATES = {
    "pattern": "a string matching {}",
    "format": "a {} string",
    "minLength": "at least {} characters",
    "minItems": "at least {} items",
    "minProperties": "at least {} properties",
    "minimum": "a number >= {}",
}


def _expected(keyword: str, value: Any) -> str:
    if keyword == "type":
        kinds = value if isinstance(value, list) else [value]
        return "a JSON " + " or ".join(kinds)
    if keyword == "enum":
        return "one of " + ", ".join(json.dumps(v) for v in value)
    if keyword == "const":
        return json.dumps(value)
    template = _EXPECTED_TEMPLATES.get(keyword, keyword + ": {}")
    return template.format(_show(value) if keyword not in _EXPECTED_TEMPLATES else value)


def _child(path: str, name: str) -> str:
    if name.isidentifier():
        return f"{path}.{name}"
    return f"{path}[{json.dumps(name)}]"


def _show(value: Any) -> str:
    return clip(json.dumps(value, ensure_ascii=False), _MAX_SHOWN)


def _locate(root_uri: str, error: ValidationError) -> tuple[str, str | None]:
    """The failing keyword's place in ``schemas/`` and the nearest CONTRACT.md section."""
    place = schemas.place_of(error.schema)
    if place is None:
        return schemas.short_location(root_uri), None
    keyword = str(error.validator).replace("~", "~0").replace("/", "~1")
    location = schemas.short_location(place.uri).rstrip("/") + "/" + keyword
    return location, place.contract


def _not_an_envelope(body: Any) -> Violation:
    if isinstance(body, dict):
        actual = "an object with keys " + (", ".join(sorted(body)) or "(none)")
    else:
        actual = _show(body)
    return Violation(
        path="$",
        problem="body is neither a success nor an error envelope",
        expected="an object with result (success) or error (error)",
        actual=actual,
        keyword="envelope",
        schema_location="wire/success.json",
        contract="2.1",
    )


def _v3_envelope(body: dict[str, Any]) -> Violation:
    shape_ok = not list(schema_violations(schemas.V3_ERROR_SCHEMA, body))
    shape = "a REST v3 error envelope" if shape_ok else "an error object shaped like REST v3's"
    return Violation(
        path="$.error",
        problem=f"{shape} (error is an object); the badge methods are REST v2 only",
        expected="a v2 error envelope: error as a string or an integer",
        actual=_show(body["error"]),
        keyword="envelope",
        schema_location="v3/error.json",
        contract="2.5",
    )


def _status_violations(
    method: str,
    envelope: Envelope,
    body: dict[str, Any],
    status: int,
    profile: Profile,
    revision: str | None,
) -> Iterable[Violation]:
    if envelope == "success":
        if status != 200:
            yield Violation(
                path="$",
                problem="a success envelope came with a non-200 status",
                expected="HTTP 200",
                actual=f"HTTP {status}",
                keyword="status",
                schema_location=f"methods/{method}.json",
                contract="2.1",
            )
        return
    code = body.get("error")
    entries = error_catalogue.errors_for(code, method, profile, revision)
    allowed = sorted({s for e in entries for s in e.statuses[profile]})
    if allowed:
        if status not in allowed:
            yield Violation(
                path="$.error",
                problem=f"error {_show(code)} came with an unexpected HTTP status",
                expected="HTTP " + " or ".join(map(str, allowed)),
                actual=f"HTTP {status}",
                keyword="status",
                schema_location=entries[0].location,
                contract=", ".join(dict.fromkeys(c for e in entries for c in e.contract)),
            )
    elif not 400 <= status <= 599:
        yield Violation(
            path="$",
            problem="an error envelope came with a non-error status",
            expected="an HTTP status from 400 to 599",
            actual=f"HTTP {status}",
            keyword="status",
            schema_location=error_catalogue.ERRORS_FILE,
            contract="2.2",
        )
