"""What a run found, grouped for people: the verdict, counts per level, failures by check and
skips by reason. Read from a report.json document, so the terminal, report.md and report.html
group alike and the data stays apart from its rendering."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final

from conformance import _data
from conformance.checks import CHECKS
from conformance.properties import PROPERTIES
from conformance.results import OUTCOMES

LEVELS: Final = ("must", "should", "may")
FAILING: Final = ("failed", "errored")
#: The group of cases where an exception escaped the adapter (no check judged them).
ERRORED: Final = "errored"
#: The group of cases that failed because the baseline no longer holds.
BASELINE: Final = "baseline"

Entry = Mapping[str, Any]


@dataclass
class Finding:
    """One failed check (or the errored group): what it means, how to fix it, where it failed."""

    check: str
    description: str
    fix: str
    entries: list[Entry] = field(default_factory=list)

    @property
    def case_ids(self) -> list[str]:
        """The failing case ids, first seen first, each once whatever the modes."""
        return list(dict.fromkeys(entry["id"] for entry in self.entries))

    @property
    def modes(self) -> list[str]:
        return list(dict.fromkeys(entry["mode"] for entry in self.entries))

    @property
    def levels(self) -> Counter[str]:
        """Failing cases per level (a case failing in several modes counts once)."""
        return Counter({entry["id"]: entry["level"] for entry in self.entries}.values())

    @property
    def example(self) -> Entry:
        """The entry to show in full: a must case first, then the first one seen."""
        musts = [entry for entry in self.entries if entry["level"] == "must"]
        return (musts or self.entries)[0]


@cache
def fixes() -> Mapping[str, str]:
    """How to fix a client, per check id (conformance/checks/fixes.yaml)."""
    loaded = _data.read_yaml(_data.fixes_file())
    return {str(key): " ".join(str(value).split()) for key, value in loaded.items()}


def describe_check(check: str) -> str:
    """What a check means: its registered description (a property's own, for properties)."""
    if check in CHECKS:
        return CHECKS[check].description
    if check in PROPERTIES:
        return PROPERTIES[check].description
    return {
        ERRORED: "An exception escaped the adapter: a crash is reported apart from failures.",
        BASELINE: "A baseline entry no longer holds.",
    }.get(check, "")


def _groups_of(entry: Entry) -> list[str]:
    if entry["outcome"] == "errored":
        # The crash is the must-level reason; the checks that failed beside it come after.
        return [ERRORED, *entry["checks"]]
    if entry["checks"]:
        return list(entry["checks"])
    return [BASELINE] if "baseline" in entry["message"] else [ERRORED]


def findings(document: Mapping[str, Any]) -> list[Finding]:
    """Failed and errored cases by check, the check failing most cases first."""
    groups: dict[str, Finding] = {}
    for entry in document["cases"]:
        if entry["outcome"] not in FAILING:
            continue
        for check in _groups_of(entry):
            if check not in groups:
                groups[check] = Finding(check, describe_check(check), fixes().get(check, ""))
            groups[check].entries.append(entry)
    return sorted(groups.values(), key=lambda found: (-len(found.case_ids), found.check))


def level_counts(document: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """Outcome counts per level (over every case and mode), levels that occur only."""
    if "levels" in document:  # the session counted them (a case counts at its shortfall's level)
        return {
            level: dict(counts)
            for level, counts in document["levels"].items()
            if any(counts.values())
        }
    counts: dict[str, Counter[str]] = {}
    for entry in document["cases"]:
        counts.setdefault(entry["level"], Counter())[entry["outcome"]] += 1
    return {
        level: {outcome: counts[level].get(outcome, 0) for outcome in OUTCOMES}
        for level in LEVELS
        if level in counts
    }


def verdict(document: Mapping[str, Any]) -> str:
    """One line: is the client conformant, and what decides it."""
    if "interrupted" in document:
        not_run = len(document["interrupted"]["not_run"])
        return f"INTERRUPTED: {not_run} selected case run(s) did not run; the counts are no verdict"
    counts = level_counts(document)
    must = counts.get("must", {})
    failing_must = must.get("failed", 0) + must.get("errored", 0)
    shortfalls = sum(
        counts.get(level, {}).get(outcome, 0) for level in ("should", "may") for outcome in FAILING
    )
    problems = len(document.get("baseline_problems", ()))
    # Under --strict a should or may shortfall fails the run like a must failure.
    strict = bool(document.get("strict"))
    if failing_must or problems or (strict and shortfalls):
        reasons = []
        if failing_must:
            reasons.append(f"{failing_must} must case run(s) failed or errored")
        if problems:
            reasons.append(f"{problems} baseline problem(s)")
        if shortfalls:
            reasons.append(
                f"{shortfalls} should/may shortfall(s)" + (" (--strict)" if strict else "")
            )
        return "NOT CONFORMANT: " + ", ".join(reasons)
    if shortfalls:
        return f"CONFORMANT at level must, with {shortfalls} should/may shortfall(s)"
    return "CONFORMANT: every must, should and may case passed, was skipped or was expected"


def conformant(document: Mapping[str, Any]) -> bool:
    """Whether :func:`verdict` says the client conforms (an interrupted run never does)."""
    return verdict(document).startswith("CONFORMANT")


def skip_reasons(document: Mapping[str, Any]) -> list[tuple[str, list[Entry]]]:
    """Skipped cases grouped by reason, the most common reason first."""
    groups: dict[str, list[Entry]] = {}
    for entry in document["cases"]:
        if entry["outcome"] == "skipped":
            groups.setdefault(entry["message"] or "no reason given", []).append(entry)
    return sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))


def failure_block(message: str, check: str) -> str:
    """The parts of a case's message that one check wrote (each ``[check] title`` block)."""
    blocks: list[list[str]] = []
    for line in message.splitlines():
        if line.startswith("[") or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    mine = [block for block in blocks if block and block[0].startswith(f"[{check}]")]
    return "\n".join("\n".join(block) for block in mine) if mine else message


def first_ids(ids: Sequence[str], shown: int) -> str:
    """``ids`` joined, the first ``shown`` of them, with how many more there are."""
    head = ", ".join(ids[:shown])
    rest = len(ids) - shown
    return f"{head} and {rest} more" if rest > 0 else head


def reruns(entries: Iterable[Entry]) -> list[str]:
    """Each rerun command once, in order."""
    return list(dict.fromkeys(entry["rerun"] for entry in entries if entry.get("rerun")))
