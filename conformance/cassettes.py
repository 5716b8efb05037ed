"""Cassettes generated from the case catalogue, with provenance, and their lint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

# vcrpy through conformance._vcr first: it leaves out the HTTP libraries no client loaded.
from conformance import _vcr  # noqa: F401

# isort: split
from vcr.request import Request
from vcr.serialize import deserialize, serialize
from vcr.serializers import yamlserializer

from conformance import __version__, _data
from conformance._cassette_file import CHECKSUM_KEY, interactions_digest
from conformance._yaml import load_yaml
from conformance.case import Case, all_cases
from conformance.transports import (
    IN_MEMORY,
    OFFLINE_HOST,
    SECRET_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    cassette_path,
)
from conformance.validation import classify_envelope, validate_response

# What a live secret looks like in a URL path or an auth field (the repository hook uses these).
SECRET_SHAPES: Final = (
    re.compile(r"/rest/[0-9]+/[a-z0-9]{12,}/"),
    re.compile(r"auth=[A-Za-z0-9]{16,}"),
    re.compile(r'"auth": ?"[A-Za-z0-9]{16,}"'),
    re.compile(r"Bearer [A-Za-z0-9]{16,}"),
)


def replayable_cases() -> list[Case]:
    return [case for case in all_cases() if "replay" in case.modes]


def _request(case: Case, method: str, params: Any) -> Request:
    body = json.dumps(params, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if case.auth == "oauth":
        uri = f"https://{OFFLINE_HOST}/rest/{method}.json"
        headers["Authorization"] = f"Bearer {TOKEN_PLACEHOLDER}"
    else:
        uri = f"https://{OFFLINE_HOST}/rest/1/{SECRET_PLACEHOLDER}/{method}.json"
    return Request("POST", uri, body, headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def cassette_text(case: Case) -> str:
    """The cassette of a case, exactly as the generator writes it."""
    requests, responses, metadata = _cassette_parts(case)

    def text() -> str:
        return str(
            serialize(
                {"requests": requests, "responses": responses, "metadata": metadata},
                yamlserializer,
            )
        )

    # The digest is over the interactions as a reader parses them back, so a tampered
    # interaction is refused before a replay run (conformance._cassette_file).
    metadata[CHECKSUM_KEY] = interactions_digest(load_yaml(text())["interactions"])
    return text()


def memory_document(case: Case) -> Any:
    """The cassette of a case as a document for ``memory_cassette``: what ``cassette_text``
    writes, before YAML (a generated example lives for one replay; its text would only be
    parsed back). It carries no digest: nothing reads it from a file."""
    requests, responses, metadata = _cassette_parts(case)
    return serialize(
        {"requests": requests, "responses": responses, "metadata": metadata}, IN_MEMORY
    )


def _cassette_parts(case: Case) -> tuple[list[Request], list[dict[str, Any]], dict[str, Any]]:
    requests, responses = [], []
    for step in case.steps:
        for scripted in step.responses:
            status, headers, body = scripted.render(now=0.0)
            requests.append(_request(case, step.method, step.params))
            responses.append(
                {
                    "status": {"code": status, "message": _reason(status)},
                    "headers": {name: [value] for name, value in headers.items()},
                    "body": {"string": body.decode("utf-8")},
                }
            )
    metadata = {
        "case": case.id,
        "description": case.description,
        "steps": [len(step.responses) for step in case.steps],
        **({"off_schema": case.off_schema} if case.off_schema else {}),
        "provenance": {
            "origin": "docs example" if case.source == "docs" else f"CONTRACT.md ({case.source})",
            "contract": [f"CONTRACT.md section {s}" for s in case.contract],
            "generated_by": f"b24-conformance {__version__}: b24-conformance cassettes",
        },
    }
    return requests, responses, metadata


@dataclass(frozen=True)
class CassetteChange:
    path: Path
    change: str  # "written", "unchanged", "stale", "removed"


def generate(*, check_only: bool = False) -> list[CassetteChange]:
    """Write (or, with ``check_only``, compare) one cassette per replayable case."""
    directory = _data.cassettes_dir()
    changes = []
    wanted = set()
    for case in replayable_cases():
        path = cassette_path(case.id)
        wanted.add(path.name)
        text = cassette_text(case)
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == text:
            changes.append(CassetteChange(path, "unchanged"))
        elif check_only:
            changes.append(CassetteChange(path, "stale"))
        else:
            path.write_text(text, encoding="utf-8")
            changes.append(CassetteChange(path, "written"))
    for path in sorted(directory.glob("*.yaml")):
        if path.name not in wanted:
            if not check_only:
                path.unlink()
            changes.append(CassetteChange(path, "stale" if check_only else "removed"))
    return changes


@dataclass(frozen=True)
class LintProblem:
    path: Path
    problem: str


def lint(paths: list[Path] | None = None, secrets: tuple[str, ...] = ()) -> Iterator[LintProblem]:
    """Each cassette's JSON answers validate (wire), it has provenance, and it holds no secret."""
    for path in paths if paths is not None else sorted(_data.cassettes_dir().glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        for shape in SECRET_SHAPES:
            if shape.search(text):
                yield LintProblem(path, f"looks like it holds a secret ({shape.pattern})")
        for secret in secrets:
            if secret and secret in text:
                yield LintProblem(path, "holds a planted secret value")
        loaded = deserialize(text, yamlserializer)
        requests, responses = loaded[0], loaded[1]
        metadata = loaded[2] if len(loaded) > 2 else {}
        if not metadata.get("provenance"):
            yield LintProblem(path, "has no provenance metadata")
        if metadata.get("off_schema"):
            continue  # the case breaks the wire schema on purpose, and says why
        for request, response in zip(requests, responses, strict=True):
            yield from _lint_interaction(path, request, response)


def _lint_interaction(path: Path, request: Any, response: Any) -> Iterator[LintProblem]:
    method = request.path.rsplit("/", 1)[-1].removesuffix(".json")
    raw = response["body"]["string"]
    raw = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    content_type = " ".join(response["headers"].get("Content-Type", []))
    if "application/json" not in content_type:
        return
    try:
        body = json.loads(raw)
    except ValueError:
        yield LintProblem(path, f"{method}: declares JSON but the body is not JSON")
        return
    if classify_envelope(body) not in ("success", "error"):
        return  # deliberately odd bodies (bad envelopes) are what their cases are about
    status = response["status"]["code"]
    result = validate_response(method, body, status=status if status != 200 else None)
    for violation in result.violations:
        if violation.keyword != "status":
            yield LintProblem(path, f"{method}: {violation.path}: {violation.problem}")
