"""``run --baseline-update FILE``: a baseline written from a run's failures, with the evidence
each failure observed (conformance.evidence)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from conformance.baseline import (
    BASELINE_MODES,
    STALE_PREFIX,
    Baseline,
    BaselineError,
    ExpectedFailure,
    load_baseline,
    schema_problem,
)


@dataclass(frozen=True)
class Failing:
    """One case's result in one mode, as --baseline-update reads it."""

    case: str
    mode: str
    outcome: str
    message: str
    #: what the failure observed (conformance.evidence); empty if nothing was recorded
    evidence: Mapping[str, Any] | None = None


_FAILING_OUTCOMES = ("failed", "errored", "xfailed")


def updated_document(
    previous: Baseline, results: Iterable[Failing], client: str | None
) -> dict[str, Any]:
    """A baseline document for the run's failures: kept entries keep their reason, issue,
    range and date; new ones take the failure's first line and ``review: true``."""
    judged: dict[str, set[str]] = {}
    failed: dict[str, set[str]] = {}
    first_message: dict[str, str] = {}
    observed: dict[str, dict[str, Any]] = {}
    for result in results:
        if result.outcome == "skipped":
            continue
        judged.setdefault(result.case, set()).add(result.mode)
        # A stale entry turned a pass into a failure: the case passes, so its entry goes.
        if result.outcome in _FAILING_OUTCOMES and not result.message.startswith(STALE_PREFIX):
            failed.setdefault(result.case, set()).add(result.mode)
            first_message.setdefault(result.case, _first_line(result.message))
            if result.evidence and result.mode in BASELINE_MODES:
                observed.setdefault(result.case, {})[result.mode] = dict(result.evidence)
    kept = {entry.case: entry for entry in reversed(previous.entries)}
    entries: list[dict[str, Any]] = []
    for case, modes in failed.items():
        entry: dict[str, Any] = {"case": case}
        old = kept.get(case)
        seen = {mode: observed[case][mode] for mode in sorted(observed.get(case, {}))}
        entry.update(_kept_entry(old, seen) if old else _new_entry(first_message[case], seen))
        named = sorted(modes & set(BASELINE_MODES))
        if modes != judged[case] and named:
            entry["modes"] = named
        entries.append(entry)
    document: dict[str, Any] = {}
    if client or previous.client:
        document["client"] = previous.client or client
    document["expected_failures"] = entries
    return document


def _kept_entry(old: ExpectedFailure, seen: dict[str, Any]) -> dict[str, Any]:
    # With evidence the reason is generated: a person's words stay beside it, as a note.
    fields: dict[str, Any] = {} if seen else {"reason": old.written or old.reason}
    fields.update(_optional_fields(old))
    note = old.note or (old.written if seen else None)
    if note:
        fields["note"] = note
    if seen:
        fields["observed"] = seen
    return fields


def _new_entry(message: str, seen: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {"observed": seen} if seen else {"reason": _reason_from(message)}
    fields["review"] = True
    return fields


def _optional_fields(entry: ExpectedFailure) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if entry.issue:
        fields["issue"] = entry.issue
    if entry.expires is not None:
        fields["expires"] = entry.expires.isoformat()
    if entry.client is not None:
        fields["client"] = entry.client
    if entry.review:
        fields["review"] = True
    return fields


def _reason_from(line: str) -> str:
    # The format wants a reason a person can read (at least 5 characters).
    return line if len(line) >= 5 else f"fails ({line or 'no message'}): state the defect here"


def _first_line(text: str) -> str:
    # The failure message starts with the check's title: that is the defect, until a person
    # words it better. Long lines are cut so the file stays readable.
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 200 else line[:197] + "..."


def update_baseline_file(
    path: Path,
    previous: Baseline,
    results: Iterable[Failing],
    *,
    client: str | None,
    version: str | None,
    modes: Iterable[str],
) -> str:
    """``run --baseline-update FILE``: write FILE from a run's results; the summary line.

    The previous entries are ``previous`` (``--baseline``), else FILE's own if it exists.
    """
    if not previous.path and path.is_file():
        previous = load_baseline(path, option="--baseline-update")
    document = updated_document(previous, results, client)
    who = " ".join(part for part in (client or "the client", version) if part)
    comment = (
        f"Expected failures of {who}, written by b24-conformance run --baseline-update from a "
        f"run in {'+'.join(modes)} mode.\nEach `observed` is the evidence the run recorded; the "
        "reason shown is made from it.\nEntries with `review: true` are new: check them, add a "
        "`note` if the evidence needs one, then drop `review`."
    )
    write_baseline(path, document, comment=comment)
    entries = document["expected_failures"]
    review = sum(1 for entry in entries if entry.get("review"))
    return (
        f"baseline written: {path}, {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
        f"{review} marked for review"
    )


class _Dumper(yaml.SafeDumper):
    """Lists of plain values on one line (request lines with their counts, attempt times)."""

    def represent_flat_list(self, data: Any) -> yaml.Node:
        flat = all(isinstance(item, str | int | float) for item in data)
        if all(isinstance(item, list) for item in data):
            flat = all(isinstance(x, str | int | float) for item in data for x in item)
        return self.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(list, _Dumper.represent_flat_list)


def write_baseline(path: Path, document: Mapping[str, Any], *, comment: str) -> None:
    """Write a baseline document as YAML under a header comment; it must load back."""
    problem = schema_problem(str(path), dict(document))
    if problem:
        raise BaselineError(f"refusing to write an invalid baseline: {problem}")
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    body = yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + body, encoding="utf-8")
