"""`b24-conformance run -n N`: worker processes (one fake portal each) give the serial outcomes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fixtures.common import cli

SELECTION = ["-k", "get. or list. or state. or transport.html", "--no-properties"]


def _outcomes(directory: Path) -> dict[tuple[str, str], tuple[str, tuple[str, ...]]]:
    document = json.loads((directory / "report.json").read_text())
    return {(c["id"], c["mode"]): (c["outcome"], tuple(c["checks"])) for c in document["cases"]}


def test_workers_give_the_same_outcomes_as_a_serial_run(tmp_path: Path) -> None:
    for name, extra in (("serial", []), ("parallel", ["-n", "2"])):
        args = [
            "run",
            "--client",
            "miniature:loses-error-code",
            *SELECTION,
            "--report",
            str(tmp_path / name),
            *extra,
        ]
        result = cli(args, catch_exceptions=False)
        assert result.exit_code == 1, result.output
    serial, parallel = _outcomes(tmp_path / "serial"), _outcomes(tmp_path / "parallel")
    assert len(serial) > 60
    assert parallel == serial
    assert any(outcome == "failed" for outcome, _ in serial.values())
    assert (tmp_path / "parallel" / "junit.xml").read_text().count("<testcase") == len(serial)


def test_a_broken_adapter_still_exits_3_with_workers() -> None:
    result = cli(["run", "-n", "2", "--client", "tests.fixtures.adapters:no_call"])
    assert result.exit_code == 3
    assert "the adapter has no 'call'" in result.stderr


def test_a_live_run_refuses_workers() -> None:
    result = cli(["run", "-n", "2", "--mode", "live"])
    assert result.exit_code == 2
    assert "a live run cannot be split" in result.stderr
