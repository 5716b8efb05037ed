"""report.html from a report.json document: one self-contained page (inline CSS and a few lines
of inline script, nothing fetched) with the verdict, a bar per level, the failed checks and the
case x mode matrix. Every number carries a ``data-count`` naming what it counts, so a test can
hold the rendered page to report.json."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any, Final

from conformance.findings import (
    Finding,
    conformant,
    failure_block,
    findings,
    level_counts,
    verdict,
)
from conformance.results import OUTCOMES

#: The page may fetch nothing: styles and the script are inline, everything else is refused.
CSP: Final = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"

STYLE: Final = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 72em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.verdict { font-size: 1.25em; font-weight: 600; padding: .6em .9em; border-radius: 4px; }
.verdict.bad { background: #fde2e1; color: #8a1c17; } .verdict.good { background: #e3f5e1; }
.bar { display: flex; height: 1.3em; width: 40em; border: 1px solid #bbb; }
.bar span { display: block; height: 100%; }
table { border-collapse: collapse; } td, th { padding: .2em .6em; text-align: left; }
tr:nth-child(even) { background: #f6f6f6; }
.passed { background: #7cc47f; } .failed { background: #e5635a; } .errored { background: #a0303a; }
.xfailed { background: #e8b04a; } .skipped { background: #c9c9c9; }
td.passed, td.failed, td.errored, td.xfailed, td.skipped { text-align: center; color: #111; }
pre { background: #f3f3f3; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.legend span { padding: 0 .5em; margin-right: .4em; }
"""

# Hides the matrix rows that passed in every mode; marks the page ready for tests.
SCRIPT: Final = """
(function () {
  var box = document.getElementById("only-failing");
  var rows = document.querySelectorAll("#matrix tbody tr");
  box.addEventListener("change", function () {
    rows.forEach(function (row) {
      row.hidden = box.checked && row.dataset.failing !== "1";
    });
  });
  document.documentElement.dataset.ready = "1";
})();
"""

SHORT: Final = {"passed": "pass", "failed": "FAIL", "xfailed": "xfail", "skipped": "skip",
                "errored": "ERROR"}  # fmt: skip


def _count(name: str, value: int) -> str:
    return f'<span data-count="{escape(name)}">{value}</span>'


def render_html(document: Mapping[str, Any]) -> str:
    """The whole report.html of ``document``."""
    client = document["client"]
    text = verdict(document)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        f"<title>b24-conformance report: {escape(client['name'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>b24-conformance report: {escape(client['name'])}</h1>",
        f'<p class="verdict {"good" if conformant(document) else "bad"}" id="verdict">'
        f"{escape(text)}</p>",
        f"<p>Client <code>{escape(client['spec'])}</code>, suite "
        f"{escape(document['suite']['version'])}, modes "
        f"{escape(document['mode'].replace('+', ', '))}, started "
        f"{escape(document['started'])}.</p>",
        *_levels(document),
        *_checks(findings(document)),
        *_matrix(document),
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def _levels(document: Mapping[str, Any]) -> list[str]:
    legend = "".join(f'<span class="{o}">{o}</span>' for o in OUTCOMES)
    rows = [
        "<h2>Levels</h2>",
        f'<p class="legend">{legend}</p>',
        '<table id="levels"><thead><tr><th>level</th><th>bar</th>'
        + "".join(f"<th>{o}</th>" for o in OUTCOMES)
        + "</tr></thead><tbody>",
    ]
    for level, counts in level_counts(document).items():
        total = sum(counts.values()) or 1
        segments = "".join(
            f'<span class="{o}" style="width:{100 * counts[o] / total:.2f}%" '
            f'title="{o}: {counts[o]}"></span>'
            for o in OUTCOMES
            if counts[o]
        )
        cells = "".join(f"<td>{_count(f'{level}.{o}', counts[o])}</td>" for o in OUTCOMES)
        rows.append(f'<tr><th>{level}</th><td><div class="bar">{segments}</div></td>{cells}</tr>')
    summary = document["summary"]
    cells = "".join(f"<td>{_count(f'all.{o}', summary[o])}</td>" for o in OUTCOMES)
    rows += [f"<tr><th>all</th><td></td>{cells}</tr>", "</tbody></table>"]
    return rows


def _checks(found: list[Finding]) -> list[str]:
    rows = ["<h2>Failed checks</h2>"]
    if not found:
        return [*rows, '<p id="no-failures">None: no case failed or errored.</p>']
    rows.append(
        '<table id="checks"><thead><tr><th>check</th><th>cases</th><th>modes</th>'
        "<th>what it means</th><th>how to fix it</th></tr></thead><tbody>"
    )
    for finding in found:
        rows.append(
            f"<tr><td><code>{escape(finding.check)}</code></td>"
            f"<td>{_count(f'check.{finding.check}', len(finding.case_ids))}</td>"
            f"<td>{escape(', '.join(finding.modes))}</td>"
            f"<td>{escape(finding.description)}</td><td>{escape(finding.fix)}</td></tr>"
        )
    rows.append("</tbody></table>")
    for finding in found:
        example = finding.example
        rows += [
            f"<h3>{escape(finding.check)}: {escape(example['id'])} ({escape(example['mode'])}, "
            f"{escape(example['level'])})</h3>",
            f"<pre>{escape(failure_block(example['message'], finding.check))}</pre>",
            f"<pre>{escape(example.get('rerun', ''))}</pre>",
        ]
    return rows


def _matrix(document: Mapping[str, Any]) -> list[str]:
    modes = document["mode"].split("+")
    by_case: dict[str, dict[str, Mapping[str, Any]]] = {}
    for entry in document["cases"]:
        by_case.setdefault(entry["id"], {})[entry["mode"]] = entry
    rows = [
        "<h2>Cases x modes</h2>",
        '<p><label><input type="checkbox" id="only-failing"> only cases that did not pass'
        "</label></p>",
        '<table id="matrix"><thead><tr><th>case</th><th>level</th>'
        + "".join(f"<th>{escape(mode)}</th>" for mode in modes)
        + "</tr></thead><tbody>",
    ]
    for case_id, entries in by_case.items():
        level = next(iter(entries.values()))["level"]
        failing = any(e["outcome"] != "passed" for e in entries.values())
        cells = []
        for mode in modes:
            entry = entries.get(mode)
            if entry is None:
                cells.append("<td></td>")
                continue
            lines = entry["message"].splitlines()
            cells.append(
                f'<td class="{entry["outcome"]}" data-outcome="{entry["outcome"]}" '
                f'title="{escape(lines[0] if lines else entry["outcome"])}">'
                f"{SHORT[entry['outcome']]}</td>"
            )
        rows.append(
            f'<tr data-failing="{int(failing)}"><td><code>{escape(case_id)}</code></td>'
            f"<td>{level}</td>{''.join(cells)}</tr>"
        )
    rows.append("</tbody></table>")
    return rows
