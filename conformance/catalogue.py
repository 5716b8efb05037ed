"""The error catalogue and the drift ledger: contract facts kept as data in schemas/catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from conformance import _data, schemas
from conformance.schemas import Profile

Retry = Literal[
    "never", "backoff", "after-operating-reset", "after-token-refresh", "idempotent-only"
]
DriftKind = Literal["schema", "status", "catalogue", "behaviour", "docs-internal"]

ERRORS_FILE = "catalogue/errors.json"
DRIFT_FILE = "catalogue/drift.json"


class CatalogueError(ValueError):
    """A catalogue file does not match its format schema."""


def _load(relative: str, format_schema: str) -> Any:
    document = _data.read_schema_file(relative)
    problems = sorted(
        schemas.validator(schemas.uri(format_schema)).iter_errors(document),
        key=lambda e: list(e.path),
    )
    if problems:
        first = problems[0]
        raise CatalogueError(
            f"schemas/{relative} breaks schemas/{format_schema} at "
            f"{first.json_path}: {first.message}"
        )
    return document


def code_key(code: object) -> str:
    """The comparison key of an error code: 100 and "100" are the same code."""
    return str(code)


@dataclass(frozen=True)
class ErrorEntry:
    """One error code with one meaning: its statuses and methods per profile."""

    index: int
    code: str | int
    kind: str
    meaning: str
    statuses: dict[str, tuple[int, ...]]
    methods: dict[str, tuple[str, ...]]
    retry: Retry
    contract: tuple[str, ...]
    note: str | None

    def applies_to(self, method: str, profile: Profile) -> bool:
        names = self.methods[profile]
        return "*" in names or method in names

    @property
    def location(self) -> str:
        return f"{ERRORS_FILE}#{code_key(self.code)}"


@cache
def error_catalogue() -> tuple[ErrorEntry, ...]:
    document = _load(ERRORS_FILE, "error-catalogue.json")
    return tuple(
        ErrorEntry(
            index=index,
            code=raw["code"],
            kind=raw["kind"],
            meaning=raw["meaning"],
            statuses={p: tuple(raw["statuses"][p]) for p in schemas.PROFILES},
            methods={p: tuple(raw["methods"][p]) for p in schemas.PROFILES},
            retry=raw["retry"],
            contract=tuple(raw["contract"]),
            note=raw.get("note"),
        )
        for index, raw in enumerate(document["errors"])
    )


def errors_for(code: object, method: str, profile: Profile) -> tuple[ErrorEntry, ...]:
    """Catalogue entries for a code that the method can produce under a profile."""
    key = code_key(code)
    return tuple(
        e for e in error_catalogue() if code_key(e.code) == key and e.applies_to(method, profile)
    )


def known_codes() -> tuple[str | int, ...]:
    seen: dict[str, str | int] = {}
    for entry in error_catalogue():
        seen.setdefault(code_key(entry.code), entry.code)
    return tuple(seen.values())


@dataclass(frozen=True)
class Witness:
    method: str
    status: int
    body: Any
    valid_under: Profile

    @property
    def invalid_under(self) -> Profile:
        return "docs" if self.valid_under == "wire" else "wire"


@dataclass(frozen=True)
class DriftEntry:
    """A documented claim that portals contradict."""

    id: str
    kind: DriftKind
    claim: str
    observed: str
    docs_source: str
    contract: tuple[str, ...]
    witness: Witness | None
    fails_at: tuple[str, ...]


@cache
def drift_ledger() -> tuple[DriftEntry, ...]:
    document = _load(DRIFT_FILE, "drift-ledger.json")
    entries = []
    for raw in document["entries"]:
        witness = raw.get("witness")
        entries.append(
            DriftEntry(
                id=raw["id"],
                kind=raw["kind"],
                claim=raw["claim"],
                observed=raw["observed"],
                docs_source=raw["docs_source"],
                contract=tuple(raw["contract"]),
                witness=Witness(**witness) if witness else None,
                fails_at=tuple(raw.get("fails_at", ())),
            )
        )
    return tuple(entries)
