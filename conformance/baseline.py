"""Baselines: a client's expected failures, held strictly (YAML, format schemas/baseline.json).

The functions here are pure: the run hands in the client's version and today's date, so an
entry's lifecycle (``expires``, a ``client`` version range) is decided without a clock.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance import evidence, schemas
from conformance._yaml import load_yaml
from conformance.errors import UsageError

#: modes a baseline entry may name (schemas/baseline.json); live runs judge a portal, not a client
BASELINE_MODES = ("stub", "replay", "portal")
_FORMAT_HINT = (
    "expected: expected_failures: [{case, reason or observed, note?, issue?, modes?, expires?, "
    "client?}]"
)


class BaselineError(UsageError):
    """A baseline file that cannot be read or breaks its format."""


@dataclass(frozen=True)
class ExpectedFailure:
    case: str
    reason: str
    issue: str | None
    modes: frozenset[str] | None
    #: the last day the entry holds; from the day after, it is expired
    expires: date | None = None
    #: a PEP 440 version range (">=1.3,<1.4") of the client versions the entry is for
    client: str | None = None
    #: written by ``run --baseline-update`` for a new failure: a person has to state the defect
    review: bool = False
    #: mode -> the evidence recorded there (conformance.evidence); ``reason`` is made from it
    observed: Mapping[str, Mapping[str, Any]] | None = None
    #: a person's remark beside the generated reason
    note: str | None = None
    #: the reason as a person wrote it in the file (None: generated from ``observed``)
    written: str | None = None

    def covers(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes

    def expired(self, today: date) -> bool:
        return self.expires is not None and today > self.expires


@dataclass(frozen=True)
class Baseline:
    path: str
    client: str | None
    entries: tuple[ExpectedFailure, ...]

    def lookup(self, case_id: str, mode: str) -> ExpectedFailure | None:
        for entry in self.entries:
            if entry.case == case_id and entry.covers(mode):
                return entry
        return None

    def unknown_cases(self, known: set[str]) -> list[str]:
        return [e.case for e in self.entries if e.case not in known]


EMPTY = Baseline(path="", client=None, entries=())


def nearest(name: str, known: Iterable[str]) -> str | None:
    """The known id closest to a mistyped one, if any is close enough to be meant."""
    matches = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest known id, or nothing."""
    match = nearest(name, known)
    return f" (did you mean {match!r}?)" if match else ""


def schema_problem(where: str, document: Any) -> str | None:
    """What is wrong with a baseline document (the first problem, one line), or None."""
    problems = list(schemas.validator(schemas.uri("baseline.json")).iter_errors(document))
    if not problems:
        return None
    first = min(problems, key=lambda e: list(map(str, e.absolute_path)))
    message = first.message
    if first.validator == "anyOf":
        message = (
            "an entry needs 'reason' (a person's words) or 'observed' (the evidence "
            "run --baseline-update writes)"
        )
    elif first.validator == "minLength":
        message += f": at least {first.validator_value} characters are required"
    elif first.validator == "format":
        message += f" (expected a {first.validator_value}, as in 2027-01-31)"
    return f"{where}: {first.json_path}: {message} ({_FORMAT_HINT})"


def _dates_as_text(document: Any) -> Any:
    # YAML reads an unquoted 2027-01-31 as a date; the format schema describes JSON text.
    if isinstance(document, dict):
        for raw in document.get("expected_failures") or ():
            if isinstance(raw, dict) and isinstance(raw.get("expires"), date):
                raw["expires"] = raw["expires"].isoformat()
    return document


def _version_range(where: str, position: int, text: str) -> str:
    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise BaselineError(
            f"{where}: $.expected_failures[{position}].client: {text!r} is not a "
            "PEP 440 version range (expected e.g. '>=1.3,<1.4')"
        ) from None
    return text


