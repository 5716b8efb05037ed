"""One line and exit 2 for every bad input the run is given: adapter modules that misbehave at
import, YAML files that cannot be read, a --report that is not a writable directory."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from conformance import clients
from conformance._data import DataFileError
from conformance.case import load_case_file
from conformance.errors import UsageError
from tests.fixtures.common import ROOT, cli

BAD_IMPORTS = {
    "raises": "importing module 'tests.fixtures.bad_imports.raises' raised RuntimeError: "
    "the SDK's config file is missing",
    "exits": "importing module 'tests.fixtures.bad_imports.exits' raised SystemExit: 5",
    "base_exception": "importing module 'tests.fixtures.bad_imports.base_exception' raised Odd",
    "hangs": "importing module 'tests.fixtures.bad_imports.hangs' did not finish within 0.5s",
}


@pytest.mark.parametrize(("module", "says"), list(BAD_IMPORTS.items()), ids=list(BAD_IMPORTS))
def test_an_adapter_module_that_misbehaves_at_import_is_one_usage_line(
    module: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clients, "IMPORT_DEADLINE", 0.5)
    result = cli(["run", "--client", f"tests.fixtures.bad_imports.{module}:factory"])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]


def _alias_bomb(levels: int = 9, width: int = 10) -> str:
    lines = ["l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "expected_failures: []\n" + "\n".join(lines) + "\n"


# file bytes -> what the one usage line says
BAD_BASELINES = {
    "not UTF-8": (
        b"expected_failures:\n  - case: get.success\n    reason: \xff\xfe\n",
        "not UTF-8 text",
    ),
    "alias bomb": (
        _alias_bomb().encode(),
        "more than 1000000 values once its aliases are expanded",
    ),
    "many aliases": (
        b"a: &a x\nb: [" + b", ".join([b"*a"] * 1001) + b"]\n",
        "more than 1000 aliases",
    ),
    "deep": (
        b"expected_failures: " + b"[" * 101 + b"]" * 101 + b"\n",
        "nested deeper than 100 levels",
    ),
    "very deep": (b"[" * 100_000 + b"]" * 100_000, "not YAML"),
    "not YAML": (b"expected_failures: [\n", "not YAML"),
}


@pytest.mark.parametrize(("content", "says"), list(BAD_BASELINES.values()), ids=list(BAD_BASELINES))
def test_a_baseline_that_cannot_be_read_is_one_usage_line(
    content: bytes, says: str, tmp_path: Path
) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_bytes(content)
    started = time.monotonic()
    result = cli(["run", "--baseline", str(baseline), "--case", "get.success"])
    assert time.monotonic() - started < 30, "refusing the file took too long"
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]


@pytest.mark.parametrize("where", ["file", "below a file"])
def test_a_report_that_is_not_a_writable_directory_is_refused_before_any_case(
    where: str, tmp_path: Path
) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("not a directory")
    report = blocker if where == "file" else blocker / "reports"
    planted = tmp_path / "planted.txt"
    result = cli(
        ["run", "--report", str(report), "--client", "tests.fixtures.leaky_client:factory"],
        env={"B24_TEST_PLANTED": str(planted)},
    )
    assert result.exit_code == 2, result.output
    # click's own check of the option catches a plain file (with its usage lines); ours the rest
    last = result.stderr.strip().splitlines()[-1]
    assert "--report" in last, result.stderr
    assert str(report) in last, result.stderr
    assert not planted.exists(), "a case ran before the bad --report was refused"


def _tampered(change: str) -> str:
    text = (ROOT / "cassettes" / "get.success.yaml").read_text()
    edits = {
        "status gone": lambda t: t.replace("    status:\n      code: 200\n      message: OK\n", ""),
        "status text": lambda t: t.replace("code: 200", "code: two hundred"),
        "body edited": lambda t: t.replace('"value":"Missed"', '"value":"Hit"'),
        "headers not a list": lambda t: t.replace(
            "      Content-Type:\n      - application/json; charset=utf-8",
            "      Content-Type: 5",
        ),
        "steps wrong": lambda t: t.replace("  steps:\n  - 1", "  steps:\n  - 2"),
        "not YAML": lambda t: t + "\n  : [\n",
        "alias bomb": lambda t: t + _alias_bomb().replace("expected_failures: []\n", ""),
    }
    return edits[change](text)


# change -> what the one usage line says
BAD_CASSETTES = {
    "status gone": "interaction 1: response.status is missing",
    "status text": "interaction 1: response.status.code 'two hundred' is not an HTTP status",
    "body edited": "the interactions do not match metadata.sha256",
    "headers not a list": "interaction 1: response.headers.Content-Type is not a list of strings",
    "steps wrong": "metadata.steps [2] does not add up to its 1 interaction(s)",
    "not YAML": "not YAML",
    "alias bomb": "more than 1000000 values once its aliases are expanded",
}


@pytest.mark.parametrize(("change", "says"), list(BAD_CASSETTES.items()), ids=list(BAD_CASSETTES))
def test_a_tampered_cassette_is_one_usage_line_naming_file_and_interaction(
    change: str, says: str, tmp_path: Path
) -> None:
    recording = tmp_path / "recording"
    recording.mkdir()
    cassette = recording / "get.success.yaml"
    cassette.write_text(_tampered(change))
    result = cli(["run", "--mode", "replay", "--cassettes", str(recording)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"cassette {cassette}: " in lines[0]
    assert says in lines[0]


def test_every_generated_cassette_carries_its_checksum() -> None:
    for path in sorted((ROOT / "cassettes").glob("*.yaml")):
        assert "\n  sha256: " in path.read_text(), f"{path.name} has no metadata.sha256"


@pytest.mark.parametrize(("content", "says"), list(BAD_BASELINES.values()), ids=list(BAD_BASELINES))
def test_a_case_file_that_cannot_be_read_is_one_line_naming_it(
    content: bytes, says: str, tmp_path: Path
) -> None:
    cases = tmp_path / "bad.yaml"
    cases.write_bytes(content)
    with pytest.raises(DataFileError) as raised:
        load_case_file(cases)
    assert isinstance(raised.value, UsageError)
    message = str(raised.value)
    assert message.startswith(f"{cases}: ")
    assert "\n" not in message
    assert says.replace("not UTF-8 text", "not UTF-8") in message
