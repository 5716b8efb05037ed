"""Live mode's parts: the target from the environment, the budget, the gateway's rules,
the drift mapping, scrubbing, usage errors and sweep. The fake portal plays the live portal."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from conformance import error_catalogue
from conformance.api import Redactor
from conformance.live.budget import BudgetSettings, RequestBudget
from conformance.live.drift import DriftCollector
from conformance.live.exchange import Exchange
from conformance.live.record import Scrubber
from conformance.live.run import LiveRun, LiveSettings
from conformance.live.target import LiveTargetError, portal_from_env
from conformance.portal import FakePortal
from tests.fixtures.clock import FakeClock
from tests.fixtures.live import add_badge, cli, codes, env, live_portal, webhook_env

SECRET = "s3cr3tw3bh00k1234"
HOOK = f"https://example.bitrix24.com/rest/7/{SECRET}/"
LIST = "crm.activity.badge.list"
#: The read-only list every live run sends before its first case (conformance.live.preflight).
PREFLIGHT = 1


# --- the target ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({}, "B24_WEBHOOK_URL is not set"),
        (
            {"B24_WEBHOOK_URL": f"https://example.bitrix24.com/rest/7/{SECRET}"[:-3] + "/x/y/z"},
            "B24_WEBHOOK_URL is not a webhook URL",
        ),
        (
            {"B24_WEBHOOK_URL": f"ftp://example.bitrix24.com/rest/7/{SECRET}/"},
            "B24_WEBHOOK_URL is not a webhook URL",
        ),
        (
            {"B24_WEBHOOK_URL": f"http://example.bitrix24.com/rest/7/{SECRET}/"},
            "B24_WEBHOOK_URL uses http",
        ),
        (
            {"B24_WEBHOOK_URL": f"https://user:{SECRET}@example.bitrix24.com/rest/7/x/"},
            "B24_WEBHOOK_URL is not a webhook URL",
        ),
        ({"B24_WEBHOOK_URL": f"{HOOK}?auth={SECRET}"}, "B24_WEBHOOK_URL is not a webhook URL"),
        ({"B24_PORTAL_URL": "https://example.bitrix24.com/"}, "B24_AUTH_TOKEN is not set"),
        ({"B24_AUTH_TOKEN": SECRET}, "B24_PORTAL_URL is not set"),
        (
            {"B24_PORTAL_URL": f"https://example.bitrix24.com/crm/{SECRET}", "B24_AUTH_TOKEN": "t"},
            "B24_PORTAL_URL is not a portal address",
        ),
    ],
)
def test_a_bad_target_names_the_variable_never_the_value(
    variables: dict[str, str], message: str
) -> None:
    with pytest.raises(LiveTargetError) as caught:
        portal_from_env(variables)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "\n" not in str(caught.value)


def test_targets_from_the_environment() -> None:
    hook = portal_from_env({"B24_WEBHOOK_URL": HOOK, "B24_AUTH_TOKEN": "ignored"})
    assert (hook.kind, hook.origin, hook.user_id, hook.secret) == (
        "webhook",
        "https://example.bitrix24.com",
        7,
        SECRET,
    )
    assert hook.auth_token is None
    assert SECRET not in repr(hook)
    oauth = portal_from_env(
        {"B24_PORTAL_URL": "https://example.bitrix24.com/rest/", "B24_AUTH_TOKEN": "tok"}
    )
    assert (oauth.kind, oauth.origin, oauth.auth_token) == (
        "oauth",
        "https://example.bitrix24.com",
        "tok",
    )
    login = portal_from_env({}, base_url="http://127.0.0.1:8080/rest/admin/abc")
    assert (login.user_id, login.secret, login.host) == ("admin", "abc", "127.0.0.1")


@pytest.mark.parametrize(
    ("arguments", "variables", "message"),
    [
        (["run", "--mode", "live"], env(), "Error: B24_WEBHOOK_URL is not set"),
        (
            ["run", "--mode", "live"],
            env(B24_WEBHOOK_URL="https://x/" + SECRET),
            "Error: B24_WEBHOOK_URL is not a webhook URL",
        ),
        (
            ["run", "--mode", "live", "--base-url", "nonsense"],
            env(),
            "Error: --base-url is not a webhook URL",
        ),
        (
            ["run", "--mode", "stub", "--allow-writes"],
            env(),
            "Error: --allow-writes applies to --mode live only",
        ),
        (
            ["run", "--mode", "stub", "--cassettes", "."],
            env(),
            "Error: --cassettes applies to --mode replay only",
        ),
        (
            ["record", "--out", "x"],
            env(B24_PORTAL_URL="https://x/"),
            "Error: B24_AUTH_TOKEN is not set",
        ),
        (
            ["sweep", "--prefix", "b24c-"],
            env(B24_WEBHOOK_URL=HOOK),
            "Error: --prefix 'b24c-' does not start with 'b24ct-'",
        ),
        (["sweep", "--prefix", "b24ct-"], env(), "Error: B24_WEBHOOK_URL is not set"),
    ],
)
def test_live_usage_errors_are_one_line_and_exit_2(
    arguments: list[str], variables: dict[str, str | None], message: str
) -> None:
    result = cli(arguments, variables)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(message), result.output
    assert SECRET not in result.output


# --- the budget ---------------------------------------------------------------------------------


def test_the_bucket_lets_a_burst_through_then_paces_at_the_rate() -> None:
    clock = FakeClock()
    budget = RequestBudget(
        BudgetSettings(rate=20.0, burst=6, max_requests=100), clock=clock, sleep=clock.sleep
    )
    started = clock()
    waits = [budget.acquire() for _ in range(8)]
    elapsed = clock() - started
    assert waits[:4] == [0.0] * 4, "burst 6 keeps two slots of headroom: four go at once"
    assert waits[4:] == pytest.approx([1 / 20.0] * 4), "then one slot every 1/rate seconds"
    assert elapsed == pytest.approx(4 / 20.0)
    assert clock.sleeps == pytest.approx(waits[4:])
    assert budget.made == 8


@contextmanager
def _run(portal: FakePortal, clock: FakeClock | None = None, **settings: Any) -> Iterator[LiveRun]:
    run = LiveRun(
        LiveSettings(**settings),
        env={"B24_WEBHOOK_URL": portal.webhook_url()},
        **({"clock": clock, "sleep": clock.sleep} if clock is not None else {}),
    )
    run.start()
    try:
        yield run
    finally:
        run.close()


def _list(base: str) -> requests.Response:
    return requests.post(f"{base}{LIST}.json", json={}, timeout=10)


def test_the_gateway_keeps_any_client_under_the_portals_bucket() -> None:
    """54 back-to-back calls from a plain requests loop: the portal (50, 2/s) refuses the
    direct ones past its burst, and never one that went through the gateway. One fake clock
    drives the portal's bucket and the budget, so the pacing is exact and costs no time."""
    count = 54
    clock = FakeClock()
    with live_portal(clock=clock) as portal:
        direct = [_list(portal.webhook_url()).status_code for _ in range(count)]
    assert direct == [200] * 50 + [503] * 4, "the control: without the budget the bucket trips"
    with live_portal(clock=clock) as portal, _run(portal, clock) as run:
        base = f"{run.gateway.public_url}rest/1/{portal.directory.user(1).secret}/"
        started = clock()
        statuses = [_list(base).status_code for _ in range(count)]
        elapsed = clock() - started
        summary = run.summary()
        seen = [r for r in portal.requests if "badge.list" in r.url]
    assert statuses == [200] * count
    assert len(seen) == count + PREFLIGHT
    assert summary["budget"]["requests_made"] == count + PREFLIGHT
    assert summary["requests"]["query_limit_exceeded"] == 0
    assert elapsed == pytest.approx((count + PREFLIGHT - 48) / 2.0), (
        "past the burst the gateway paces at 2/s"
    )


