"""The run's summary on the terminal, from its report.json document: the counts, the failures
grouped by check with the first case ids, where the details are, and the verdict last.

``-q`` makes it one line; ``-v`` adds the counts per level, every case id and the first
line of each check's example.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from conformance.findings import conformant, findings, first_ids, level_counts, verdict
from conformance.results import OUTCOMES

#: Case ids a check's line names before "and N more" (without -v).
SHOWN_IDS: Final = 3
REPORT_FILES: Final = "report.md, report.html, report.json, junit.xml"


@dataclass(frozen=True)
class Line:
    """One line of the summary; ``bad`` lines are shown in red."""

    text: str
    bad: bool = False


def _details(report_dir: Path | None, prefix: str) -> str:
    if report_dir is None:
        return f"details: {prefix}report DIR writes {REPORT_FILES}"
    return f"details: {report_dir / 'report.md'} (the case x mode matrix: report.html)"


def one_line(document: Mapping[str, Any], report_dir: Path | None, prefix: str = "--") -> Line:
    """The whole summary in one line (``-q``)."""
    checks = ", ".join(f"{f.check} {len(f.case_ids)}" for f in findings(document))
    counts = ", ".join(f"{document['summary'][o]} {o}" for o in OUTCOMES if document["summary"][o])
    text = f"{document['client']['name']}: {verdict(document)} ({counts or 'no case ran'})"
    if checks:
        text += f"; failed checks: {checks}"
    text += f"; {_details(report_dir, prefix)}"
    return Line(text, bad=not conformant(document))


def summary_lines(
    document: Mapping[str, Any],
    *,
    report_dir: Path | None,
    verbose: int = 0,
    prefix: str = "--",
    extra: Sequence[Line] = (),
) -> list[Line]:
    """The summary, the verdict last; ``extra`` lines (baseline, live) go before the details."""
    if verbose < 0:
        return [one_line(document, report_dir, prefix)]
    modes = document["mode"].split("+")
    client = document["client"]
    version = f" {client['version']}" if client.get("version") else ""
    lines = [
        Line(f"client {client['name']!r}{version} ({client['spec']})"),
        Line(f"{'mode':<8}" + "".join(f"{o:>9}" for o in OUTCOMES)),
    ]
    for mode in modes:
        in_mode = Counter(e["outcome"] for e in document["cases"] if e["mode"] == mode)
        lines.append(Line(f"{mode:<8}" + "".join(f"{in_mode[o]:>9}" for o in OUTCOMES)))
    if verbose:
        lines.append(Line(f"{'level':<8}" + "".join(f"{o:>9}" for o in OUTCOMES)))
        for level, counts in level_counts(document).items():
            lines.append(Line(f"{level:<8}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES)))
    found = findings(document)
    if found:
        lines.append(Line("failed checks (cases):"))
        width = max(len(f.check) for f in found)
        for finding in found:
            ids = finding.case_ids
            shown = ", ".join(ids) if verbose else first_ids(ids, SHOWN_IDS)
            lines.append(
                Line(f"  {finding.check:<{width}} {len(ids):>4}  {shown}", bad=True),
            )
            if verbose:
                first = finding.example["message"].splitlines()
                lines.append(Line(f"  {'':<{width}}       e.g. {first[0] if first else ''}"))
    lines += list(extra)
    lines.append(Line(_details(report_dir, prefix)))
    lines.append(Line(verdict(document), bad=not conformant(document)))
    return lines
