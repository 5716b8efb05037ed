"""The drift report of a live run: what this portal does that the docs do not say.

Every portal answer is validated against the ``docs`` profile. A difference the ``wire``
profile allows is drift, not a failure: it is mapped to the drift ledger
(schemas/catalogue/drift.json) by the ledger entries' ``fails_at`` schema locations, and
error codes the docs' tables do not list for the method are catalogue-level drift. What
matches no ledger entry is reported too, marked unlisted: news about this portal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from conformance import __version__, error_catalogue, schemas
from conformance.api import Redactor
from conformance.error_catalogue import DriftEntry
from conformance.live.exchange import Exchange
from conformance.live.gateway import ADD, DELETE
from conformance.validation import (
    BodyRejected,
    Violation,
    classify_envelope,
    validate_response,
)
from conformance.wire import decode_request

UNDOCUMENTED_CODES: Final = "errors.undocumented-codes"
DELETE_IDEMPOTENCE: Final = "delete.idempotence"
APP_CONTEXT: Final = "add.app-context"


@dataclass
class Observation:
    """One place where the portal showed a drift: first value, first seen, how often."""

    method: str
    status: int | None
    path: str
    value: str
    first_seen: str
    first_case: str
    count: int = 1


@dataclass
class DriftItem:
    """A documented claim this portal contradicts, with what it showed."""

    id: str
    kind: str
    listed: bool
    claim: str
    documented_at: str
    contract: list[str]
    ledger_says: str
    observations: list[Observation] = field(default_factory=list)

    def observe(self, observation: Observation) -> None:
        for seen in self.observations:
            if (seen.method, seen.status, seen.path) == (
                observation.method,
                observation.status,
                observation.path,
            ):
                seen.count += 1
                return
        self.observations.append(observation)

    @property
    def count(self) -> int:
        return sum(o.count for o in self.observations)


def _ledger_by_location() -> dict[str, DriftEntry]:
    return {
        location: entry for entry in error_catalogue.drift_ledger() for location in entry.fails_at
    }


def _ledger(entry_id: str) -> DriftEntry:
    return next(e for e in error_catalogue.drift_ledger() if e.id == entry_id)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="seconds")


class DriftCollector:
    """Collects drift from the portal's answers, one exchange at a time."""

    def __init__(self, redact: Redactor, docs_revision: str | None = None) -> None:
        #: the docs revision the answers are held against (None: the newest kept)
        self.revision = error_catalogue.docs_revision(docs_revision).id
        self.items: dict[str, DriftItem] = {}
        self.checked = 0
        self._redact = redact
        self._by_location = _ledger_by_location()
        self._deleted: set[str] = set()

    def observe(self, exchange: Exchange) -> None:
        """Validate one portal answer under docs and keep what the wire profile allows."""
        if not exchange.from_portal or exchange.api_method not in schemas.METHODS:
            return
        body = exchange.json()
        envelope = classify_envelope(body)
        if envelope not in ("success", "error"):
            return  # not an envelope at all: a wire failure, reported with the case
        method, status = exchange.api_method, exchange.status
        try:
            docs = validate_response(
                method, body, profile="docs", status=status, docs_revision=self.revision
            ).violations
            wire = validate_response(method, body, profile="wire", status=status).violations
        except BodyRejected:
            return  # too deep or undecodable: check portal.wire reports it with the case
        self.checked += 1
        broken = {(v.path, v.keyword) for v in wire}
        for violation in docs:
            if (violation.path, violation.keyword) not in broken:
                self._schema_drift(exchange, violation)
        if envelope == "error":
            self._code_drift(exchange, body.get("error"))
        self._behaviour(exchange, body)

    def _add(self, item: DriftItem, exchange: Exchange, path: str, value: str) -> None:
        current = self.items.setdefault(item.id, item)
        current.observe(
            Observation(
                method=exchange.api_method or "",
                status=exchange.status,
                path=path,
                value=self._redact(value),
                first_seen=_iso(exchange.wall),
                first_case=exchange.tag,
            )
        )

    def _schema_drift(self, exchange: Exchange, violation: Violation) -> None:
        entry = self._by_location.get(violation.schema_location)
        if entry is not None:
            item = _item(entry)
        else:
            item = DriftItem(
                id=f"unlisted:{violation.schema_location}",
                kind="status" if violation.keyword == "status" else "schema",
                listed=False,
                claim=f"{violation.path}: {violation.expected}",
                documented_at=violation.schema_location,
                contract=[violation.contract] if violation.contract else [],
                ledger_says="(not in the drift ledger)",
            )
        self._add(item, exchange, violation.path, violation.actual)

    def _code_drift(self, exchange: Exchange, code: Any) -> None:
        method = exchange.api_method or ""
        if (
            code is None
            or isinstance(code, dict)
            or error_catalogue.errors_for(code, method, "docs", self.revision)
        ):
            return
        shown = json.dumps(code)
        if error_catalogue.errors_for(code, method, "wire"):
            item = _item(_ledger(UNDOCUMENTED_CODES))
        else:
            item = DriftItem(
                id=f"unlisted:code:{error_catalogue.code_key(code)}",
                kind="catalogue",
                listed=False,
                claim=f"{method} answers the error codes its page and the system errors list",
                documented_at=error_catalogue.ERRORS_FILE,
                contract=["2.4"],
                ledger_says="(a code neither profile of the error catalogue knows)",
            )
        self._add(item, exchange, f"$.error = {shown}", shown)

    def _behaviour(self, exchange: Exchange, body: Any) -> None:
        decoded = decode_request(
            exchange.http_method,
            exchange.portal_url,
            exchange.request_headers,
            exchange.request_body,
        )
        code = decoded.params.get("code")
        if not isinstance(body, dict) or not isinstance(code, str):
            return
        if exchange.api_method == DELETE:
            if body.get("result") is True:
                self._deleted.add(code)
            elif (
                body.get("error") == "NOT_FOUND"
                and code in self._deleted
                and _ledger(DELETE_IDEMPOTENCE).open_at(self.revision)
            ):
                self._add(
                    _item(_ledger(DELETE_IDEMPOTENCE)),
                    exchange,
                    "a second delete of one code",
                    "HTTP 400 NOT_FOUND",
                )
        if (
            exchange.api_method == ADD
            and "result" in body
            and decoded.path_kind == "webhook"
            and _ledger(APP_CONTEXT).open_at(self.revision)
        ):
            self._add(
                _item(_ledger(APP_CONTEXT)), exchange, "an add through a webhook", "a success"
            )

    # --- output -----------------------------------------------------------------------------

    def document(self, run_id: str, previous: dict[str, Any] | None = None) -> dict[str, Any]:
        """drift.json; first-seen dates of a previous report in the same place are kept."""
        earlier = _first_seen(previous)
        entries = []
        for item in sorted(self.items.values(), key=lambda i: (not i.listed, i.id)):
            data = asdict(item)
            for observation in data["observations"]:
                key = (item.id, observation["method"], observation["path"])
                if key in earlier and earlier[key][0] < observation["first_seen"]:
                    observation["first_seen"], observation["first_case"] = earlier[key]
            data["count"] = item.count
            entries.append(data)
        return {
            "suite": {"version": __version__},
            "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            "run": run_id,
            "profiles": {"documented": "docs", "observed": "wire"},
            "docs_revision": self.revision,
            "responses_checked": self.checked,
            "entries": entries,
            # Ledger entries the docs at this revision have closed: not drift any more.
            "closed": [
                {"id": e.id, "closed_in": e.closed_in, "claim": e.claim}
                for e in error_catalogue.drift_ledger()
                if not e.open_at(self.revision)
            ],
        }

    def write(self, directory: Path, run_id: str) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        json_path, md_path = directory / "drift.json", directory / "drift.md"
        previous = None
        if json_path.is_file():
            try:
                previous = json.loads(json_path.read_text(encoding="utf-8"))
            except ValueError:
                previous = None
        document = self.document(run_id, previous)
        json_path.write_text(
            self._redact(json.dumps(document, indent=2, ensure_ascii=False)) + "\n",
            encoding="utf-8",
        )
        md_path.write_text(self._redact(render_markdown(document)), encoding="utf-8")
        return [json_path, md_path]