def load_baseline(path: str | Path, option: str = "--baseline") -> Baseline:
    """A baseline file; errors name ``option``, the file and what is wrong."""
    file, shown = Path(path), str(path)
    try:
        document = load_yaml(file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise BaselineError(f"{option} {shown!r}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise BaselineError(f"{option} {shown!r}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        said = " ".join(str(exc).split())
        raise BaselineError(f"{option} {shown!r}: not YAML ({said})") from None
    where = f"{option} {shown!r}"
    problem = schema_problem(where, _dates_as_text(document))
    if problem:
        raise BaselineError(problem)
    entries = tuple(
        ExpectedFailure(
            case=raw["case"],
            reason=shown_reason(raw.get("reason"), raw.get("observed"), raw.get("note")),
            written=raw.get("reason"),
            observed=raw.get("observed"),
            note=raw.get("note"),
            issue=raw.get("issue"),
            modes=frozenset(raw["modes"]) if "modes" in raw else None,
            expires=date.fromisoformat(raw["expires"]) if "expires" in raw else None,
            client=_version_range(f"{option} {shown!r}", position, raw["client"])
            if "client" in raw
            else None,
            review=bool(raw.get("review", False)),
        )
        for position, raw in enumerate(document["expected_failures"])
    )
    return Baseline(shown, document.get("client"), entries)


def shown_reason(
    written: str | None, observed: Mapping[str, Mapping[str, Any]] | None, note: str | None
) -> str:
    """The reason an entry shows: a person's ``written`` one, else the line generated from the
    first recorded mode's evidence; a ``note`` follows in brackets."""
    if written:
        text = written
    elif observed:
        mode = next(m for m in (*BASELINE_MODES, *observed) if m in observed)
        text = evidence.describe(observed[mode], mode)
    else:
        text = "no reason given"
    return f"{text} [note: {note}]" if note else text


# ---------------------------------------------------------------------------------------------
# The lifecycle: which entries hold for this client version today


@dataclass(frozen=True)
class AppliedBaseline:
    """A baseline as one run holds it: the entries in force, the expired ones, and notes."""

    baseline: Baseline
    active: tuple[ExpectedFailure, ...]
    expired: tuple[ExpectedFailure, ...]
    #: entries left out on purpose (another client version), and entries marked for review
    notes: tuple[str, ...]

    def lookup(self, case_id: str, mode: str) -> ExpectedFailure | None:
        for entry in self.active:
            if entry.case == case_id and entry.covers(mode):
                return entry
        return None

    def problems(self, known: Collection[str]) -> list[str]:
        """What fails the run before a case runs: entries for no case, and expired entries."""
        path = self.baseline.path
        lines = [
            f"baseline {path} lists case {entry.case}, which no longer exists"
            + did_you_mean(entry.case, known)
            for entry in self.baseline.entries
            if entry.case not in known
        ]
        lines += [
            f"baseline {path}: the entry for {entry.case} expired on {entry.expires}: "
            "fix the client, or renew the entry with a new expires date"
            for entry in self.expired
        ]
        return lines

    def header(self) -> str | None:
        """The run header's baseline line, or None without a baseline."""
        if not self.baseline.path:
            return None
        count = len(self.baseline.entries)
        return (
            f"baseline: {self.baseline.path}, {count} entr{'y' if count == 1 else 'ies'}, "
            f"{len(self.expired)} expired"
        )


def apply_baseline(baseline: Baseline, client_version: str | None, today: date) -> AppliedBaseline:
    """Sort a baseline's entries for a client version on a day: in force, expired, ignored."""
    active: list[ExpectedFailure] = []
    expired: list[ExpectedFailure] = []
    notes: list[str] = []
    version = _parse_version(client_version)
    for entry in baseline.entries:
        if entry.client is not None:
            if version is None:
                shown = (
                    "declares no version"
                    if client_version is None
                    else (f"version {client_version!r} is not a PEP 440 version")
                )
                notes.append(
                    f"baseline entry for {entry.case} (client {entry.client}) does not apply: "
                    f"the adapter {shown}"
                )
                continue
            if not SpecifierSet(entry.client).contains(version, prereleases=True):
                notes.append(
                    f"baseline entry for {entry.case} does not apply: it is for client "
                    f"{entry.client}, this is {client_version}"
                )
                continue
        if entry.expired(today):
            expired.append(entry)
        else:
            active.append(entry)
    review = [entry.case for entry in baseline.entries if entry.review]
    if review:
        notes.append(
            f"baseline {baseline.path}: {len(review)} entr{'y' if len(review) == 1 else 'ies'} "
            f"marked for review (state the defect, then drop `review`): {', '.join(review[:5])}"
            + (" ..." if len(review) > 5 else "")
        )
    return AppliedBaseline(baseline, tuple(active), tuple(expired), tuple(notes))


#: how a stale entry's result message starts (the case passed although the baseline lists it)
STALE_PREFIX = "listed in baseline "
#: how a changed entry's result message starts (it fails, but not as recorded)
CHANGED_PREFIX = "fails otherwise than baseline "


def judge(
    entry: ExpectedFailure,
    path: str,
    outcome: str,
    message: str,
    observed: Mapping[str, Any] | None = None,
    mode: str = "",
) -> tuple[Literal["xfailed", "failed"], str]:
    """A result's outcome and message once its baseline entry is applied (strict).

    Where the entry recorded evidence for ``mode``, the failure must show it again
    (``observed``): a client that now fails in another way is not the recorded defect.
    """
    if outcome in ("failed", "errored"):
        recorded = (entry.observed or {}).get(mode)
        changed = evidence.difference(recorded, observed or {}) if recorded else None
        if changed:
            return "failed", (
                f"{CHANGED_PREFIX}{path} records for {entry.case} in {mode} mode ({changed}): "
                f"rerun with --baseline-update {path} to record what it does now; {message}"
            )
        return "xfailed", f"expected failure ({entry.reason}); {message}"
    return "failed", (
        f"{STALE_PREFIX}{path} as an expected failure ({entry.reason}), but it passed: "
        "remove the entry"
    )


def _parse_version(text: str | None) -> Version | None:
    if text is None:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None
