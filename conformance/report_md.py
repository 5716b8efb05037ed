"""report.md from a report.json document: the verdict first, then what to fix, check by check.

Only rendering lives here; what the run found and how it is grouped come from the document
(conformance.reports) and conformance.findings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from conformance.case import case_by_id
from conformance.findings import (
    LEVELS,
    Finding,
    failure_block,
    findings,
    first_ids,
    level_counts,
    reruns,
    skip_reasons,
    verdict,
)
from conformance.results import OUTCOMES

#: Case ids a table cell names before "and N more".
SHOWN_IDS: Final = 5


def render_markdown(document: Mapping[str, Any]) -> str:
    """The whole report.md of ``document``."""
    found = findings(document)
    version = document["client"].get("version")
    lines = [
        f"# b24-conformance report: {document['client']['name']}"
        + (f" {version}" if version else ""),
        "",
        f"**{verdict(document)}**",
        "",
        f"Client {document['client']['name']} version {version or '(not declared)'}.",
        _run_line(document),
        "",
        *_counts_table(document),
        "",
        *_checks_table(found),
        *_baseline_problems(document),
        *_interrupted(document),
    ]
    for finding in found:
        lines += ["", *_finding_section(finding)]
    lines += ["", *_skips(document), "", *_reruns(document)]
    return "\n".join(lines).rstrip() + "\n"


def _run_line(document: Mapping[str, Any]) -> str:
    seed = document["seed"]
    seeds = (
        f"seed {seed}"
        if seed is not None
        else "no --seed (cases are fixed; each property's rerun below carries the seed it used)"
    )
    return (
        f"Client `{document['client']['spec']}`, suite {document['suite']['version']}, "
        f"modes {document['mode'].replace('+', ', ')}, profile {document['profile']}, "
        f"{seeds}, started {document['started']}. Every case in every mode: report.json; "
        "the case x mode matrix: report.html."
    )


def _counts_table(document: Mapping[str, Any]) -> list[str]:
    lines = [
        "| level | " + " | ".join(OUTCOMES) + " |",
        "|---|" + "---:|" * len(OUTCOMES),
    ]
    for level, counts in level_counts(document).items():
        lines.append(f"| {level} | " + " | ".join(str(counts[o]) for o in OUTCOMES) + " |")
    total = " | ".join(str(document["summary"][o]) for o in OUTCOMES)
    lines.append(f"| **all** | {total} |")
    return lines


def _anchor(check: str) -> str:
    return "check-" + "".join(c if c.isalnum() else "-" for c in check.lower())


def _checks_table(found: list[Finding]) -> list[str]:
    if not found:
        return ["## Failed checks", "", "None: no case failed or errored."]
    lines = [
        "## Failed checks",
        "",
        "| check | cases | modes | first cases |",
        "|---|---:|---|---|",
    ]
    for finding in found:
        lines.append(
            f"| [{finding.check}](#{_anchor(finding.check)}) | {len(finding.case_ids)} | "
            f"{', '.join(finding.modes)} | {first_ids(finding.case_ids, SHOWN_IDS)} |"
        )
    return lines


def _baseline_problems(document: Mapping[str, Any]) -> list[str]:
    problems = [f"**Baseline problem:** {p}" for p in document.get("baseline_problems") or []]
    notes = [f"Baseline note: {note}" for note in document.get("baseline_notes") or []]
    return ["", *problems, *notes] if problems or notes else []


#: Cases an interrupted run's report lists as not run, before "and N more".
SHOWN_NOT_RUN: Final = 200


def _interrupted(document: Mapping[str, Any]) -> list[str]:
    if "interrupted" not in document:
        return []
    not_run = document["interrupted"]["not_run"]
    lines = [
        "",
        f"**Interrupted:** the run was stopped before it ended; {len(not_run)} selected "
        "case(s) did not run, so this report is incomplete and the summary is no verdict.",
        "",
    ]
    lines += [f"- {entry['id']} ({entry['mode']})" for entry in not_run[:SHOWN_NOT_RUN]]
    if len(not_run) > SHOWN_NOT_RUN:
        lines.append(f"- ... and {len(not_run) - SHOWN_NOT_RUN} more (report.json lists them all)")
    return lines


def _case_description(case_id: str) -> str:
    try:
        return case_by_id(case_id).description
    except KeyError:
        return ""


def _finding_section(finding: Finding) -> list[str]:
    example = finding.example
    levels = ", ".join(
        f"{level} {finding.levels[level]}" for level in LEVELS if level in finding.levels
    )
    description = _case_description(example["id"])
    lines = [
        f'<a id="{_anchor(finding.check)}"></a>',
        "",
        f"## {finding.check}: {len(finding.case_ids)} case(s)",
        "",
        f"**What it means:** {finding.description or 'see the message below.'}",
        "",
        f"**How to fix it in a client:** {finding.fix or 'see the hint in the example.'}",
        "",
        f"**Failed in:** modes {', '.join(finding.modes)}; levels {levels}.",
        "",
        f"**Cases:** {', '.join(finding.case_ids)}.",
        "",
        f"### Example: {example['id']} ({example['mode']}, {example['level']}, "
        f"{example['outcome']})",
        "",
    ]
    if description:
        lines += [description, ""]
    lines += ["```", failure_block(example["message"], finding.check), "```", ""]
    # The rerun is said once, in the Rerun section, so it leaves the reproduction here.
    reproduction = [
        line
        for line in example.get("reproduction", "").splitlines()
        if not (example.get("rerun") and example["rerun"] in line)
    ]
    if reproduction:
        lines += ["Reproduce:", "", "```sh", *reproduction, "```"]
    return lines


def _skips(document: Mapping[str, Any]) -> list[str]:
    groups = skip_reasons(document)
    lines = ["## Skipped", ""]
    if not groups:
        return [*lines, "None."]
    lines += ["| reason | case runs | modes | first cases |", "|---|---:|---|---|"]
    for reason, entries in groups:
        ids = list(dict.fromkeys(entry["id"] for entry in entries))
        modes = ", ".join(dict.fromkeys(entry["mode"] for entry in entries))
        cell = reason.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {cell} | {len(entries)} | {modes} | {first_ids(ids, SHOWN_IDS)} |")
    return lines


def _reruns(document: Mapping[str, Any]) -> list[str]:
    failing = [c for c in document["cases"] if c["outcome"] in ("failed", "errored", "xfailed")]
    commands = reruns(failing)
    if not commands:
        return []
    return ["## Rerun", "", "Each failing case and mode, once:", "", "```sh", *commands, "```"]
