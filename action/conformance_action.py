"""What the GitHub Action (``action.yml``) runs: install the suite, then run it and report.

``python conformance_action.py install`` pip-installs the suite: the ``suite`` input (a pip
requirement) or, without it, the Action's own checkout, so ``uses: ...@v0.1.0`` installs 0.1.0.
``python conformance_action.py run`` runs ``b24-conformance run`` with the inputs, keeps beside
the report what ``b24-conformance merge`` reads (``run.json``, a copy of the baseline as
``baseline.yaml``), appends ``report.md`` to the job summary, sets the step outputs and exits
with the run's exit code. A bad input is refused in one line with exit 2 before anything runs.

The inputs come as environment variables ``INPUT_<NAME>`` (``client-cmd``: ``INPUT_CLIENT_CMD``),
which action.yml sets from ``inputs``. Standard library only: this file runs before the suite
is installed, and against whichever suite version the ``suite`` input installs.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

EXIT_USAGE: Final = 2
#: The run's report files the merge and the summary read.
REPORT: Final = "report.json"
SUMMARY: Final = "report.md"
RUN_RECORD: Final = "run.json"
BASELINE_COPY: Final = "baseline.yaml"
#: The name becomes a file name on the merged page (as conformance.merge.CLIENT_NAME checks).
CLIENT_NAME: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
BOOLEANS: Final = {"true": True, "false": False}
PROG: Final = "b24-conformance action"


class InputError(ValueError):
    """An input the Action cannot use; the message names it and says what is allowed."""


@dataclass(frozen=True)
class Inputs:
    """The Action's inputs, checked."""

    client: str
    modes: tuple[str, ...]
    baseline: str
    strict: bool
    #: action.yml's upload step reads the input itself; checked here so "yes" is refused
    upload: bool
    report_dir: str
    args: tuple[str, ...]
    name: str
    suite: str
    extras: str


def _text(env: Mapping[str, str], name: str) -> str:
    return env.get("INPUT_" + name.upper().replace("-", "_"), "").strip()


def _boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    given = _text(env, name)
    if not given:
        return default
    if given.lower() not in BOOLEANS:
        raise InputError(f"input `{name}` must be true or false, got {given!r}")
    return BOOLEANS[given.lower()]


def _client(env: Mapping[str, str]) -> str:
    spec, command = _text(env, "client"), _text(env, "client-cmd")
    if spec and command:
        raise InputError(
            "set one of the inputs `client` and `client-cmd`, not both "
            f"(got client {spec!r} and client-cmd {command!r})"
        )
    if command:
        return f"cmd:{command}"
    if not spec:
        raise InputError(
            "set the input `client` (a --client spec: reference, package.module:factory) or "
            "`client-cmd` (the command that starts your harness)"
        )
    if spec.startswith("cmd:"):
        raise InputError(f"input `client` {spec!r} is a harness command: pass it as `client-cmd`")
    return spec


def read_inputs(env: Mapping[str, str]) -> Inputs:
    """The inputs from the environment action.yml sets; InputError on a bad one."""
    client = _client(env)
    try:
        args = tuple(shlex.split(_text(env, "args")))
    except ValueError as exc:
        raise InputError(f"input `args` is not a shell-quoted list of words ({exc})") from None
    name = _text(env, "name")
    if name and not CLIENT_NAME.match(name):
        raise InputError(
            f"input `name` {name!r} must be letters, digits, '.', '_' and '-' "
            "(it names the client's badge file on the merged page)"
        )
    extras = _text(env, "extras")
    if extras and not re.fullmatch(r"[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+)*", extras):
        raise InputError(f"input `extras` must be extra names separated by commas, got {extras!r}")
    return Inputs(
        client=client,
        modes=tuple(m for m in re.split(r"[\s,]+", _text(env, "mode")) if m),
        baseline=_text(env, "baseline"),
        strict=_boolean(env, "strict", default=False),
        upload=_boolean(env, "upload", default=True),
        report_dir=_text(env, "report-dir") or "b24-conformance-report",
        args=args,
        name=name,
        suite=_text(env, "suite"),
        extras=re.sub(r"\s+", "", extras),
    )


