"""vcrpy is imported without aiohttp until a client loads it, and replays aiohttp calls once one
has (conformance._vcr): each scenario runs in a fresh interpreter, where nothing has imported
either yet."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("aiohttp")

# A get.not-found replay through aiohttp, loaded after the suite, as a client module loads it.
# Names other than loopback do not resolve here: a call vcrpy missed fails at once, offline.
_SCRIPT = textwrap.dedent(
    """
    import asyncio, socket, sys

    _resolve = socket.getaddrinfo

    def _loopback_only(host, *args, **kwargs):
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"not resolved in this test: {host}")
        return _resolve(host, *args, **kwargs)

    socket.getaddrinfo = _loopback_only

    from conformance import transports
    from conformance.case import case_by_id
    from conformance.modes import make_transport

    print("aiohttp loaded with the suite:", "aiohttp" in sys.modules)
    import aiohttp

    case = case_by_id("get.not-found")
    step = case.steps[0]
    target = transports.offline_target(case, secret="0123456789abcdef", token="t")
    transport = make_transport("replay")
    script = transports.Script(case)

    async def call():
        async with aiohttp.ClientSession() as session:
            url = f"{target.base_url}{step.method}.json"
            async with session.post(url, json=dict(step.params)) as answer:
                return answer.status, await answer.json(content_type=None)

    with transport.serve(script):
        with transport.step(script, 0):
            status, body = asyncio.run(call())
    print("answered:", status, body["error"])
    print("recorded:", len(script.requests))
    """
)


def test_vcrpy_leaves_aiohttp_out_until_a_client_loads_it_then_replays_its_calls() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    lines = ran.stdout.splitlines()
    assert "aiohttp loaded with the suite: False" in lines, ran.stdout
    assert "answered: 400 NOT_FOUND" in lines, ran.stdout
    assert "recorded: 1" in lines, ran.stdout
