#!/usr/bin/env python3
"""python-minimal: a small, correct Bitrix24 client on urllib, wrapped as a protocol-1 harness.

Standard library only (Python 3.10 or newer). The suite starts it once per run:

    b24-conformance run --client "cmd:python3 harnesses/python-minimal/harness.py"

The client follows CONTRACT.md like conformance.reference does: JSON POST to {method}.json,
error codes kept exactly as sent, the HTTP status kept, QUERY_LIMIT_EXCEEDED retried with
backoff, OPERATION_TIME_LIMIT waited out until the last operating_reset_at, a redirect re-posted
with its body, non-JSON and empty bodies reported as transport failures, a timeout on every
request, and no secret in anything it writes.
"""

from __future__ import annotations

import http.client
import json
import ssl
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

NAME = "python-minimal"
VERSION = "1.0.0"
PROTOCOL = 1
CAPABILITIES = ["status", "time", "total", "oauth", "retry"]

RETRY_BACKOFF_CODES = {"QUERY_LIMIT_EXCEEDED"}
OPERATING_LIMIT_CODE = "OPERATION_TIME_LIMIT"
REDIRECT_STATUSES = {301, 302, 303, 307, 308}
MAX_RETRIES = 4
BACKOFF = 0.1
MAX_WAIT = 60.0
MAX_REDIRECTS = 3

