"""The package: the release artefacts carry their data and install without the checkout, the
plugin is inert, the docs match behaviour."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from conformance import _data, schemas
from tests.fixtures.common import ROOT, cli

#: What `npm ci` or composer put beside a harness: the user's to install, never shipped.
INSTALLED_DEPENDENCIES = re.compile(r"(^|/)(node_modules|vendor)/")


def _build(out: Path) -> None:
    """The release command: ``python -m build`` (isolated; hatchling comes from PyPI)."""
    done = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, (
        f"python -m build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The sdist and the wheel, built once per session: under xdist the first worker to finish
    publishes its build (an atomic rename) and the others use it."""
    private = tmp_path_factory.mktemp("dist")
    if worker_id == "master":
        _build(private)
        return private
    shared = tmp_path_factory.getbasetemp().parent / "release-dist"
    if not shared.is_dir():
        _build(private)
        # Another worker may have published first: its artefacts are the same build.
        with contextlib.suppress(OSError):
            private.rename(shared)
    return shared


@pytest.fixture(scope="session")
def wheel(dist: Path) -> Path:
    return next(dist.glob("*.whl"))


@pytest.fixture(scope="session")
def sdist(dist: Path) -> Path:
    return next(dist.glob("*.tar.gz"))


def _git_files(under: str) -> list[str]:
    """What the checkout tracks under ``under``: what the artefacts must carry."""
    git = shutil.which("git")
    assert git, "git is needed to list the tracked files the artefacts must carry"
    listed = subprocess.run(
        [git, "ls-files", under], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listed.stdout.split()


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _sdist_names(sdist: Path) -> set[str]:
    """The sdist's members, relative to its top directory."""
    prefix = sdist.name.removesuffix(".tar.gz") + "/"
    with tarfile.open(sdist) as archive:
        return {name.removeprefix(prefix) for name in archive.getnames()}


@pytest.mark.parametrize("under", ["schemas", "cassettes", "harnesses", "baselines"])
def test_wheel_carries_the_data_beside_the_package(wheel: Path, under: str) -> None:
    names = _wheel_names(wheel)
    tracked = [f for f in _git_files(under) if not INSTALLED_DEPENDENCIES.search(f)]
    assert tracked, f"git ls-files {under} is empty"
    missing = [f for f in tracked if f"conformance/_bundled/{f}" not in names]
    assert missing == [], f"{wheel.name} lacks {missing}"


def test_wheel_carries_cases_contract_fixes_and_type_marker(wheel: Path) -> None:
    names = _wheel_names(wheel)
    cases = [f for f in _git_files("conformance/cases") if f.endswith(".yaml")]
    assert cases
    assert [f for f in cases if f not in names] == []
    assert "conformance/_bundled/CONTRACT.md" in names
    assert "conformance/py.typed" in names
    assert "conformance/checks/fixes.yaml" in names, "report.md and report.html read it"


def test_artefacts_leave_out_what_npm_installed(wheel: Path, sdist: Path) -> None:
    if not any((ROOT / "harnesses").glob("*/node_modules")):
        pytest.skip("no harness has node_modules/ to leave out: run npm ci --prefix harnesses/...")
    shipped = _wheel_names(wheel) | _sdist_names(sdist)
    assert sorted(n for n in shipped if INSTALLED_DEPENDENCIES.search(n)) == []


def test_sdist_carries_the_checkout(sdist: Path) -> None:
    names = _sdist_names(sdist)
    for tracked in ("schemas", "cassettes", "conformance/cases", "harnesses", "baselines", "tests"):
        missing = [
            f
            for f in _git_files(tracked)
            if f not in names and not INSTALLED_DEPENDENCIES.search(f)
        ]
        assert missing == [], f"{sdist.name} lacks {missing}"
    shipped_as_is = ("pyproject.toml", "README.md", "CONTRACT.md", "conftest.py", ".ci/run")
    the_action = ("action.yml", "action/conformance_action.py", ".github/workflows/compliance.yml")
    for single in shipped_as_is + the_action:
        assert single in names


def test_twine_check_passes_on_both_artefacts(wheel: Path, sdist: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("PASSED") == 2, done.stdout


def _without_the_checkout(venv: Path) -> dict[str, str]:
    """The environment of a user who installed the wheel: nothing points at this checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {_data.DATA_ENV_VAR, "PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def test_wheel_installs_into_a_fresh_venv_and_runs_from_an_empty_directory(
    wheel: Path, tmp_path: Path
) -> None:
    """The release, as a user gets it: a fresh venv (dependencies from PyPI, no system
    site-packages), `b24-conformance run` in a directory that holds nothing."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    env = _without_the_checkout(venv)
    installed = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    empty = tmp_path / "empty"
    empty.mkdir()
    located = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import conformance._data as d; print(d.cassettes_dir()); print(d.harnesses_dir())",
        ],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    bundled = [Path(line) for line in located.stdout.split()]
    assert all(venv in path.parents and "_bundled" in path.parts for path in bundled), bundled
    done = subprocess.run(
        [str(venv / "bin" / "b24-conformance"), "run"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    assert done.returncode == 0, (
        f"b24-conformance run from the installed wheel exited {done.returncode}\n"
        f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    )


def test_the_readme_installs_the_wheel_the_build_makes(wheel: Path, sdist: Path) -> None:
    readme = _readme()
    assert f"python -m pip install dist/{wheel.name} && b24-conformance run\n" in readme
    assert f"dist/{sdist.name}" in readme


def test_wheel_declares_console_script_and_pytest_plugin(wheel: Path) -> None:
    archive = zipfile.ZipFile(wheel)
    entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
    text = archive.read(entry_points).decode()
    assert "b24-conformance = conformance.cli:main" in text
    assert "b24_conformance = conformance.plugin" in text


def test_unpacked_wheel_validates_without_the_checkout(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(tmp_path / "site")  # noqa: S202 (the wheel this session built)
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
