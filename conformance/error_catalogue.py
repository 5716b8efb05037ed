"""The error catalogue and the drift ledger: contract facts kept as data in schemas/catalogue."""

from __future__ import annotations

from dataclasses import dataclass, replace
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
REVISIONS_FILE = "catalogue/docs-revisions.json"


class CatalogueError(ValueError):
    """A catalogue file does not match its format schema."""


class UnknownRevisionError(ValueError):
    """A docs revision the data does not keep; the message lists the known ones."""


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


def errors_for(
    code: object, method: str, profile: Profile, revision: str | None = None
) -> tuple[ErrorEntry, ...]:
    """Catalogue entries for a code that the method can produce under a profile; under docs,
    as the docs revision says (None: the newest)."""
    key = code_key(code)
    entries = error_catalogue() if profile == "wire" else revised_errors(revision)
    return tuple(e for e in entries if code_key(e.code) == key and e.applies_to(method, profile))


# ---------------------------------------------------------------------------------------------
# Docs revisions: what the docs profile follows


@dataclass(frozen=True)
class DocsRevision:
    """One revision of the docs: the pages it was read at, and where its docs profile differs
    from the oldest (schema locations replaced, error entries' docs statuses and methods)."""

    id: str
    source: str
    pages: dict[str, str]
    schemas: dict[str, str]
    errors: dict[tuple[str, str], tuple[tuple[int, ...], tuple[str, ...]]]


@cache
def docs_revisions() -> tuple[DocsRevision, ...]:
    """Every kept docs revision, oldest first; the last is the default."""
    document = _load(REVISIONS_FILE, "docs-revisions.json")
    return tuple(
        DocsRevision(
            id=raw["id"],
            source=raw["source"],
            pages=dict(raw["pages"]),
            schemas=dict(raw["schemas"]),
            errors={
                (code_key(e["code"]), e["kind"]): (tuple(e["statuses"]), tuple(e["methods"]))
                for e in raw["errors"]
            },
        )
        for raw in document["revisions"]
    )


def revision_ids() -> tuple[str, ...]:
    return tuple(r.id for r in docs_revisions())


def docs_revision(revision: str | None = None) -> DocsRevision:
    """A kept docs revision by id (None: the newest); an unknown id lists the known ones."""
    revisions = docs_revisions()
    if revision is None:
        return revisions[-1]
    for candidate in revisions:
        if candidate.id == revision:
            return candidate
    known = ", ".join(
        f"{r.id} ({'newest, the default' if r is revisions[-1] else 'older'})" for r in revisions
    )
    raise UnknownRevisionError(f"--docs-revision {revision!r} is not kept: expected one of {known}")


@cache
def revised_errors(revision: str | None = None) -> tuple[ErrorEntry, ...]:
    """The error catalogue with its docs side as the revision says."""
    changes = docs_revision(revision).errors
    entries = []
    for entry in error_catalogue():
        change = changes.get((code_key(entry.code), entry.kind))
        if change is None:
            entries.append(entry)
            continue
        statuses, methods = change
        entries.append(
            replace(
                entry,
                statuses={**entry.statuses, "docs": statuses},
                methods={**entry.methods, "docs": methods},
            )
        )
    return tuple(entries)


def revised_schema(location: str, revision: str | None = None) -> str:
    """The schema location (relative to schemas/) the docs profile uses at a revision."""
    return docs_revision(revision).schemas.get(location, location)


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
    #: docs revisions whose pages make the claim, oldest first
    observed_in: tuple[str, ...] = ()
    #: the docs revision that agrees with the wire, if one does
    closed_in: str | None = None

    @property
    def is_open(self) -> bool:
        return self.closed_in is None

    def open_at(self, revision: str) -> bool:
        """Whether the docs at a revision still make the claim (closed from closed_in on)."""
        if self.closed_in is None:
            return True
        order = revision_ids()
        return order.index(revision) < order.index(self.closed_in)


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
                observed_in=tuple(raw["observed_in"]),
                closed_in=raw.get("closed_in"),
            )
        )
    _check_revisions(entries)
    return tuple(entries)


def _check_revisions(entries: list[DriftEntry]) -> None:
    # A ledger naming a revision the data does not keep, or closed before it was seen,
    # would make the open/closed listing lie.
    order = revision_ids()
    for entry in entries:
        for revision in (*entry.observed_in, *([entry.closed_in] if entry.closed_in else [])):
            if revision not in order:
                raise CatalogueError(
                    f"schemas/{DRIFT_FILE}: entry {entry.id} names docs revision {revision!r}, "
                    f"which schemas/{REVISIONS_FILE} does not keep ({', '.join(order)})"
                )
        if entry.closed_in and order.index(entry.closed_in) <= order.index(entry.observed_in[-1]):
            raise CatalogueError(
                f"schemas/{DRIFT_FILE}: entry {entry.id} is closed in {entry.closed_in}, "
                f"not after the last revision it was observed in ({entry.observed_in[-1]})"
            )