def _item(entry: DriftEntry) -> DriftItem:
    return DriftItem(
        id=entry.id,
        kind=entry.kind,
        listed=True,
        claim=entry.claim,
        documented_at=entry.docs_source,
        contract=list(entry.contract),
        ledger_says=entry.observed,
    )


def _first_seen(previous: dict[str, Any] | None) -> dict[tuple[str, str, str], tuple[str, str]]:
    seen: dict[tuple[str, str, str], tuple[str, str]] = {}
    if not isinstance(previous, dict):
        return seen
    for entry in previous.get("entries", []):
        for observation in entry.get("observations", []):
            try:
                key = (entry["id"], observation["method"], observation["path"])
                seen[key] = (observation["first_seen"], observation["first_case"])
            except (KeyError, TypeError):
                continue
    return seen


def render_markdown(document: dict[str, Any]) -> str:
    entries: Iterable[dict[str, Any]] = document["entries"]
    lines = [
        "# Drift report: what this portal does that the docs do not say",
        "",
        f"Run {document['run']}, suite {document['suite']['version']}, generated "
        f"{document['generated']}. {document['responses_checked']} portal answers were checked "
        f"against the `docs` profile (what the doc pages say, at docs revision "
        f"{document.get('docs_revision', '?')}). Each difference below is allowed "
        "by the `wire` profile (what portals send), so it is drift, not a failure; answers that "
        "break the `wire` profile are failures of the portal and are in report.md.",
        "",
    ]
    closed = document.get("closed", [])
    if closed:
        lines += [
            f"Closed by the docs ({len(closed)} ledger entries; `b24-conformance drift` lists "
            "all): " + ", ".join(f"{c['id']} (in {c['closed_in']})" for c in closed) + ".",
            "",
        ]
    if not document["entries"]:
        lines.append("No drift: every answer matched the docs.")
        return "\n".join(lines) + "\n"
    lines += [
        "| drift | documented claim | observed on this portal | first seen | times |",
        "|---|---|---|---|---|",
    ]
    for entry in entries:
        first = min(entry["observations"], key=lambda o: o["first_seen"])
        name = entry["id"] if entry["listed"] else f"{entry['id']} (unlisted)"
        observed = (
            f"{first['method']} HTTP {first['status']}: `{first['path']}` = `{first['value']}`"
        )
        lines.append(
            f"| {name} | {_cell(entry['claim'])} | {_cell(observed)} | "
            f"{first['first_seen']} ({first['first_case']}) | {entry['count']} |"
        )
    lines += ["", "## Details", ""]
    for entry in document["entries"]:
        lines += [
            f"### {entry['id']}",
            "",
            f"- Documented ({entry['documented_at']}): {entry['claim']}",
            f"- The drift ledger says portals do: {entry['ledger_says']}",
            f"- CONTRACT.md: {', '.join(entry['contract']) or '-'}",
            "- Observed:",
        ]
        for o in entry["observations"]:
            lines.append(
                f"  - {o['method']} HTTP {o['status']}, `{o['path']}` = `{o['value']}`; first seen "
                f"{o['first_seen']} in {o['first_case']}, {o['count']} time(s)"
            )
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
