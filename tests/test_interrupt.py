"""SIGINT at any point of a run exits 130; an interrupted run's reports say so and list what
did not run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import schemas
from tests.fixtures.common import ROOT

CASES = ("get.success", "get.not-found", "list.empty")


def _interrupt_at(point: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the slow client, SIGINT it once it reaches ``point``, and wait for its exit."""
    signals, report = tmp_path / "signals.txt", tmp_path / "report"
    env = os.environ | {
        "B24_TEST_SIGNAL_FILE": str(signals),
        "B24_TEST_HANG_AT": point,
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "conformance", "run", "--mode", "stub"]
    command += ["--client", "tests.fixtures.slow_client:factory", "--report", str(report)]
    command += [word for case in CASES for word in ("--case", case)]
    process = subprocess.Popen(
        command,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # The test runner may run with SIGINT ignored, which a child would inherit.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # noqa: PLW1509
    )
    deadline = time.monotonic() + 120
    while point not in (signals.read_text().splitlines() if signals.exists() else []):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"the run never reached {point!r}"
        time.sleep(0.05)
    time.sleep(0.2)  # inside the blocking wait, not just past the marker
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr), report


def test_sigint_while_the_adapter_imports_exits_130_in_one_line(tmp_path: Path) -> None:
    done, report = _interrupt_at("imported", tmp_path)
    assert done.returncode == 130, done.stderr
    assert done.stderr.strip() == "interrupted", done.stderr
    assert not report.exists()


@pytest.mark.parametrize(
    ("point", "ran"),
    [
        ("call 1", []),  # the smoke call, before pytest starts
        ("call 3", ["get.success"]),  # inside the second case
    ],
)
def test_sigint_exits_130_and_the_reports_list_what_did_not_run(
    point: str, ran: list[str], tmp_path: Path
) -> None:
    done, report = _interrupt_at(point, tmp_path)
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    if not ran:
        assert done.stderr.strip().splitlines()[-1] == "interrupted before the first case ran"
        assert not (report / "report.json").exists()
        return
    document = json.loads((report / "report.json").read_text())
    schemas.validator(schemas.uri("report.json")).validate(document)
    assert [case["id"] for case in document["cases"]] == ran
    not_run = {entry["id"] for entry in document["interrupted"]["not_run"]}
    assert not_run == set(CASES) - set(ran)
    markdown = (report / "report.md").read_text()
    assert "**Interrupted:**" in markdown
    for case in set(CASES) - set(ran):
        assert f"- {case} (stub)" in markdown


def test_a_complete_run_has_no_interrupted_marker(tmp_path: Path) -> None:
    from tests.fixtures.common import cli

    assert (
        cli(["run", "--mode", "stub", "--case", "get.success", "--report", str(tmp_path)]).exit_code
        == 0
    )
    document = json.loads((tmp_path / "report.json").read_text())
    assert "interrupted" not in document
    assert "Interrupted" not in (tmp_path / "report.md").read_text()
