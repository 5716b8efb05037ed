"""Baselines with a lifecycle: expiry, client version ranges, --baseline-update, and errors a
person can act on (the minimum reason length, the nearest case id)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from conformance.baseline import BaselineError, apply_baseline, load_baseline
from conformance.baseline_update import Failing, updated_document, write_baseline
from conformance.evidence import difference, observe
from conformance.session import RunConfig, RunSession
from tests.fixtures.common import cli

TODAY = date(2027, 3, 1)
BROKEN = "miniature:loses-error-code"


def _baseline(tmp_path: Path, entries: str, client: str = "") -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(f"{client}expected_failures:\n{entries}", encoding="utf-8")
    return path


def _entry(case: str = "get.not-found", **fields: str) -> str:
    lines = f"  - case: {case}\n    reason: loses the Bitrix error code\n"
    return lines + "".join(f"    {key}: {value!r}\n" for key, value in fields.items())


def _session_run(baseline: Path, today: date = TODAY) -> RunSession:
    config = RunConfig(
        client=BROKEN,
        modes=("stub",),
        case_ids=("get.not-found",),
        baseline=load_baseline(baseline),
        properties=False,
        today=today,
    )
    session = RunSession(config)
    session.prepare()
    try:
        for item, mode in session.selected():
            session.run(item, mode)
    finally:
        session.close()
    return session


# --- the lifecycle, decided with the date and the version passed in --------------------------


@pytest.mark.parametrize(
    ("expires", "today", "expired"),
    [
        ("2027-03-01", date(2027, 3, 1), False),  # the last day it holds
        ("2027-03-01", date(2027, 3, 2), True),
        ("2026-12-31", date(2027, 3, 1), True),
    ],
)
def test_an_entry_expires_the_day_after_its_date(
    tmp_path: Path, expires: str, today: date, expired: bool
) -> None:
    applied = apply_baseline(
        load_baseline(_baseline(tmp_path, _entry(expires=expires))), "1", today
    )
    assert [e.case for e in applied.expired] == (["get.not-found"] if expired else [])
    assert [e.case for e in applied.active] == ([] if expired else ["get.not-found"])


@pytest.mark.parametrize(
    ("version", "applies", "note"),
    [
        ("1.3.2", True, None),
        ("1.4.0", False, "it is for client >=1.3,<1.4, this is 1.4.0"),
        (None, False, "the adapter declares no version"),
        ("nightly", False, "version 'nightly' is not a PEP 440 version"),
    ],
)
def test_an_entry_with_a_client_range_holds_for_versions_in_it_only(
    tmp_path: Path, version: str | None, applies: bool, note: str | None
) -> None:
    path = _baseline(tmp_path, _entry(client=">=1.3,<1.4"))
    applied = apply_baseline(load_baseline(path), version, TODAY)
    assert (applied.lookup("get.not-found", "stub") is not None) is applies
    if note is None:
        assert applied.notes == ()
    else:
        assert len(applied.notes) == 1
        assert note in applied.notes[0]
        assert "get.not-found" in applied.notes[0]


def test_the_header_counts_entries_and_expired_ones(tmp_path: Path) -> None:
    path = _baseline(tmp_path, _entry(expires="2027-01-01") + _entry("get.success"))
    header = apply_baseline(load_baseline(path), "1", TODAY).header()
    assert header == f"baseline: {path}, 2 entries, 1 expired"


# --- through a run ------------------------------------------------------------------------------


def test_an_expired_entry_fails_the_run(tmp_path: Path) -> None:
    path = _baseline(tmp_path, _entry(expires="2027-02-28"))
    session = _session_run(path)
    assert session.exit_code() == 1
    assert [r.outcome for r in session.results] == ["failed"]
    assert any("expired on 2027-02-28" in p for p in session.baseline_problems)
    assert session.baseline_lines()[0] == f"baseline: {path}, 1 entry, 1 expired"
    renewed = _session_run(_baseline(tmp_path, _entry(expires="2027-03-31")))
    assert renewed.exit_code() == 0, "the same entry before its date holds"
    assert [r.outcome for r in renewed.results] == ["xfailed"]


def test_an_entry_for_another_client_version_is_ignored_with_a_note(tmp_path: Path) -> None:
    # The miniature is the reference client underneath: it declares the suite's version.
    session = _session_run(_baseline(tmp_path, _entry(client="<0.0.1")))
    assert session.client_version is not None
    assert [r.outcome for r in session.results] == ["failed"]
    assert session.exit_code() == 1
    assert any("does not apply: it is for client <0.0.1" in n for n in session.baseline_notes)
    assert any(line.startswith("note: ") for line in session.baseline_lines())
    in_range = _session_run(_baseline(tmp_path, _entry(client=">=0.0.1")))
    assert [r.outcome for r in in_range.results] == ["xfailed"]
    assert in_range.baseline_notes == []


def test_the_cli_prints_the_baseline_header_and_the_version(tmp_path: Path) -> None:
    path = _baseline(tmp_path, _entry(expires="2000-01-01"))
    args = ["run", "--client", BROKEN, "--mode", "stub", "--case", "get.not-found"]
    result = cli([*args, "--baseline", str(path), "--report", str(tmp_path)])
    assert result.exit_code == 1, result.output
    assert f"baseline: {path}, 1 entry, 1 expired" in result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["client"]["version"]
    assert any("expired on 2000-01-01" in p for p in report["baseline_problems"])


# --- --baseline-update ---------------------------------------------------------------------------


def test_baseline_update_round_trip_keeps_reasons_and_marks_new_entries(tmp_path: Path) -> None:
    previous = load_baseline(
        _baseline(
            tmp_path,
            _entry(issue="https://example.invalid/1", expires="2027-06-30") + _entry("get.success"),
            client="client: loses-error-code\n",
        )
    )
    results = [
        Failing("get.not-found", "stub", "xfailed", "expected failure (...); [outcome.code]"),
        Failing("get.not-found", "portal", "xfailed", "expected failure (...); [outcome.code]"),
        Failing("get.success", "stub", "failed", "listed in baseline x, but it passed"),
        Failing("list.empty", "stub", "failed", "[outcome.total] total is not 0\nmore"),
        Failing("list.empty", "portal", "passed", ""),
        Failing("add.success", "stub", "skipped", "needs capability"),
    ]
    document = updated_document(previous, results, "loses-error-code")
    target = tmp_path / "updated.yaml"
    write_baseline(target, document, comment="written by a test")
    reloaded = load_baseline(target)
    assert reloaded.client == "loses-error-code"
    kept, new = reloaded.entries
    assert (kept.case, kept.reason, kept.issue, kept.expires, kept.modes, kept.review) == (
        "get.not-found",
        "loses the Bitrix error code",
        "https://example.invalid/1",
        date(2027, 6, 30),
        None,
        False,
    )
    assert (new.case, new.reason, new.modes, new.review) == (
        "list.empty",
        "[outcome.total] total is not 0",
        frozenset({"stub"}),
        True,
    )
    assert target.read_text().startswith("# written by a test\n")
    notes = apply_baseline(reloaded, "1", TODAY).notes
    assert any("1 entry marked for review" in note for note in notes)


def test_run_baseline_update_writes_a_baseline_the_next_run_honours(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    args = ["run", "--client", BROKEN, "--mode", "stub", "--case", "get.not-found"]
    first = cli([*args, "--baseline-update", str(target)])
    assert first.exit_code == 1, first.output
    assert f"baseline written: {target}, 1 entry, 1 marked for review" in first.output
    assert [e.case for e in load_baseline(target).entries] == ["get.not-found"]
    second = cli([*args, "--baseline", str(target)])
    assert second.exit_code == 0, second.output


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        ("reported: ApiError(code=None, status=404)", "step 1 reported"),
        ("level: should", "level should then, must now"),
        ("check: outcome.status", "failed outcome.status (must) then, outcome.code (must) now"),
    ],
)
def test_recorded_evidence_edited_by_hand_fails_the_run(
    tmp_path: Path, edit: str, said: str
) -> None:
    target = tmp_path / "recorded.yaml"
    args = ["run", "--client", BROKEN, "--mode", "stub", "--case", "get.not-found"]
    assert cli([*args, "--baseline-update", str(target)]).exit_code == 1
    text = target.read_text(encoding="utf-8")
    key = edit.split(":", 1)[0]
    line = next(
        line for line in text.splitlines() if line.strip().lstrip("- ").startswith(f"{key}:")
    )
    start = line.index(f"{key}:")
    edited = text.replace(line, f"{line[:start]}{edit}", 1)
    assert edited != text
    target.write_text(edited, encoding="utf-8")
    rerun = cli([*args, "--baseline", str(target)])
    assert rerun.exit_code == 1, rerun.output
    entry = load_baseline(target).entries[0]
    assert entry.observed
    assert "stub" in entry.observed
    session = _session_run(target)
    message = session.results[0].message
    assert message.startswith("fails otherwise than baseline"), message
    assert said in message, message


def test_the_reason_shown_is_generated_from_the_evidence(tmp_path: Path) -> None:
    target = tmp_path / "recorded.yaml"
    args = ["run", "--client", BROKEN, "--mode", "stub", "--case", "get.not-found"]
    assert cli([*args, "--baseline-update", str(target)]).exit_code == 1
    entry = load_baseline(target).entries[0]
    assert entry.written is None
    assert entry.reason.startswith("stub: crm.activity.badge.get: 1 request: POST ")
    assert "outcome.code (must)" in entry.reason


# --- errors a person can act on --------------------------------------------------------------


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ("  - case: get.success\n    reason: typo\n", "at least 5 characters are required"),
        (_entry(expires="soon"), "expected a date, as in 2027-01-31"),
        (_entry(client="1.3 or later"), "is not a PEP 440 version range"),
    ],
)
def test_a_malformed_entry_says_what_is_allowed(tmp_path: Path, entries: str, message: str) -> None:
    with pytest.raises(BaselineError) as caught:
        load_baseline(_baseline(tmp_path, entries))
    assert message in str(caught.value)
    assert "--baseline" in str(caught.value)


def test_a_mistyped_case_id_gets_the_nearest_one(tmp_path: Path) -> None:
    session = _session_run(_baseline(tmp_path, _entry("get.not-fuond")))
    assert session.exit_code() == 1
    assert any("did you mean 'get.not-found'?" in p for p in session.baseline_problems)
    result = cli(["run", "--case", "get.not-fuond"])
    assert result.exit_code == 2
    assert "did you mean 'get.not-found'?" in result.output


def test_a_new_entry_always_gets_a_reason_the_format_accepts(tmp_path: Path) -> None:
    results = [
        Failing("get.success", "stub", "errored", ""),
        Failing("list.empty", "stub", "failed", "x"),
    ]
    document = updated_document(load_baseline(_baseline(tmp_path, "  []\n")), results, None)
    write_baseline(tmp_path / "b.yaml", document, comment="")
    assert [len(e.reason) >= 5 for e in load_baseline(tmp_path / "b.yaml").entries] == [True, True]


def test_a_broken_update_target_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    target = tmp_path / "old.yaml"
    target.write_text("expected_failures: [{case: get.success, reason: typo}]")
    result = cli(["run", "--baseline-update", str(target)])
    assert result.exit_code == 2
    assert "--baseline-update" in result.stderr
    assert "at least 5 characters" in result.stderr


def _evidence(sent: int, reported: str, actual: str, check: str = "behaviour.deadline") -> dict:
    return {
        "outcome": "failed",
        "level": "must",
        "steps": [
            {
                "method": "crm.activity.badge.add",
                "sent": [["POST /rest/1/***/crm.activity.badge.add.json", sent]],
                "attempts": [0.5] * sent,
                "reported": reported,
            }
        ],
        "failed": [{"check": check, "level": "must", "title": "t", "actual": actual}],
    }


HUNG = "nothing: the call had not returned by the deadline"
TIMED_OUT = "TransportFailure(kind='timeout', status=None)"
ANSWERED = "ApiError(code='QUERY_LIMIT_EXCEEDED', status=503)"


@pytest.mark.parametrize(
    ("recorded", "observed", "same"),
    [
        # How many attempts fit before the deadline follows the machine's load.
        (
            _evidence(9, HUNG, "9 request(s) so far"),
            _evidence(10, HUNG, "10 request(s) so far"),
            True,
        ),
        (_evidence(3, TIMED_OUT, "x"), _evidence(4, TIMED_OUT, "x"), True),
        # ...but one request is not a retry storm, and an answered step's count is its own.
        (_evidence(1, HUNG, "x"), _evidence(2, HUNG, "x"), False),
        (_evidence(2, ANSWERED, "x"), _evidence(3, ANSWERED, "x"), False),
        # A run's random badge-code token differs between runs; the code around it does not.
        (
            _evidence(1, ANSWERED, "code b24c-d246debf-1-missed"),
            _evidence(1, ANSWERED, "code b24c-6e10a2d0-1-missed"),
            True,
        ),
        (_evidence(1, ANSWERED, "x"), _evidence(1, HUNG, "x"), False),
        (_evidence(1, ANSWERED, "x"), _evidence(1, ANSWERED, "x", check="requests.count"), False),
    ],
)
def test_evidence_compares_what_the_clock_decides_loosely(
    recorded: dict, observed: dict, same: bool
) -> None:
    assert (difference(recorded, observed) is None) is same, difference(recorded, observed)


def _crashed_step(command: str) -> SimpleNamespace:
    crash = (
        f"conformance.harness.HarnessCrash: harness {command} reports that client 'crest' "
        "raised: TypeError: Illegal offset type in isset or empty, at crest.php line 190"
    )
    return SimpleNamespace(
        step=SimpleNamespace(method="crm.activity.badge.get"),
        requests=[],
        attempts=lambda: [],
        hung=False,
        exception=f"Traceback (most recent call last):\n  ...\n{crash}\n",
        outcome=None,
    )


def test_a_crash_records_the_clients_text_whatever_path_the_harness_ran_from() -> None:
    # The same crash, run as CI runs it (an absolute path) and as compliance does (relative).
    recorded = [
        observe(
            [_crashed_step(command)],
            [],
            portal_url="http://127.0.0.1:1/",
            outcome="errored",
            level="must",
            redact=str,
        )
        for command in (
            "php harnesses/php-crest/harness.php",
            "php /a/much/longer/checkout/path/of/ci/harnesses/php-crest/harness.php",
        )
    ]
    assert recorded[0] == recorded[1]
    assert difference(recorded[0], recorded[1]) is None
    assert "TypeError: Illegal offset type in isset" in recorded[0]["steps"][0]["reported"]
