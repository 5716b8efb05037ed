"""The GitHub Action (action.yml and the script it runs), the workflows and the README's
snippets: valid against SchemaStore's schemas (vendored in tests/data/schemastore/), inputs that
exist, and a script that builds the right command, reports and passes the exit code on."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from action import conformance_action as action
from conformance.known_clients import KNOWN_CLIENTS
from tests.fixtures.common import ROOT

SCHEMAS = ROOT / "tests" / "data" / "schemastore"
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.yml"))
REUSABLE = ROOT / ".github" / "workflows" / "compliance.yml"
#: Inputs that only action.yml itself reads (the upload step); the script reads all others.
YAML_ONLY_INPUTS = {"artifact-name"}


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as GitHub reads it: `on` is a key, not the boolean PyYAML's YAML 1.1 makes of it."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _load(text: str) -> Any:
    return yaml.load(text, Loader=_Yaml12Loader)  # noqa: S506 (a SafeLoader subclass)


def _validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


ACTION_SCHEMA = _validator("github-action")
WORKFLOW_SCHEMA = _validator("github-workflow")


def _problems(validator: jsonschema.Draft7Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in validator.iter_errors(document)
    ]


def _action() -> dict[str, Any]:
    return _load(ACTION.read_text(encoding="utf-8"))


def _action_inputs() -> set[str]:
    return set(_action()["inputs"])


def _reusable_inputs() -> set[str]:
    return set(_load(REUSABLE.read_text(encoding="utf-8"))["on"]["workflow_call"]["inputs"])


def _matrix_keys() -> set[str]:
    """The client keys the reusable workflow reads (`matrix.KEY`)."""
    return set(re.findall(r"matrix\.([a-z-]+)", REUSABLE.read_text(encoding="utf-8")))


# ---------------------------------------------------------------------------------------------
# Schemas


def test_action_yml_is_valid_against_the_github_action_schema() -> None:
    assert _problems(ACTION_SCHEMA, _action()) == []


@pytest.mark.parametrize("path", WORKFLOWS + EXAMPLES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_workflow_is_valid_against_the_github_workflow_schema(path: Path) -> None:
    assert _problems(WORKFLOW_SCHEMA, _load(path.read_text(encoding="utf-8"))) == []


def test_the_schemas_refuse_what_github_refuses() -> None:
    # Without this the two tests above could pass on a schema that accepts anything.
    broken_action = {**_action(), "runs": {"using": "composite"}}
    assert _problems(ACTION_SCHEMA, broken_action), "a composite action without steps passed"
    broken_workflow = {"on": "push", "jobs": {"x": {"runs-on": "ubuntu-latest", "step": []}}}
    assert _problems(WORKFLOW_SCHEMA, broken_workflow), "a job without steps passed"


def test_the_vendored_schemas_are_the_ones_the_readme_names() -> None:
    import hashlib

    readme = (SCHEMAS / "README.md").read_text(encoding="utf-8")
    for name in ("github-action.json", "github-workflow.json"):
        digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
        assert f"| `{name}` |" in readme
        assert digest in readme, f"{name} changed without its sha256 in {SCHEMAS / 'README.md'}"
    assert (
        (SCHEMAS / "LICENSE.schemastore")
        .read_text(encoding="utf-8")
        .lstrip()
        .startswith("Apache License")
    )


# ---------------------------------------------------------------------------------------------
# action.yml against its script


def test_every_input_the_action_reads_is_declared() -> None:
    used = set(re.findall(r"inputs\.([a-z-]+)", ACTION.read_text(encoding="utf-8")))
    assert used <= _action_inputs(), f"undeclared: {used - _action_inputs()}"


def test_every_step_that_runs_the_script_gets_every_input() -> None:
    steps = [s for s in _action()["runs"]["steps"] if "conformance_action.py" in s.get("run", "")]
    assert [s["run"].split()[-1] for s in steps] == ["install", "run"]
    expected = {
        "INPUT_" + name.upper().replace("-", "_"): f"${{{{ inputs.{name} }}}}"
        for name in _action_inputs() - YAML_ONLY_INPUTS
    }
    for step in steps:
        assert step["env"] == expected, step["name"]


def test_the_outputs_are_what_the_script_writes(tmp_path: Path) -> None:
    outputs = tmp_path / "out"
    action.write_outputs(str(outputs), action.read_inputs({"INPUT_CLIENT": "reference"}), 3)
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    assert written == {"exit-code": "3", "report-dir": "b24-conformance-report"}
    declared = {name: o["value"] for name, o in _action()["outputs"].items()}
    assert declared == {name: f"${{{{ steps.run.outputs.{name} }}}}" for name in written}


# ---------------------------------------------------------------------------------------------
# The script: inputs, command lines, refusals


def _env(**inputs: str) -> dict[str, str]:
    return {"INPUT_" + k.upper(): v for k, v in inputs.items()}


COMMANDS = [
    (
        "a Python adapter",
        _env(client="my.adapter:factory"),
        ["--client", "my.adapter:factory", "--report", "b24-conformance-report"],
    ),
    (
        "a harness, portal over TLS",
        _env(client_cmd="node h.mjs", mode="portal", args="--tls --validate-protocol"),
        [
            "--client",
            "cmd:node h.mjs",
            "--mode",
            "portal",
            "--report",
            "b24-conformance-report",
            "--tls",
            "--validate-protocol",
        ],
    ),
    (
        "modes, baseline, strict, report dir",
        _env(
            client="reference",
            mode="stub, replay portal",
            baseline="ci/base.yaml",
            strict="TRUE",
            report_dir="out",
        ),
        [
            "--client",
            "reference",
            "--mode",
            "stub",
            "--mode",
            "replay",
            "--mode",
            "portal",
            "--baseline",
            "ci/base.yaml",
            "--strict",
            "--report",
            "out",
        ],
    ),
    (
        "strict false, quoted args",
        _env(client="reference", strict="false", args="--case 'get.success' -k \"not retry\""),
        [
            "--client",
            "reference",
            "--report",
            "b24-conformance-report",
            "--case",
            "get.success",
            "-k",
            "not retry",
        ],
    ),
]


@pytest.mark.parametrize(("label", "env", "words"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_the_run_command_is_built_from_the_inputs(
    label: str, env: dict[str, str], words: list[str]
) -> None:
    assert action.run_words(action.read_inputs(env)) == ["b24-conformance", "run", *words]


INSTALLS = [
    ("the action's revision", _env(client="reference"), "/a/b24-conformance"),
    (
        "with extras",
        _env(client="reference", extras="b24pysdk, a24wh"),
        "/a/b24-conformance[b24pysdk,a24wh]",
    ),
    (
        "a pinned release",
        _env(client="reference", suite="b24-conformance==0.1.0", extras="a24wh"),
        "b24-conformance==0.1.0",
    ),
]


@pytest.mark.parametrize(("label", "env", "requirement"), INSTALLS, ids=[i[0] for i in INSTALLS])
def test_the_install_command_installs_the_asked_suite(
    label: str, env: dict[str, str], requirement: str
) -> None:
    command = action.install_command(action.read_inputs(env), "/a/b24-conformance", "/py")
    assert command == ["/py", "-m", "pip", "install", "--quiet", requirement]


REFUSALS = [
    ("no client", _env(mode="portal"), "set the input `client` (a --client spec"),
    (
        "both clients",
        _env(client="reference", client_cmd="node h.mjs"),
        "set one of the inputs `client` and `client-cmd`, not both",
    ),
    (
        "a command as client",
        _env(client="cmd:node h.mjs"),
        "input `client` 'cmd:node h.mjs' is a harness command: pass it as `client-cmd`",
    ),
    (
        "strict not a boolean",
        _env(client="reference", strict="yes"),
        "input `strict` must be true or false, got 'yes'",
    ),
    (
        "upload not a boolean",
        _env(client="reference", upload="1"),
        "input `upload` must be true or false, got '1'",
    ),
    (
        "args unquoted",
        _env(client="reference", args="--case 'get.success"),
        "input `args` is not a shell-quoted list of words (No closing quotation)",
    ),
    (
        "name unfit for a file",
        _env(client="reference", name="my client"),
        "input `name` 'my client' must be letters, digits",
    ),
    (
        "extras not names",
        _env(client="reference", extras="a24wh]; rm -rf /"),
        "input `extras` must be extra names separated by commas",
    ),
]


@pytest.mark.parametrize("phase", ["install", "run"])
@pytest.mark.parametrize(("label", "env", "said"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_bad_input_is_refused_in_one_line_before_anything_runs(
    capsys: pytest.CaptureFixture[str], label: str, env: dict[str, str], said: str, phase: str
) -> None:
    assert action.main([phase], env) == 2
    captured = capsys.readouterr()
    assert captured.out == "", "nothing was installed or run"
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"b24-conformance action: {said}"), captured.err


def test_an_unknown_phase_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert action.main(["deploy"], _env(client="reference")) == 2
    assert "usage: conformance_action.py install|run" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------
# The script: a real run (the suite in this venv)


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A job's workspace: the files GitHub gives a step, a summary that already holds text."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "summary.md").write_text("earlier step\n", encoding="utf-8")
    return {
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
    }


def test_a_failing_run_reports_and_exits_with_the_runs_code(
    job: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **job,
        **_env(
            client="miniature:loses-error-code",
            mode="stub",
            args="--case get.not-found --no-properties",
            name="broken",
        ),
    }
    assert action.main(["run"], env) == 1
    report_md = (tmp_path / "b24-conformance-report" / "report.md").read_text(encoding="utf-8")
    assert (tmp_path / "summary.md").read_text(encoding="utf-8") == "earlier step\n" + report_md
    assert "exit-code=1\n" in (tmp_path / "output").read_text(encoding="utf-8")
    run = json.loads((tmp_path / "b24-conformance-report" / "run.json").read_text())
    assert run["name"] == "broken"
    assert run["exit_code"] == 1
    assert shlex.split(run["command"])[:4] == [
        "b24-conformance",
        "run",
        "--client",
        "miniature:loses-error-code",
    ]


def test_a_run_with_a_baseline_keeps_a_copy_for_the_merge(
    job: dict[str, str], tmp_path: Path
) -> None:
    baseline = tmp_path / "ci" / "baseline.yaml"
    baseline.parent.mkdir()
    baseline.write_text(
        "client: loses-error-code\nexpected_failures:\n"
        '  - case: get.not-found\n    reason: "loses the error code"\n',
        encoding="utf-8",
    )
    env = {
        **job,
        **_env(
            client="miniature:loses-error-code",
            mode="stub",
            baseline="ci/baseline.yaml",
            args="--case get.not-found --no-properties",
        ),
    }
    assert action.main(["run"], env) == 0
    kept = tmp_path / "b24-conformance-report"
    assert (kept / "baseline.yaml").read_bytes() == baseline.read_bytes()
    assert json.loads((kept / "run.json").read_text())["baseline"] == "ci/baseline.yaml"
    assert "exit-code=0\n" in (tmp_path / "output").read_text(encoding="utf-8")


def test_a_run_that_writes_no_report_says_so_on_the_summary(
    job: dict[str, str], tmp_path: Path
) -> None:
    env = {**job, **_env(client="reference", mode="nonsense")}
    assert action.main(["run"], env) == 2
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "`b24-conformance run --client reference --mode nonsense" in summary
    assert "exited 2 and wrote no report.md" in summary
    assert not (tmp_path / "b24-conformance-report" / "run.json").exists()


# ---------------------------------------------------------------------------------------------
# The workflows and the README


def test_the_reusable_workflow_passes_only_inputs_the_action_has() -> None:
    workflow = _load(REUSABLE.read_text(encoding="utf-8"))
    steps = workflow["jobs"]["run"]["steps"]
    runs = [s for s in steps if s.get("uses") == "./.b24-conformance"]
    assert len(runs) == 1
    assert set(runs[0]["with"]) <= _action_inputs()
    assert workflow["jobs"]["run"]["strategy"]["matrix"]["include"] == (
        "${{ fromJSON(inputs.clients) }}"
    )


def _words(entry: dict[str, str]) -> list[str]:
    modes = [m for m in re.split(r"[\s,]+", entry.get("mode", "")) if m]
    return [w for m in modes for w in ("--mode", m)] + shlex.split(entry.get("args", ""))


def test_the_projects_ci_runs_every_known_client_as_compliance_does() -> None:
    ci = _load((ROOT / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8"))
    job = ci["jobs"]["compliance"]
    assert job["uses"] == "./.github/workflows/compliance.yml"
    assert set(job["with"]) <= _reusable_inputs()
    clients = json.loads(job["with"]["clients"])
    assert all(set(entry) <= _matrix_keys() for entry in clients)
    by_name = {entry["name"]: entry for entry in clients}
    assert list(by_name) == [c.name for c in KNOWN_CLIENTS]
    for known in KNOWN_CLIENTS:
        entry = by_name[known.name]
        spec = entry.get("client") or f"cmd:{entry['client-cmd']}"
        assert spec == known.spec, known.name
        assert _words(entry) == list(known.options), known.name
        assert entry.get("baseline") == known.baseline, known.name
        if known.harness:
            assert f"npm ci --prefix {known.harness}" in entry["install"], known.name
        else:
            assert entry.get("extras") == known.extra, known.name


def _readme_section(heading: str) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"\n## {heading}\n" in readme, f"README.md has no section '## {heading}'"
    return readme.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def _readme_workflows() -> list[dict[str, Any]]:
    blocks = re.findall(r"```yaml\n(.*?)```", _readme_section("In GitHub Actions"), re.S)
    return [_load(block) for block in blocks]


def test_the_readme_shows_the_action_and_the_matrix() -> None:
    section = _readme_section("In GitHub Actions")
    assert len(_readme_workflows()) == 2, "one workflow with the Action, one with the matrix"
    assert "action.yml" in section


@pytest.mark.parametrize("position", [0, 1])
def test_the_readmes_workflow_snippets_are_valid_workflows(position: int) -> None:
    assert _problems(WORKFLOW_SCHEMA, _readme_workflows()[position]) == []


def _uses(node: Any) -> list[dict[str, Any]]:
    """Every mapping with a `uses` key in a parsed snippet, however deep."""
    if isinstance(node, list):
        return [found for item in node for found in _uses(item)]
    if not isinstance(node, dict):
        return []
    own = [node] if "uses" in node else []
    return own + [found for value in node.values() for found in _uses(value)]


DOCS_WITH_SNIPPETS = ["README.md", "docs/client-authors.md"]


@pytest.mark.parametrize("doc", DOCS_WITH_SNIPPETS)
def test_the_docs_snippets_use_only_inputs_that_exist(doc: str) -> None:
    text = (ROOT / doc).read_text(encoding="utf-8")
    snippets = [_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]
    calls = [call for snippet in snippets for call in _uses(snippet)]
    action_calls = [c for c in calls if re.search(r"/b24-conformance@", c["uses"])]
    matrix_calls = [c for c in calls if "/.github/workflows/compliance.yml@" in c["uses"]]
    assert action_calls, f"no snippet in {doc} uses the Action"
    assert matrix_calls, f"no snippet in {doc} calls the reusable workflow"
    for call in action_calls:
        given = set(call.get("with", {}))
        assert given <= _action_inputs(), given - _action_inputs()
    for call in matrix_calls:
        given = set(call["with"])
        assert given <= _reusable_inputs(), given - _reusable_inputs()
        clients = json.loads(call["with"]["clients"])
        assert clients, "the matrix snippet lists no client"
        for entry in clients:
            assert set(entry) <= _matrix_keys(), set(entry) - _matrix_keys()
            assert "name" in entry
            assert ("client" in entry) != ("client-cmd" in entry), entry