def install_command(inputs: Inputs, action_path: str, python: str) -> list[str]:
    """pip install the ``suite`` requirement, or the Action's own checkout (with ``extras``)."""
    extras = f"[{inputs.extras}]" if inputs.extras else ""
    requirement = inputs.suite or action_path + extras
    return [python, "-m", "pip", "install", "--quiet", requirement]


def run_words(inputs: Inputs) -> list[str]:
    """``b24-conformance run ...`` as a user would type it (and as run.json records it)."""
    words = ["b24-conformance", "run", "--client", inputs.client]
    for mode in inputs.modes:
        words += ["--mode", mode]
    if inputs.baseline:
        words += ["--baseline", inputs.baseline]
    if inputs.strict:
        words.append("--strict")
    return [*words, "--report", inputs.report_dir, *inputs.args]


def _report_client(report_dir: Path) -> dict[str, object]:
    try:
        report = json.loads((report_dir / REPORT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    client = report.get("client") if isinstance(report, dict) else None
    return client if isinstance(client, dict) else {}


def keep_run_record(inputs: Inputs, words: Sequence[str], code: int) -> None:
    """run.json and baseline.yaml beside the report, for ``b24-conformance merge``."""
    report_dir = Path(inputs.report_dir)
    client = _report_client(report_dir)
    if not client:
        return
    # The report's spec is the suite's redacted one: the record never holds more than it.
    spec = str(client.get("spec") or inputs.client)
    recorded = list(words)
    recorded[recorded.index("--client") + 1] = spec
    record = {
        "name": inputs.name or client.get("name"),
        "spec": spec,
        "command": shlex.join(recorded),
        "baseline": inputs.baseline or None,
        "python": platform.python_version(),
        "exit_code": code,
    }
    text = json.dumps(record, indent=2, ensure_ascii=False) + "\n"
    (report_dir / RUN_RECORD).write_text(text, encoding="utf-8")
    if inputs.baseline and Path(inputs.baseline).is_file():
        shutil.copyfile(inputs.baseline, report_dir / BASELINE_COPY)


def write_summary(summary_path: str, inputs: Inputs, command: str, code: int) -> None:
    """Append report.md to the job summary, or say that the run wrote none."""
    report_md = Path(inputs.report_dir) / SUMMARY
    if report_md.is_file():
        text = report_md.read_text(encoding="utf-8")
    else:
        text = (
            f"# b24-conformance\n\n`{command}` exited {code} and wrote no {SUMMARY}: "
            "the step's log says why.\n"
        )
    with open(summary_path, "a", encoding="utf-8") as summary:
        summary.write(text if text.endswith("\n") else text + "\n")


def write_outputs(output_path: str, inputs: Inputs, code: int) -> None:
    with open(output_path, "a", encoding="utf-8") as outputs:
        outputs.write(f"exit-code={code}\nreport-dir={inputs.report_dir}\n")


def run(inputs: Inputs, env: Mapping[str, str], python: str) -> int:
    """Run the suite, keep the records, report; the run's exit code."""
    words = run_words(inputs)
    command = shlex.join(words)
    print(f"{PROG}: {command}", flush=True)
    # The interpreter pip installed into, whatever `b24-conformance` on PATH would be.
    code = subprocess.run([python, "-m", "conformance", *words[1:]], check=False).returncode
    keep_run_record(inputs, words, code)
    if env.get("GITHUB_STEP_SUMMARY"):
        write_summary(env["GITHUB_STEP_SUMMARY"], inputs, command, code)
    if env.get("GITHUB_OUTPUT"):
        write_outputs(env["GITHUB_OUTPUT"], inputs, code)
    return code


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    environment = os.environ if env is None else env
    if arguments not in (["install"], ["run"]):
        print(f"{PROG}: usage: conformance_action.py install|run", file=sys.stderr)
        return EXIT_USAGE
    try:
        inputs = read_inputs(environment)
    except InputError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if arguments == ["install"]:
        action_path = environment.get("GITHUB_ACTION_PATH") or str(Path(__file__).parents[1])
        command = install_command(inputs, action_path, sys.executable)
        print(f"{PROG}: {shlex.join(command)}", flush=True)
        return subprocess.run(command, check=False).returncode
    return run(inputs, environment, sys.executable)


if __name__ == "__main__":
    sys.exit(main())
