"""Cassette files checked before a replay run: readable YAML within limits, every interaction
shaped as vcrpy plays it, and (for cassettes the generator wrote) the checksum still right.

A tampered interaction otherwise breaks inside vcrpy during the client's call, where it reads
as the client's fault ("an exception escaped the adapter: KeyError: 'status'").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Final

import yaml

from conformance._yaml import load_yaml
from conformance.errors import UsageError

#: metadata key of the digest over a cassette's interactions (`b24-conformance cassettes`)
CHECKSUM_KEY: Final = "sha256"

# field path -> the Python types vcrpy accepts there
_REQUEST_FIELDS: Final = {"method": (str,), "uri": (str,), "headers": (dict,)}
_RESPONSE_FIELDS: Final = {"status": (dict,), "headers": (dict,), "body": (dict,)}


class CassetteError(UsageError):
    """A cassette that cannot be replayed (exit 2): the message names the file and where."""


def interactions_digest(interactions: Any) -> str:
    """The sha256 of a cassette's interactions, as parsed (key order and layout do not count)."""
    canonical = json.dumps(interactions, sort_keys=True, ensure_ascii=False, default=repr)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def check_cassette_text(text: str, name: str) -> None:
    """Raise CassetteError naming ``name`` (and the interaction) unless the text replays."""
    try:
        document = load_yaml(text)
    except yaml.YAMLError as exc:
        raise CassetteError(f"cassette {name}: not YAML ({' '.join(str(exc).split())})") from None
    if not isinstance(document, dict) or not isinstance(document.get("interactions"), list):
        raise CassetteError(f"cassette {name}: expected a mapping with an interactions list")
    interactions = document["interactions"]
    for number, interaction in enumerate(interactions, 1):
        problem = _interaction_problem(interaction)
        if problem:
            raise CassetteError(f"cassette {name}: interaction {number}: {problem}")
    metadata = document.get("metadata")
    metadata = metadata if isinstance(metadata, dict) else {}
    steps = metadata.get("steps", [len(interactions)])
    if (
        not isinstance(steps, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in steps)
        or sum(steps) != len(interactions)
    ):
        raise CassetteError(
            f"cassette {name}: metadata.steps {steps!r} does not add up to its "
            f"{len(interactions)} interaction(s)"
        )
    recorded = metadata.get(CHECKSUM_KEY)
    if recorded is not None and recorded != interactions_digest(interactions):
        raise CassetteError(
            f"cassette {name}: the interactions do not match metadata.{CHECKSUM_KEY} (edited "
            "after it was generated?); regenerate it with `b24-conformance cassettes`"
        )


def check_cassette_files(paths: Iterable[Path]) -> None:
    """check_cassette_text for every file; CassetteError for the first that fails."""
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise CassetteError(f"cassette {path}: not UTF-8 text") from None
        except OSError as exc:
            raise CassetteError(f"cassette {path}: cannot read it ({exc.strerror})") from None
        check_cassette_text(text, str(path))


def _interaction_problem(interaction: Any) -> str | None:
    if not isinstance(interaction, dict):
        return "expected a mapping with request and response"
    for part, fields in (("request", _REQUEST_FIELDS), ("response", _RESPONSE_FIELDS)):
        value = interaction.get(part)
        if not isinstance(value, dict):
            return f"{part} is missing or not a mapping"
        if problem := _fields_problem(part, value, fields):
            return problem
    return _values_problem(interaction)


def _values_problem(interaction: Mapping[str, Any]) -> str | None:
    response = interaction["response"]
    code = response["status"].get("code")
    if isinstance(code, bool) or not isinstance(code, int) or not 100 <= code <= 599:
        return f"response.status.code {code!r} is not an HTTP status"
    body = response["body"].get("string")
    if not isinstance(body, str | bytes):
        return f"response.body.string is {type(body).__name__}, expected text or bytes"
    request_body = interaction["request"].get("body")
    if request_body is not None and not isinstance(request_body, str | bytes):
        return f"request.body is {type(request_body).__name__}, expected text, bytes or null"
    for part in ("request", "response"):
        for header, values in interaction[part]["headers"].items():
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                return f"{part}.headers.{header} is not a list of strings"
    return None


def _fields_problem(part: str, value: Mapping[str, Any], fields: Mapping[str, Any]) -> str | None:
    for field, types in fields.items():
        if field not in value:
            return f"{part}.{field} is missing"
        if not isinstance(value[field], types):
            return f"{part}.{field} is {type(value[field]).__name__}, expected {types[0].__name__}"
    return None
