"""The package: the wheel carries its data, the plugin is inert, the docs match behaviour."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hatchling.builders.wheel import WheelBuilder

from conformance import _data, schemas
from tests.fixtures.common import ROOT, cli


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    return Path(
        next(iter(WheelBuilder(str(ROOT)).build(directory=str(out), versions=["standard"])))
    )


def test_wheel_carries_schemas_cassettes_and_type_marker(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for relative, _ in _data.iter_schema_files():
        assert f"conformance/_bundled/schemas/{relative}" in names
    assert "conformance/_bundled/schemas/catalogue/errors.json" in names
    assert "conformance/_bundled/cassettes/README.md" in names
    assert "conformance/_bundled/CONTRACT.md" in names
    assert "conformance/py.typed" in names
    assert "conformance/checks/fixes.yaml" in names, "report.md and report.html read it"


def test_wheel_declares_console_script_and_pytest_plugin(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
    text = archive.read(entry_points).decode()
    assert "b24-conformance = conformance.cli:main" in text
    assert "b24_conformance = conformance.plugin" in text


def test_unpacked_wheel_validates_without_the_checkout(wheel: Path, tmp_path: Path) -> None:
    zipfile.ZipFile(wheel).extractall(tmp_path / "site")
    body = ROOT / "tests" / "data" / "doc-examples" / "get.success.json"
    env = {k: v for k, v in os.environ.items() if k != _data.DATA_ENV_VAR}
    env["PYTHONPATH"] = str(tmp_path / "site")
    done = subprocess.run(
        [sys.executable, "-m", "conformance", "validate", "crm.activity.badge.get", str(body)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    located = subprocess.run(
        [sys.executable, "-c", "from conformance import _data; print(_data.schemas_dir())"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert located.stdout.strip() == str(tmp_path / "site" / "conformance" / "_bundled" / "schemas")


def test_data_env_var_points_elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    monkeypatch.setenv(_data.DATA_ENV_VAR, str(tmp_path))
    assert _data.schemas_dir() == tmp_path / "schemas"


def test_missing_data_says_how_to_fix_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(_data.DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(_data.DataNotFoundError) as caught:
        _data.cassettes_dir()
    message = str(caught.value)
    assert str(tmp_path / "cassettes") in message
    assert f"{_data.DATA_ENV_VAR} is set" in message


def test_cli_reports_missing_data_as_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(_data.DATA_ENV_VAR, str(tmp_path))
    schemas.clear_caches()
    try:
        result = cli(["validate", "crm.activity.badge.list", "-"], input='{"result": true}')
    finally:
        monkeypatch.delenv(_data.DATA_ENV_VAR)
        schemas.clear_caches()
    assert result.exit_code == 2
    assert "cannot find the b24-conformance schemas directory" in result.stderr


def test_plugin_is_inert_when_the_suite_is_not_asked_for(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    assert 1 + 1 == 2\n")
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1)
    lines = result.stdout.lines
    assert any(line.startswith("plugins:") and "b24-conformance" in line for line in lines)
    assert [line for line in lines if "b24" in line and not line.startswith("plugins:")] == []
    assert "collected 1 item" in result.stdout.str()


def test_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--help")
    assert "--b24-client" in result.stdout.str()


def _readme() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_test_command_is_what_ci_runs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    command = (
        ci.split("# The README's test command", 1)[1].split("\n", 1)[1].strip().splitlines()[0]
    )
    assert command == "python -m pytest -n auto"
    assert f"&& {command}\n" in _readme()


def test_readme_validate_example_matches_the_output() -> None:
    block = re.search(r"\$ echo '(.+?)' \\\n.*?\n(stdin: .+?)\n```", _readme(), re.S)
    assert block, "the README's piped validate example is missing"
    result = cli(["validate", "crm.activity.badge.get", "-"], input=block.group(1))
    assert result.exit_code == 1
    assert result.stdout.rstrip("\n") == block.group(2)
