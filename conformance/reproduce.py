"""A case's calls as curl commands against the portal: what a failure's reader runs to see the
answer the client got, and how the client sent its request."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from typing import Any, Final

from conformance.api import Target
from conformance.case import Case
from conformance.results import clip
from conformance.transports import RecordedRequest
from conformance.wire import php_json

__all__ = ["reproduction"]

#: Headers a reproduction leaves out: the transport's own, which curl sets itself.
_CURL_SKIPS: Final = frozenset({"content-length", "host", "connection", "accept-encoding"})


def reproduction(
    case: Case,
    target: Target,
    rerun: str = "",
    *,
    sent: list[RecordedRequest | None] | None = None,
) -> str:
    """The calls of a case as curl commands against the portal, and the rerun command.

    A step's first request as the client sent it (``sent``: method, URL, headers, body) where
    there is one; else the case's canonical JSON POST. The caller redacts secrets by value.
    """
    lines = []
    for number, step in enumerate(case.steps, 1):
        request = sent[number - 1] if sent and number <= len(sent) else None
        body = json.dumps(dict(step.params), ensure_ascii=False)
        if case.auth == "oauth":
            url = f"{target.oauth_url}{step.method}.json"
            auth = f" -H 'Authorization: Bearer {target.auth_token}'"
        else:
            url, auth = f"{target.base_url}{step.method}.json", ""
        if step.responses:
            lines.append(
                f"# step {number}: the portal answers "
                + "; then ".join(_describe_answer(r.as_dict()) for r in step.responses)
            )
            lines.extend(
                f"#   meanwhile {method} answers {_describe_answer(read.as_dict())}"
                for method, read in step.reads.items()
            )
        else:
            # A stateful step: the portal's store answers; the case says what must come out.
            lines.append(f"# step {number}: expected {step.expect.describe()}")
        if request is not None:
            lines.append("# as the client sent it:")
            lines.append(_curl(request))
        else:
            lines.append(
                f"curl -X POST -H 'Content-Type: application/json'{auth} -d '{body}' '{url}'"
            )
    if rerun:
        lines.append(f"# rerun just this case: {rerun}")
    return "\n".join(lines)


def _curl(request: RecordedRequest) -> str:
    words = ["curl", "-X", request.method]
    for name, value in request.headers.items():
        if name.lower() not in _CURL_SKIPS:
            words += ["-H", f"{name}: {value}"]
    if request.body:
        words += ["--data-binary", request.body.decode("utf-8", errors="replace")]
    return shlex.join([*words, request.url])


def _describe_answer(answer: Mapping[str, Any]) -> str:
    if "fault" in answer:
        return f"a {answer['fault']}"
    shown = php_json(answer["body"]) if "body" in answer else repr(answer.get("raw", ""))
    return f"HTTP {answer['status']} {clip(shown, 160)}"