def test_past_max_requests_the_gateway_answers_itself() -> None:
    budget = BudgetSettings(max_requests=3 + PREFLIGHT)
    with live_portal() as portal, _run(portal, budget=budget) as run:
        base = f"{run.gateway.public_url}rest/1/{portal.directory.user(1).secret}/"
        answers = [_list(base) for _ in range(5)]
        reached = len(portal.requests)
    assert [a.status_code for a in answers] == [200, 200, 200, 429, 429]
    assert answers[-1].json()["error"] == "B24CT_BUDGET_EXHAUSTED"
    assert reached == 3 + PREFLIGHT


def _call(base: str, segment: str, params: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base}{segment}", json=params, timeout=10)


@pytest.mark.parametrize(
    ("writes", "segment", "params", "why"),
    [
        (
            False,
            "crm.activity.badge.add.json",
            {"code": "b24ct-run1-x", "title": "T", "value": "V", "type": "success"},
            "run with --allow-writes",
        ),
        (
            False,
            "crm.activity.badge.delete.json",
            {"code": "b24ct-run1-x"},
            "run with --allow-writes",
        ),
        (
            True,
            "crm.activity.badge.delete.json",
            {"code": "someone-elses"},
            "outside this run's prefix",
        ),
        (
            True,
            "crm.activity.badge.add.json",
            {"code": "B24CT-RUN1-x", "title": "T", "value": "V", "type": "success"},
            "outside this run's prefix",
        ),
        (
            True,
            "batch.json",
            {"cmd": {"a": "crm.activity.badge.delete?code=someone-elses"}},
            "batch is outside the suite",
        ),
        (True, "crm.activity.configurable.add.json", {}, "is outside the suite"),
        (True, "crm.activity.badge.list.xml", {}, "only the JSON transport"),
    ],
)
def test_the_gateway_refuses_what_a_live_run_must_not_send(
    writes: bool, segment: str, params: dict[str, Any], why: str
) -> None:
    with live_portal() as portal:
        add_badge(portal, "someone-elses")
        with _run(portal, allow_writes=writes, run_id="run1") as run:
            before = len(portal.requests)
            base = f"{run.gateway.public_url}rest/1/{portal.directory.user(1).secret}/"
            answer = _call(base, segment, params)
            reached = len(portal.requests) - before
        left = codes(portal)
    assert answer.status_code == 403
    assert answer.json()["error"] == "B24CT_REFUSED"
    assert why in answer.json()["error_description"]
    assert reached == 0, "a refused request never reaches the portal"
    assert left == ["someone-elses"]


