"""The adapters for real clients: each honours its baseline, and a known defect shows as the
baseline states it (through `b24-conformance run`, in process)."""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance.api import ApiError, Success, Target, TransportFailure
from conformance.baseline import load_baseline
from conformance.portal import FakePortal
from conformance.portal.faults import Fault
from tests.fixtures.common import ROOT, cli


@dataclass(frozen=True)
class AdapterRun:
    spec: str
    module: str
    extra: str
    options: tuple[str, ...]
    baseline: str
    #: cases the client passes
    passing: tuple[str, ...]
    #: case id -> text the failure message shows (beside the baseline's reason)
    defects: dict[str, str]


RUNS = {
    "b24pysdk": AdapterRun(
        "conformance.adapters.b24pysdk:factory",
        "b24pysdk",
        "b24pysdk",
        ("--mode", "portal", "--tls"),
        "b24pysdk.yaml",
        passing=("get.success", "list.success-with-total"),
        defects={
            "add.missing-code-100": "ValueError: Cannot convert Bitrix24 value to text: 100",
            # The code arrives; the webhook secret rides along in the URL of requests' HTTPError,
            # which b24pysdk chains to every API error it raises.
            "get.not-found": "__cause__ HTTPError",
            "retry.overload-limit-not-retried": "actual:   3 request(s)",
        },
    ),
    "fast-bitrix24": AdapterRun(
        "conformance.adapters.fast_bitrix24:factory",
        "fast_bitrix24",
        "fast-bitrix24",
        ("--mode", "portal"),
        "fast-bitrix24.yaml",
        passing=("get.success", "add.success-language-map"),
        defects={
            "get.not-found": "actual:   None",
            "transport.json-null-body": "TypeError: argument of type 'NoneType' is not iterable",
        },
    ),
    "a24wh": AdapterRun(
        "conformance.adapters.a24wh_rest:factory",
        "a24wh",
        "a24wh",
        ("--mode", "portal"),
        "a24wh.yaml",
        passing=(
            "get.success",
            "list.success-with-total",
            "system.error-with-200",
            "get.not-found",
        ),
        defects={
            "transport.not-an-envelope": "actual:   Success(result=null)",
            "retry.overload-limit-not-retried": "actual:   4 request(s)",
        },
    ),
    "fast-bitrix24-default": AdapterRun(
        "conformance.adapters.fast_bitrix24:factory_default",
        "fast_bitrix24",
        "fast-bitrix24",
        ("--mode", "portal"),
        "fast-bitrix24-default.yaml",
        passing=(),
        defects={
            "get.success": "method batch: POST",
            "list.empty": "actual:   []",
        },
    ),
}


def _installed(module: str, extra: str) -> None:
    pytest.importorskip(
        module, reason=f"{module} is not installed: pip install 'b24-conformance[{extra}]'"
    )


@pytest.mark.parametrize("name", RUNS)
def test_adapter_honours_its_baseline_and_shows_its_defects(name: str, tmp_path: Path) -> None:
    run = RUNS[name]
    _installed(run.module, run.extra)
    baseline = ROOT / "baselines" / run.baseline
    cases = [*run.passing, *run.defects]
    args = ["run", "--client", run.spec, *run.options, "--baseline", str(baseline)]
    args += ["--report", str(tmp_path), *(f"--case={case}" for case in cases)]
    result = cli(args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["client"]["name"] == name
    outcomes = {case["id"]: case for case in report["cases"]}
    assert {case: outcomes[case]["outcome"] for case in run.passing} == dict.fromkeys(
        run.passing, "passed"
    )
    reasons = {entry.case: entry.reason for entry in load_baseline(baseline).entries}
    for case, evidence in run.defects.items():
        assert outcomes[case]["outcome"] == "xfailed", outcomes[case]["message"]
        assert outcomes[case]["message"].startswith(f"expected failure ({reasons[case]})")
        assert evidence in outcomes[case]["message"]


@pytest.mark.parametrize(
    ("spec", "package", "extra"),
    [
        ("conformance.adapters.b24pysdk:factory", "b24pysdk", "b24pysdk"),
        ("conformance.adapters.fast_bitrix24:factory", "fast_bitrix24", "fast-bitrix24"),
        ("conformance.adapters.a24wh_rest:factory", "a24wh", "a24wh"),
    ],
)
def test_a_missing_client_is_a_usage_error_naming_the_extra(
    spec: str, package: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, package, None)  # makes `import package` fail
    monkeypatch.delitem(sys.modules, spec.partition(":")[0], raising=False)
    result = cli(["run", "--client", spec, "--case", "get.success"])
    assert result.exit_code == 2, result.output
    assert f"pip install 'b24-conformance[{extra}]'" in result.output
    assert "Traceback" not in result.output


def test_b24pysdk_refuses_an_http_portal_and_names_tls() -> None:
    _installed("b24pysdk", "b24pysdk")
    from conformance.adapters.b24pysdk import factory

    target = Target("http://127.0.0.1:1/rest/1/s/", "http://127.0.0.1:1/", 1, "s")
    with pytest.raises(ValueError, match="--tls"):
        factory(target)


def test_fast_bitrix24_close_cancels_a_call_the_suite_gave_up_on() -> None:
    _installed("fast_bitrix24", "fast-bitrix24")
    from conformance.adapters.fast_bitrix24 import factory

    with FakePortal(bucket=None, operating_limit=None) as portal:
        portal.inject(Fault.stall(30))
        adapter = factory(portal.target(timeout=2.0))
        outcomes = []
        worker = threading.Thread(
            target=lambda: outcomes.append(adapter.call("crm.activity.badge.list", {}))
        )
        worker.start()
        waited = time.monotonic() + 5
        while not portal.requests and time.monotonic() < waited:
            time.sleep(0.01)
        adapter.close()
        worker.join(5)
        assert not worker.is_alive(), "the stalled call outlived close()"
        assert len(portal.requests) == 1
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], TransportFailure)
    assert outcomes[0].kind == "timeout"


