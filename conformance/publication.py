"""The compliance publication: ``docs/compliance.md``, ``docs/compliance.json`` and
``docs/badges/<client>.json`` as a pure function of the kept run records and the baselines'
reasons, so a test can regenerate the committed files and prove nobody edited them.

The runs themselves (subprocesses, records on disk) are ``conformance.compliance``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from conformance.compliance_html import render_compliance_html

LEVELS: Final = ("must", "should", "may")
#: Who made the page: `compliance` runs the known clients itself and keeps their records under
#: docs/compliance/; `merge` gathers the report folders of separate runs (a CI matrix).
COMPILED_BY: Final = "b24-conformance compliance"
MERGED_BY: Final = "b24-conformance merge"
#: Where each maker keeps the records, as a page beside them links to them.
RECORDS: Final = {COMPILED_BY: "docs/compliance/*/", MERGED_BY: "compliance/*/"}
BADGES_DIR: Final = "docs/badges"
#: What a matrix cell shows for a case's verdict.
MARKS: Final = {"pass": "✅", "fail": "❌", "skip": "⏭️"}


@dataclass(frozen=True)
class ClientRecord:
    """One client's run as the publication reads it."""

    name: str
    #: report.json of the run (format: schemas/report.json)
    report: Mapping[str, Any]
    #: run.json: spec, command, package, version, python, exit_code
    run: Mapping[str, Any]
    #: the defect each baseline entry states, by case id (empty without a baseline): its
    #: note, else what failed in its recorded evidence
    reasons: Mapping[str, str]
    #: the page under docs/ that shows each defect on the wire ("" when there is none)
    findings: str = ""
    #: the line generated from each entry's recorded evidence, by case id
    observed: Mapping[str, str] = field(default_factory=dict)


def _verdict(outcomes: Iterable[str]) -> str:
    """One case over the modes it ran in: a failure anywhere fails it; all skipped skips it."""
    seen = set(outcomes)
    if seen & {"failed", "xfailed", "errored"}:
        return "fail"
    if "passed" in seen:
        return "pass"
    return "skip"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _client_entry(record: ClientRecord) -> dict[str, Any]:
    report, run = record.report, record.run
    by_case: dict[str, list[Mapping[str, Any]]] = {}
    for case in report["cases"]:
        by_case.setdefault(case["id"], []).append(case)
    verdicts = {cid: _verdict(c["outcome"] for c in cases) for cid, cases in by_case.items()}
    levels = {cid: cases[0].get("level", "must") for cid, cases in by_case.items()}
    summary: dict[str, dict[str, int]] = {}
    for level in (*LEVELS, "all"):
        counts = {"pass": 0, "fail": 0, "skip": 0}
        for cid, verdict in verdicts.items():
            if level in ("all", levels[cid]):
                counts[verdict] += 1
        summary[level] = counts
    defects: dict[str, list[str]] = {}
    skips: dict[str, list[str]] = {}
    for cid, verdict in verdicts.items():
        if verdict == "fail":
            reason = record.reasons.get(cid) or (
                "not in the baseline: " + first_line(by_case[cid][0].get("message", ""))
            )
            defects.setdefault(reason, []).append(cid)
        elif verdict == "skip":
            skips.setdefault(first_line(by_case[cid][0].get("message", "")), []).append(cid)
    entry = {
        "name": record.name,
        "adapter": report["client"]["name"],
        "spec": run.get("spec", report["client"].get("spec", "")),
        "package": run.get("package"),
        "version": run.get("version") or report["client"].get("version"),
        "python": run.get("python"),
        "command": run.get("command"),
        "note": run.get("note", ""),
        "findings": record.findings,
        "exit_code": run.get("exit_code"),
        "mode": report["mode"],
        "profile": report["profile"],
        "capabilities": list(report["client"].get("capabilities", [])),
        "baseline": report.get("baseline"),
        "started": report.get("started"),
        "summary": summary,
        "defects": [
            {
                "reason": r,
                "cases": ids,
                "observed": {cid: record.observed[cid] for cid in ids if cid in record.observed},
            }
            for r, ids in defects.items()
        ],
        "skipped": [{"reason": r, "cases": ids} for r, ids in skips.items()],
    }
    entry["badge"] = badge(entry)
    return entry


def _percent(counts: Mapping[str, int]) -> int | None:
    judged = counts["pass"] + counts["fail"]
    return None if judged == 0 else int(100 * counts["pass"] / judged)