# --- drift ----------------------------------------------------------------------------------------


def _exchange(method: str, status: int, body: Any, tag: str = "case") -> Exchange:
    return Exchange(
        number=1,
        tag=tag,
        step=0,
        at=0.0,
        wall=1_780_000_000.0,
        http_method="POST",
        client_url=f"http://127.0.0.1:1/rest/1/s/{method}.json",
        portal_url=f"https://portal.example/rest/1/s/{method}.json",
        request_headers={"Content-Type": "application/json"},
        request_body=b"{}",
        api_method=method,
        status=status,
        response_headers={"Content-Type": "application/json; charset=utf-8"},
        response_body=json.dumps(body).encode(),
        seconds=0.01,
        waited=0.0,
    )


WIRE_WITNESSES = [
    pytest.param(entry, id=entry.id)
    for entry in error_catalogue.drift_ledger()
    if entry.witness is not None and entry.witness.valid_under == "wire"
]


@pytest.mark.parametrize("entry", WIRE_WITNESSES)
def test_each_ledger_witness_is_reported_as_its_own_drift(
    entry: error_catalogue.DriftEntry,
) -> None:
    witness = entry.witness
    assert witness is not None
    # Against the last docs revision that makes the claim.
    collector = DriftCollector(Redactor(()), docs_revision=entry.observed_in[-1])
    collector.observe(_exchange(witness.method, witness.status, witness.body))
    assert entry.id in collector.items
    item = collector.items[entry.id]
    assert item.listed
    assert item.claim == entry.claim
    assert item.observations[0].first_case == "case"


CLOSED_WIRE_WITNESSES = [p for p in WIRE_WITNESSES if p.values[0].closed_in is not None]


@pytest.mark.parametrize("entry", CLOSED_WIRE_WITNESSES)
def test_a_closed_entry_is_no_drift_against_the_newest_docs(
    entry: error_catalogue.DriftEntry,
) -> None:
    witness = entry.witness
    assert witness is not None
    collector = DriftCollector(Redactor(()))
    collector.observe(_exchange(witness.method, witness.status, witness.body))
    assert collector.items == {}, "the docs that closed it agree with the wire"
    document = collector.document("run")
    assert document["docs_revision"] == error_catalogue.revision_ids()[-1]
    assert {"id": entry.id, "closed_in": entry.closed_in, "claim": entry.claim} in document[
        "closed"
    ]


