"""The shipped baselines are evidence: every expected failure carries what was observed, the
kept compliance run shows exactly that, and the quick entries still reproduce when rerun."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance import evidence
from conformance.baseline import load_baseline
from conformance.compliance import RECORDS_DIR
from conformance.known_clients import KNOWN_CLIENTS, KnownClient
from tests.fixtures.common import ROOT, cli

SHIPPED = [client for client in KNOWN_CLIENTS if client.baseline]
#: Python clients whose entries are rerun here (the harness clients run in their own tests)
RERUN = [client for client in SHIPPED if client.harness is None]
#: entries whose recorded attempts add up to less than this are rerun (the slow ones wait)
QUICK_SECONDS = 1.0


def _record(client: KnownClient) -> dict[tuple[str, str], dict[str, Any]]:
    path = ROOT / RECORDS_DIR / client.name / "report.json"
    report = json.loads(path.read_text(encoding="utf-8"))
    return {(case["id"], case.get("mode", "")): case for case in report["cases"]}


def _modes(client: KnownClient) -> list[str]:
    options = list(client.options)
    return [options[i + 1] for i, word in enumerate(options) if word == "--mode"]


@pytest.mark.parametrize("client", SHIPPED, ids=lambda c: c.name)
def test_every_expected_failure_carries_its_evidence(client: KnownClient) -> None:
    assert client.baseline is not None
    baseline = load_baseline(ROOT / client.baseline)
    assert baseline.entries, f"{client.baseline} lists nothing"
    record = _record(client)
    for entry in baseline.entries:
        where = f"{client.baseline}: {entry.case}"
        assert entry.observed, f"{where}: no `observed` (rerun with --baseline-update)"
        assert entry.written is None, f"{where}: a hand-written reason (make it a `note`)"
        for mode in _modes(client):
            # A mode the case does not run in (replay cannot express it, say) has nothing to show.
            ran = record.get((entry.case, mode), {}).get("outcome") != "skipped"
            if entry.covers(mode) and ran:
                assert mode in entry.observed, f"{where}: nothing recorded in {mode} mode"


@pytest.mark.parametrize("client", SHIPPED, ids=lambda c: c.name)
def test_the_kept_run_shows_each_entry_as_recorded(client: KnownClient) -> None:
    # An entry edited by hand no longer matches the run the compliance page was made from.
    assert client.baseline is not None
    record = _record(client)
    for entry in load_baseline(ROOT / client.baseline).entries:
        for mode, observed in (entry.observed or {}).items():
            case = record.get((entry.case, mode))
            where = f"{client.baseline}: {entry.case} ({mode})"
            assert case is not None, f"{where}: not in the kept run {RECORDS_DIR}/{client.name}"
            assert case["outcome"] == "xfailed", f"{where}: {case['outcome']} in the kept run"
            changed = evidence.difference(observed, case.get("evidence", {}))
            assert changed is None, f"{where}: the kept run differs: {changed}"


def _quick(client: KnownClient) -> list[str]:
    assert client.baseline is not None
    ids = []
    for entry in load_baseline(ROOT / client.baseline).entries:
        observed = (entry.observed or {}).get("portal")
        if observed is None or not observed["steps"]:
            continue  # properties: their examples are drawn, not scripted
        waited = sum(sum(step["attempts"]) for step in observed["steps"])
        if waited < QUICK_SECONDS:
            ids.append(entry.case)
    return ids


@pytest.mark.parametrize("client", RERUN, ids=lambda c: c.name)
def test_the_quick_entries_reproduce(client: KnownClient, tmp_path: Path) -> None:
    # --baseline fails a case whose failure no longer shows the recorded evidence (and one
    # that passes): exit 0 is every rerun entry failing exactly as recorded.
    ids = _quick(client)
    assert ids, f"{client.name}: no quick entry to rerun"
    selected = [word for case in ids for word in ("--case", case)]
    assert client.baseline is not None
    result = cli(
        [
            "run",
            "--client",
            client.spec,
            *client.options,
            "--baseline",
            str(ROOT / client.baseline),
            "--no-properties",
            "--report",
            str(tmp_path),
            *selected,
        ]
    )
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    changed = [
        f"{case['id']}: {case['message'][:300]}"
        for case in report["cases"]
        if case["outcome"] != "xfailed"
    ]
    assert result.exit_code == 0, "\n".join(changed) or result.output