# An HTTP answer: status, body, Content-Type, Location.
Answer = tuple[int, bytes, "str | None", "str | None"]


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected POST into a GET without its body: see them, follow them by hand."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Client:
    """A Bitrix24 REST v2 client for one target; ``call`` returns the outcome's fields."""

    def __init__(self, target: dict[str, Any]) -> None:
        self.target = target
        self.secrets = [s for s in (target["secret"], target.get("auth_token")) if s]
        context = ssl.create_default_context(cafile=target.get("ca_bundle"))
        self.opener = urllib.request.build_opener(
            _KeepRedirects(), urllib.request.HTTPSHandler(context=context)
        )
        self.operating_reset_at: float | None = None

    def redact(self, text: str) -> str:
        """Replace every secret (and its URL-encoded forms) in the client's own log and error
        texts: keeping secrets out of them is the client's care, as in the reference client.
        The protocol loop (main) hands on whatever the client raises raw."""
        for secret in self.secrets:
            encoded = {urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)}
            # Longest first, so an encoded form is not half-replaced by a shorter one.
            for form in sorted({secret, *encoded}, key=len, reverse=True):
                text = text.replace(form, "***")
        return text

    def call(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if self.target.get("auth_token"):
            headers["Authorization"] = f"Bearer {self.target['auth_token']}"
            url = f"{self.target['portal_url']}rest/{method}.json"
        else:
            url = f"{self.target['base_url']}{method}.json"
        body = json.dumps(params, ensure_ascii=False).encode("utf-8")
        attempt = 0
        while True:
            outcome = self._post(url, headers, body)
            delay = self._retry_delay(outcome, attempt)
            if delay is None:
                return outcome
            attempt += 1
            log(f"retrying {method} in {delay:.2f}s (attempt {attempt + 1})")
            time.sleep(delay)

    def _retry_delay(self, outcome: dict[str, Any], attempt: int) -> float | None:
        if outcome["outcome"] != "api-error" or attempt >= MAX_RETRIES:
            return None
        code = str(outcome["code"])
        if code in RETRY_BACKOFF_CODES:
            return float(BACKOFF * 2**attempt)
        if code == OPERATING_LIMIT_CODE and self.operating_reset_at is not None:
            # Error answers carry no time block: wait for the reset the last success announced,
            # once; a second 429 is reported, not spun on.
            wait = self.operating_reset_at - time.time()
            self.operating_reset_at = None
            return min(max(wait, 0.0), MAX_WAIT)
        return None

    def _post(self, url: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
        for _ in range(MAX_REDIRECTS + 1):
            answer = self._send(url, headers, body)
            if isinstance(answer, dict):  # no answer came: a transport failure
                return answer
            status, content, content_type, location = answer
            if status in REDIRECT_STATUSES and location:
                # The portal moved: send the same POST, body included, to the new address.
                url = urllib.parse.urljoin(url, location)
                continue
            log(f"POST {self.redact(url)} -> HTTP {status}")
            return self._outcome(status, content, content_type)
        return failure("redirect", f"more than {MAX_REDIRECTS} redirects")

    def _send(self, url: str, headers: dict[str, str], body: bytes) -> Answer | dict[str, Any]:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            scheme = urllib.parse.urlsplit(url).scheme
            return failure("connection", f"refusing to call a non-HTTP URL (scheme {scheme!r})")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 (scheme checked above)
        try:
            with self.opener.open(request, timeout=self.target["timeout"]) as response:
                return response.status, response.read(), response.headers.get("Content-Type"), None
        except urllib.error.HTTPError as error:  # 3xx, 4xx and 5xx are answers too
            with error:
                answer_headers = error.headers
                return (
                    error.code,
                    error.read(),
                    answer_headers.get("Content-Type"),
                    answer_headers.get("Location"),
                )
        except (OSError, http.client.HTTPException) as error:  # URLError is an OSError
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            if isinstance(reason, TimeoutError):
                return failure("timeout", self.redact(f"no answer: {reason}"))
            return failure("connection", self.redact(f"{type(reason).__name__}: {reason}"))

    def _outcome(self, status: int, content: bytes, content_type: str | None) -> dict[str, Any]:
        if not content.strip():
            return failure("empty-body", f"HTTP {status} with an empty body", status)
        try:
            body = json.loads(content.decode("utf-8-sig"))
        except ValueError:  # UnicodeDecodeError is a ValueError too
            return failure(
                "non-json", f"HTTP {status}, {content_type or 'no content type'}, not JSON", status
            )
        # An error code is a string or an integer (not a boolean), or a REST v3 error object;
        # an `error` that is false, null or a list makes no error envelope (a bad envelope).
        error = body.get("error") if isinstance(body, dict) else None
        is_code = not isinstance(error, bool) and isinstance(error, (str, int, dict))
        if isinstance(body, dict) and "error" in body and is_code:
            if isinstance(error, dict):  # a REST v3 error object: keep its code
                return api_error(error.get("code"), self._text(error.get("message")), status)
            # The code exactly as sent: "NOT_FOUND", 100, 0, "" and "expired_token" all stay.
            return api_error(error, self._text(body.get("error_description")), status)
        if isinstance(body, dict) and "result" in body:
            timing = body.get("time") if isinstance(body.get("time"), dict) else None
            reset = timing.get("operating_reset_at") if timing else None
            if isinstance(reset, (int, float)) and not isinstance(reset, bool):
                self.operating_reset_at = float(reset)
            total = body.get("total")
            total = total if isinstance(total, int) and not isinstance(total, bool) else None
            return {"outcome": "success", "result": body["result"], "time": timing, "total": total}
        return failure("bad-envelope", f"HTTP {status}: JSON without result or error", status)

    def _text(self, value: object) -> str | None:
        return self.redact(value) if isinstance(value, str) else None


def api_error(code: Any, description: str | None, status: int) -> dict[str, Any]:
    if isinstance(code, bool) or not isinstance(code, (str, int, type(None))):
        code = json.dumps(code)  # a code of another JSON type: keep it visible, as text
    return {"outcome": "api-error", "code": code, "description": description, "status": status}


def failure(kind: str, detail: str, status: int | None = None) -> dict[str, Any]:
    return {"outcome": "transport-failure", "kind": kind, "detail": detail, "status": status}


def log(text: str) -> None:
    """The harness's log: stderr, never stdout (stdout carries protocol messages only)."""
    print(f"python-minimal: {text}", file=sys.stderr, flush=True)


def send(message: dict[str, Any]) -> None:
    # ensure_ascii keeps the line 7-bit, whatever the locale's encoding of stdout is.
    sys.stdout.write(json.dumps(message, ensure_ascii=True) + "\n")
    sys.stdout.flush()


def main() -> int:
    client: Client | None = None
    for raw in sys.stdin.buffer:  # one message per line; a line is handled as soon as it arrives
        if not raw.strip():
            continue
        message = json.loads(raw.decode("utf-8"))
        kind = message.get("type")
        if kind == "start":
            if message.get("protocol") != PROTOCOL:
                log(f"cannot speak protocol {message.get('protocol')!r}, only {PROTOCOL}")
                return 2
            client = None
            try:
                client = Client(message["target"])
            except Exception as error:  # the client could not be built: say so, keep serving
                send({"type": "crash", "seq": None, "error": f"{type(error).__name__}: {error}"})
                continue
            send(
                {
                    "type": "started",
                    "protocol": PROTOCOL,
                    "name": NAME,
                    "version": VERSION,
                    "language": "python",
                    "capabilities": CAPABILITIES,
                }
            )
        elif kind == "call":
            seq = message["seq"]
            try:
                if client is None:
                    raise RuntimeError("call before a successful start")
                outcome = client.call(message["method"], message["params"])
            except Exception as error:  # the client threw: a crash, not an outcome
                # Raw, as the client raised it: the suite redacts what it writes itself.
                send({"type": "crash", "seq": seq, "error": f"{type(error).__name__}: {error}"})
            else:
                send({"type": "outcome", "seq": seq, **outcome})
        elif kind == "stop":
            return 0
        else:
            log(f"ignoring a message of unknown type {kind!r}")
    return 0  # stdin closed: the suite has gone away


if __name__ == "__main__":
    sys.exit(main())