def badge(client: Mapping[str, Any]) -> dict[str, Any]:
    """The shields.io endpoint document of a client: passed of judged, the must rate, a color."""
    summary = client["summary"]
    everything, must = summary["all"], summary["must"]
    judged = everything["pass"] + everything["fail"]
    must_rate = _percent(must)
    if everything["fail"] == 0:
        color = "brightgreen"
    elif must["fail"] == 0 and must["pass"] > 0:
        color = "green"
    elif must_rate is not None and must_rate >= 90:
        color = "yellow"
    elif must_rate is not None and must_rate >= 50:
        color = "orange"
    else:
        color = "red"
    rate = "n/a" if must_rate is None else f"{must_rate}%"
    # The version the numbers hold for: a badge outlives the release it was made for.
    version = f" ({client['version']})" if client.get("version") else ""
    return {
        "schemaVersion": 1,
        "label": "crm.activity.badge conformance",
        "message": f"{everything['pass']}/{judged} passed, must {rate}{version}",
        "color": color,
    }


def compliance_document(
    records: Sequence[ClientRecord], generated_by: str = COMPILED_BY
) -> dict[str, Any]:
    """docs/compliance.json: the clients, the case matrix and the defects, from the records."""
    if not records:
        raise ValueError("no client records: nothing to publish")
    clients = [_client_entry(record) for record in records]
    order: dict[str, str] = {}
    for record in records:
        for case in record.report["cases"]:
            order.setdefault(case["id"], case.get("level", "must"))
    verdicts = {
        record.name: {
            cid: _verdict(c["outcome"] for c in record.report["cases"] if c["id"] == cid)
            for cid in {c["id"] for c in record.report["cases"]}
        }
        for record in records
    }
    matrix = [
        {
            "id": cid,
            "level": level,
            "results": {r.name: verdicts[r.name].get(cid, "skip") for r in records},
        }
        for level in LEVELS
        for cid, case_level in order.items()
        if case_level == level
    ]
    started = sorted(str(r.report.get("started") or "") for r in records)
    suites = sorted({str(r.report["suite"]["version"]) for r in records})
    return {
        "generated_by": generated_by,
        "date": started[-1][:10],
        "suite": {"version": ", ".join(suites)},
        "levels": list(LEVELS),
        "clients": clients,
        "cases": matrix,
    }


def _provenance(document: Mapping[str, Any]) -> list[str]:
    """The paragraph that says where the runs come from and how they ran."""
    kept = (
        "[`compliance/`](compliance/) (one `report.json` and `run.json` per client); suite "
        f"{document['suite']['version']}."
    )
    if document["generated_by"] == MERGED_BY:
        return [
            f"Merged by `{MERGED_BY}` on {document['date']} from the report folders of "
            f"{len(document['clients'])} separate runs (a CI matrix, one job per client), kept "
            f"in {kept} Each client ran with the command, in the modes and with the baseline "
            "its job chose (below). A case *fails* when a check did not hold (listed in the "
            "baseline or not) and is *skipped* when it did not apply to the client (the reason "
            "is under the client's defects).",
        ]
    return [
        f"Generated by `{COMPILED_BY}` on {document['date']} from the runs kept in",
        f"{kept} Each client ran the whole catalogue and the generated-"
        "input properties in the modes of its `mode` column (the fake portal, `--mode portal`, "
        "reaches any client), through its adapter (a "
        "harness, for a client in another language), with its baseline. A case *fails* when a "
        "check did not hold (listed in the baseline) and is "
        "*skipped* when the adapter does not declare a capability the case needs.",
    ]


def _rate(counts: Mapping[str, int]) -> str:
    percent = _percent(counts)
    judged = counts["pass"] + counts["fail"]
    shown = "n/a" if percent is None else f"{percent}%"
    skipped = f", {counts['skip']} skipped" if counts["skip"] else ""
    return f"{shown} ({counts['pass']}/{judged}{skipped})"


def _tested(client: Mapping[str, Any]) -> str:
    return f"{client['package']} {client['version'] or '(version unknown)'}"


