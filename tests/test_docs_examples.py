"""The docs' first examples work exactly as shown: the adapter of docs/adapters.md, run from
the folder that holds my_adapter.py, and the harness commands of docs/harness-protocol.md."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.config import build_config
from tests.fixtures.common import ROOT

SCRIPT = Path(sys.executable).with_name("b24-conformance")
FENCED = re.compile(r"```(?P<language>\w+)\n(?P<body>.*?)```", re.DOTALL)


def _blocks(doc: str, language: str) -> list[str]:
    text = (ROOT / "docs" / doc).read_text(encoding="utf-8")
    return [m["body"] for m in FENCED.finditer(text) if m["language"] == language]


def _commands(doc: str) -> list[list[str]]:
    """The ``b24-conformance`` command lines of the doc's sh blocks, as a shell splits them."""
    return [
        shlex.split(line)
        for block in _blocks(doc, "sh")
        for line in block.splitlines()
        if line.startswith("b24-conformance ")
    ]


def _run_as_shown(words: list[str], where: Path) -> subprocess.CompletedProcess[str]:
    assert words[0] == "b24-conformance", words
    assert SCRIPT.exists(), f"expected the console script beside {sys.executable}"
    return subprocess.run(
        [str(SCRIPT), *words[1:]],
        cwd=where,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _tail(process: subprocess.CompletedProcess[str]) -> str:
    return f"exit {process.returncode}\n{process.stdout[-3000:]}\n{process.stderr[-3000:]}"


def test_the_adapter_example_runs_as_shown_from_its_folder(tmp_path: Path) -> None:
    adapter = next(b for b in _blocks("adapters.md", "python") if b.startswith("# my_adapter.py"))
    (tmp_path / "my_adapter.py").write_text(adapter, encoding="utf-8")
    shutil.copy(ROOT / "tests" / "fixtures" / "my_client.py", tmp_path / "my_client.py")
    # The example reads the client's version from its installed distribution's metadata.
    metadata = tmp_path / "my_client-1.0.0.dist-info"
    metadata.mkdir()
    (metadata / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: my-client\nVersion: 1.0.0\n", encoding="utf-8"
    )
    commands = [c for c in _commands("adapters.md") if "my_adapter:factory" in c]
    assert commands == [["b24-conformance", "run", "--client", "my_adapter:factory"]]
    process = _run_as_shown(commands[0], tmp_path)
    assert process.returncode == 0, _tail(process)
    assert "client 'my-client' 1.0.0 (my_adapter:factory)" in process.stdout, _tail(process)


def test_the_harness_examples_run_as_shown() -> None:
    commands = [c for c in _commands("harness-protocol.md") if "harnesses/" in " ".join(c)]
    assert commands, "expected a harness command of this checkout in docs/harness-protocol.md"
    for words in commands:
        process = _run_as_shown(words, ROOT)
        assert process.returncode == 0, _tail(process)
        assert "portal" in process.stdout, _tail(process)


@pytest.mark.parametrize(
    ("values", "modes"),
    [
        ({"client": "cmd:python3 harnesses/python-minimal/harness.py"}, ("portal",)),
        ({"client": "cmd:python3 harness.py", "mode": ["stub"]}, ("stub",)),
        ({"client": "reference"}, ("stub", "replay", "portal")),
        ({"client": "miniature:drops-total"}, ("stub", "replay", "portal")),
    ],
)
def test_modes_default_to_what_can_see_the_client(
    values: dict[str, object], modes: tuple[str, ...]
) -> None:
    assert build_config(values).modes == modes


def test_the_working_directory_is_importable_for_a_client(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd_adapter_xyz.py").write_text(
        "from conformance.reference import factory\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    config = build_config({"client": "cwd_adapter_xyz:factory"})
    assert config.client == "cwd_adapter_xyz:factory"
    assert str(tmp_path) not in sys.path, "the working directory stays on sys.path"


def test_the_plugin_imports_a_client_from_the_working_directory(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(cwd_adapter_plugin="from conformance.reference import factory\n")
    result = pytester.runpytest_subprocess(
        "--pyargs",
        "conformance",
        "--b24-client",
        "cwd_adapter_plugin:factory",
        "--b24-case",
        "get.success",
        "--b24-mode",
        "stub",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(passed=1)