def test_the_a24wh_adapter_imports_the_client_package_not_itself() -> None:
    _installed("a24wh", "a24wh")
    import a24wh

    from conformance.adapters import a24wh_rest

    assert a24wh_rest.request24 is a24wh.request24
    assert Path(a24wh.__file__).parent.name == "a24wh"


def test_a24wh_swallowed_exceptions_escape_the_adapter_as_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _installed("a24wh", "a24wh")
    from conformance.adapters import a24wh_rest

    def swallowed(*_args: object, **_kwargs: object) -> dict[str, object]:
        return {
            "error_result": True,
            "error_type": "unexpected_error",
            "error_code": "KeyError",
            "error_message": "Unexpected error during Bitrix24 request.",
        }

    monkeypatch.setattr(a24wh_rest, "request24", swallowed)
    adapter = a24wh_rest.factory(
        Target("http://127.0.0.1:1/rest/1/s/", "http://127.0.0.1:1/", 1, "s")
    )
    with pytest.raises(a24wh_rest.A24whSwallowedError, match="unexpected_error KeyError"):
        adapter.call("crm.activity.badge.get", {"code": "x"})


# request24's dict (a24wh/rest.py) -> the outcome the adapter reports
A24WH_DICTS = [
    (
        {"result": {"badge": {}}, "time": {"start": 1}, "total": 3},
        Success({"badge": {}}, {"start": 1}, 3),
    ),
    ({"foo": 1}, Success(None)),
    (
        {
            "error_result": True,
            "error_type": "bitrix_error",
            "error_code": "100",
            "error_message": "d",
            "status_code": 200,
        },
        ApiError("100", "d", 200),
    ),
    (
        {
            "error_result": True,
            "error_type": "http_error",
            "error_code": "400",
            "error_message": "Bitrix24 returned HTTP 400.",
            "status_code": 400,
            "details": {"error": "NOT_FOUND", "error_description": "Badge not found"},
        },
        # request24 keeps the envelope in details, where an application reads it
        ApiError("NOT_FOUND", "Badge not found", 400),
    ),
    (
        {
            "error_result": True,
            "error_type": "http_error",
            "error_code": "502",
            "error_message": "Bitrix24 returned HTTP 502.",
            "status_code": 502,
            "details": "<html><body>Bad Gateway</body></html>",
        },
        TransportFailure(
            "non-json",
            "502: Bitrix24 returned HTTP 502. <html><body>Bad Gateway</body></html>",
            502,
        ),
    ),
    (
        {
            "error_result": True,
            "error_type": "http_error",
            "error_code": "502",
            "error_message": "Bitrix24 returned HTTP 502.",
            "status_code": 502,
            "details": "",
        },
        TransportFailure("empty-body", "502: Bitrix24 returned HTTP 502.", 502),
    ),
    (
        {
            "error_result": True,
            "error_type": "http_error",
            "error_code": "500",
            "error_message": "Bitrix24 returned HTTP 500.",
            "status_code": 500,
            "details": {"result": None},
        },
        TransportFailure("bad-envelope", "500: Bitrix24 returned HTTP 500. {'result': None}", 500),
    ),
    (
        {
            "error_result": True,
            "error_type": "invalid_json",
            "error_code": "invalid_json",
            "error_message": "m",
            "status_code": 200,
            "details": "<html>",
        },
        TransportFailure("non-json", "m <html>", 200),
    ),
    (
        {
            "error_result": True,
            "error_type": "timeout_error",
            "error_code": "timeout",
            "error_message": "m",
            "details": "t",
        },
        TransportFailure("timeout", "m t"),
    ),
    (
        {
            "error_result": True,
            "error_type": "transport_error",
            "error_code": "ConnectionError",
            "error_message": "m",
            "details": "x",
        },
        TransportFailure("connection", "ConnectionError: m x"),
    ),
    (
        {
            "error_result": True,
            "error_type": "transport_error",
            "error_code": "TooManyRedirects",
            "error_message": "m",
            "details": "x",
        },
        TransportFailure("redirect", "TooManyRedirects: m x"),
    ),
]


@pytest.mark.parametrize(("answer", "outcome"), A24WH_DICTS)
def test_a24wh_dicts_become_outcomes_by_their_error_type(
    answer: dict[str, object], outcome: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    _installed("a24wh", "a24wh")
    from conformance.adapters import a24wh_rest

    monkeypatch.setattr(a24wh_rest, "request24", lambda *_a, **_k: answer)
    adapter = a24wh_rest.factory(
        Target("http://127.0.0.1:1/rest/1/s/", "http://127.0.0.1:1/", 1, "s")
    )
    assert adapter.call("crm.activity.badge.get", {"code": "x"}) == outcome
