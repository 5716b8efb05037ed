"""The checks only a live run can show: each passes on the reference client against a sound
portal and fails where its table row breaks the client or the portal."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.portal import Fault
from tests.fixtures.live import cli, live_portal, webhook_env


@dataclass(frozen=True)
class LiveRow:
    """A live check, the client and portal fault that break it, and the case that shows it."""

    check: str
    client: str
    case: str
    #: (fault, method) injected into the portal, or None for a sound portal
    fault: tuple[Fault, str] | None = None
    allow_writes: bool = False


LIVE_TABLE = [
    LiveRow(
        "outcome.own-badges", "miniature:lists-no-badges", "state.add-get-list-delete", None, True
    ),
    LiveRow("portal.wire", "reference", "live.list", (Fault.html(502), "crm.activity.badge.list")),
]


def _run(tmp_path: Path, row: LiveRow, client: str, broken: bool) -> dict[str, object]:
    with live_portal() as portal:
        if broken and row.fault is not None:
            fault, method = row.fault
            # after=1: the live pre-flight (a list) must see a sound portal, the case the fault.
            portal.inject(fault, method=method, after=1)
        args = ["run", "--mode", "live", "--client", client, "--case", row.case]
        args += ["--report", str(tmp_path)] + (["--allow-writes"] if row.allow_writes else [])
        result = cli(args, webhook_env(portal))
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (case,) = [c for c in report["cases"] if c["id"] == row.case]
    return case


@pytest.mark.parametrize("row", LIVE_TABLE, ids=[row.check for row in LIVE_TABLE])
def test_a_live_check_passes_on_the_reference_and_catches_its_breakage(
    tmp_path: Path, row: LiveRow
) -> None:
    sound = _run(tmp_path / "sound", row, "reference", broken=False)
    broken = _run(tmp_path / "broken", row, row.client, broken=True)
    assert sound["outcome"] == "passed", sound["message"]
    assert broken["outcome"] == "failed", broken["message"]
    assert row.check in broken["checks"], broken["message"]