def render_markdown(document: Mapping[str, Any]) -> str:
    """docs/compliance.md, from docs/compliance.json."""
    clients = document["clients"]
    names = [c["name"] for c in clients]
    made_by = document["generated_by"]
    lines = [
        "# Compliance of Bitrix24 clients with the crm.activity.badge.* contract",
        "",
        f"<!-- Generated by `{made_by}` from {RECORDS[made_by]}; do not edit. -->",
        "",
        *_provenance(document),
        "",
        "## Clients",
        "",
        "| client | tested | mode | capabilities | must | should | may | all | badge |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c in clients:
        caps = ", ".join(c["capabilities"]) or "none"
        rates = " | ".join(_rate(c["summary"][level]) for level in (*LEVELS, "all"))
        lines.append(
            f"| `{c['name']}` | {_tested(c)} | {c['mode']} | {caps} | {rates} | "
            f"[`badges/{c['name']}.json`](badges/{c['name']}.json) |"
        )
    lines += [
        "",
        "Percentages are passed of judged (passed + failed); skipped cases are not judged. The "
        "badges are [shields.io endpoint](https://shields.io/badges/endpoint-badge) documents.",
        "",
        "How each client ran:",
        "",
    ]
    for c in clients:
        python = f", Python {c['python']}" if c.get("python") else ""
        note = f". Note: {c['note']}." if c.get("note") else ""
        # A bare report folder (no run.json) records neither.
        command = f"`{c['command']}`" if c.get("command") else "command not recorded"
        code = "exit code not recorded" if c["exit_code"] is None else f"exit {c['exit_code']}"
        lines.append(f"- `{c['name']}`: {command} ({code}{python}){note}")
    lines += [
        "",
        "## Defects found",
        "",
        "Each defect is what failed in the client's recorded evidence (or a note beside it, "
        "checked against the client's source), with every case that shows it and, per case, "
        "what the run observed: the requests sent, the attempts' times, what the client "
        "reported and the checks that failed. `b24-conformance run --baseline` fails a case "
        "whose failure no longer shows that evidence.",
        "",
    ]
    for c in clients:
        lines += [f"### {c['name']} ({_tested(c)})", ""]
        if c.get("findings"):
            lines += [
                f"How each defect shows on the wire, and where in the client's source it comes "
                f"from: [`{c['findings']}`]({c['findings']}).",
                "",
            ]
        lines += defect_lines(c)
    lines += [
        "## Matrix",
        "",
        f"{MARKS['pass']} passed, {MARKS['fail']} failed, {MARKS['skip']} skipped. Case ids "
        "are those of `b24-conformance cases`; `property.*` are the generated-input properties.",
        "",
    ]
    for level in LEVELS:
        rows = [case for case in document["cases"] if case["level"] == level]
        if not rows:
            continue
        lines += [
            f"### {level} ({len(rows)} cases)",
            "",
            "| case | " + " | ".join(f"`{n}`" for n in names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for case in rows:
            cells = " | ".join(MARKS[case["results"][n]] for n in names)
            lines.append(f"| `{case['id']}` | {cells} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def defect_lines(client: Mapping[str, Any]) -> list[str]:
    """A client's defects, each with its cases and what each showed, then its skipped cases
    (Markdown list items, a blank line after each group); compliance.md and findings pages."""
    lines: list[str] = []
    if not client["defects"]:
        lines += ["None: every judged case passed.", ""]
    for defect in client["defects"]:
        ids = ", ".join(f"`{cid}`" for cid in defect["cases"])
        lines.append(f"- {defect['reason']}. Cases: {ids}")
        for cid, line in defect.get("observed", {}).items():
            lines.append(f"  - `{cid}`, observed: {line}")
    if client["defects"]:
        lines.append("")
    for skip in client["skipped"]:
        ids = ", ".join(f"`{cid}`" for cid in skip["cases"])
        lines.append(f"- Skipped, {skip['reason']}: {ids}")
    if client["skipped"]:
        lines.append("")
    return lines


def json_text(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


#: where a findings page's generated verdicts begin and end (docs/<client>.md)
VERDICTS_BEGIN: Final = (
    "<!-- verdicts: generated by `b24-conformance compliance` from the baseline's evidence and "
    "the kept run; do not edit between these lines -->"
)
VERDICTS_END: Final = "<!-- end of generated verdicts -->"


def with_verdicts(page: str, client: Mapping[str, Any]) -> str:
    """A findings page with its verdict section regenerated (appended when it has none)."""
    section = "\n".join(
        [
            VERDICTS_BEGIN,
            "",
            f"Verdicts of the kept run ({_tested(client)}, `{client['command']}`, exit "
            f"{client['exit_code']}): every failed case, what it observed, and the skipped ones.",
            "",
            *defect_lines(client),
            VERDICTS_END,
        ]
    )
    if VERDICTS_BEGIN in page and VERDICTS_END in page:
        head, rest = page.split(VERDICTS_BEGIN, 1)
        tail = rest.split(VERDICTS_END, 1)[1]
        return head + section + tail
    return page.rstrip() + "\n\n## Verdicts\n\n" + section + "\n"


def publication(
    records: Sequence[ClientRecord],
    generated_by: str = COMPILED_BY,
    pages: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every generated file, by its path relative to the repository root, as text.

    ``pages``: the findings pages as they are (``docs/<page>``: text); each comes back with
    its verdict section regenerated.
    """
    document = compliance_document(records, generated_by)
    files = {
        "docs/compliance.json": json_text(document),
        "docs/compliance.md": render_markdown(document),
        "docs/compliance.html": render_compliance_html(
            {record.name: record.report for record in records}, document, RECORDS[generated_by]
        ),
    }
    for client in document["clients"]:
        files[f"{BADGES_DIR}/{client['name']}.json"] = json_text(client["badge"])
        page = f"docs/{client['findings']}" if client.get("findings") else None
        if page is not None and pages is not None and page in pages:
            files[page] = with_verdicts(pages[page], client)
    return files
