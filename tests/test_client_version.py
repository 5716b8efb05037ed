"""The client's version, as the adapter or harness declares it, reaches every report."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from conformance import __version__
from tests.fixtures.common import cli

HARNESS = Path(__file__).resolve().parent.parent / "harnesses" / "python-minimal" / "harness.py"

# client spec, mode, the version report.json must carry (None: declared none)
CLIENTS = [
    ("reference", "stub", __version__),
    ("tests.fixtures.adapters:without_version", "stub", None),
    (f"cmd:{shlex.join([sys.executable, str(HARNESS)])}", "portal", "1.0.0"),
]


@pytest.mark.parametrize(("spec", "mode", "version"), CLIENTS, ids=["adapter", "none", "harness"])
def test_the_declared_version_is_in_report_json_and_report_md(
    tmp_path: Path, spec: str, mode: str, version: str | None
) -> None:
    args = ["run", "--client", spec, "--mode", mode, "--case", "get.success"]
    result = cli([*args, "--report", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["client"]["version"] == version
    markdown = (tmp_path / "report.md").read_text()
    assert f"version {version or '(not declared)'}." in markdown
    if version:
        assert f"client {report['client']['name']!r} {version} (" in result.output