def test_unknown_differences_are_reported_as_unlisted() -> None:
    collector = DriftCollector(Redactor(()))
    collector.observe(_exchange(LIST, 400, {"error": "BRAND_NEW", "error_description": "?"}))
    assert list(collector.items) == ["unlisted:code:BRAND_NEW"]
    assert not collector.items["unlisted:code:BRAND_NEW"].listed


# --- scrubbing ------------------------------------------------------------------------------------


def test_scrubbing_replaces_every_carrier_of_a_secret_by_value() -> None:
    portal = portal_from_env(
        {
            "B24_WEBHOOK_URL": "https://acme.bitrix24.com/rest/7/hooksecret0000000/",
            "B24_MEMBER_ID": "member0123456789",
        }
    )
    scrub = Scrubber(portal)
    carriers = [
        ("application/json; charset=utf-8", b'{"auth": "jsontoken0000", "code": "x"}', ""),
        ("application/x-www-form-urlencoded", b"auth=formtoken0000&code=x", ""),
        ("application/json", b"{}", "?access_token=querytoken0000"),
    ]
    texts = []
    for content_type, body, query in carriers:
        exchange = Exchange(
            number=1,
            tag="c",
            step=0,
            at=0.0,
            wall=0.0,
            http_method="POST",
            client_url="",
            portal_url=f"https://acme.bitrix24.com/rest/x.json{query}",
            request_headers={
                "Content-Type": content_type,
                "Authorization": "Bearer bearertoken0000",
            },
            request_body=body,
            api_method=LIST,
            status=302,
            response_headers={"Location": "https://acme.bitrix24.com/rest/x.json"},
            response_body=b'{"member_id": "member0123456789"}',
            seconds=0.0,
            waited=0.0,
        )
        scrub.learn(exchange)
        texts.append(f"{exchange.portal_url} {body.decode()} {exchange.request_headers}")
    texts += ["/rest/7/hooksecret0000000/", "acme.bitrix24.com", "member0123456789"]
    scrubbed = scrub(" ".join(texts))
    for value in (
        "jsontoken0000",
        "formtoken0000",
        "querytoken0000",
        "bearertoken0000",
        "hooksecret0000000",
        "member0123456789",
        "acme.bitrix24.com",
    ):
        assert value not in scrubbed
    assert "ACCESS_TOKEN" in scrubbed
    assert "WEBHOOK_SECRET" in scrubbed
    assert "portal.b24-conformance.invalid" in scrubbed
    assert scrub.leaks(scrubbed) == []
    assert scrub.leaks("...jsontoken0000...") == ["ACCESS_TOKEN"]


# --- sweep ----------------------------------------------------------------------------------------


def test_sweep_removes_only_its_prefix_and_lists_what_it_removed() -> None:
    with live_portal() as portal:
        for code in ("b24ct-dead0001-a", "b24ct-dead0001-b", "b24ct-other-c", "theirs"):
            add_badge(portal, code)
        dry = cli(["sweep", "--prefix", "b24ct-dead0001-", "--dry-run"], webhook_env(portal))
        assert codes(portal) == ["b24ct-dead0001-a", "b24ct-dead0001-b", "b24ct-other-c", "theirs"]
        swept = cli(["sweep", "--prefix", "b24ct-dead0001-"], webhook_env(portal))
        left = codes(portal)
    assert dry.exit_code == 0
    assert "would remove b24ct-dead0001-a" in dry.output
    assert swept.exit_code == 0, swept.output
    assert swept.output.splitlines()[:2] == ["removed b24ct-dead0001-a", "removed b24ct-dead0001-b"]
    assert "2 badge(s) removed, 0 failed" in swept.output
    assert left == ["b24ct-other-c", "theirs"]
    assert portal.directory.user(1).secret not in swept.output + dry.output


def test_drift_passes_over_a_body_validate_rejects() -> None:
    # 200 levels deep: validate_response refuses it (BodyRejected); portal.wire reports it.
    deep: Any = {"result": {"badges": []}, "total": 0}
    for _ in range(200):
        deep = {"result": deep}
    collector = DriftCollector(Redactor(()))
    collector.observe(_exchange("crm.activity.badge.list", 200, deep))
    assert collector.checked == 0
    assert collector.items == {}
