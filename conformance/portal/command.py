"""``b24-conformance portal``: run the stateful fake portal until SIGINT or SIGTERM.

The first line of stdout is user 1's webhook URL; with --tls the second is the CA bundle path.
Everything for people (how to stop it, the -v request lines) goes to stderr, so scripts can
keep reading stdout.
"""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from urllib.parse import unquote

import click

from conformance.api import Redactor
from conformance.portal.auth import random_secret
from conformance.portal.server import FakePortal


class RequestLines:
    """Prints one line per request on stderr: method, path and status, secrets redacted."""

    def __init__(self) -> None:
        self.redact = Redactor(())

    def __call__(self, method: str, path: str, status: int | None) -> None:
        shown = "dropped" if status is None else str(status)
        # Decoded first: clients escape a secret's characters in more ways than one.
        click.echo(f"{method} {self.redact(unquote(path))} {shown}", err=True)


@click.command("portal")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1; 0 picks a free one.",
)
@click.option("--secret", default=None, help="The webhook secret (default: random).")
@click.option(
    "--user-id",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="The admin user whose webhook URL is printed.",
)
@click.option("--tls", is_flag=True, help="Serve https with a throwaway CA (its path: line 2).")
@click.option(
    "--bucket",
    "bucket",
    type=(click.IntRange(min=1), click.FloatRange(min=0, min_open=True)),
    default=(50, 2.0),
    show_default=True,
    metavar="BURST DRAIN",
    help="Leaky bucket: burst size and drain per second (503 QUERY_LIMIT_EXCEEDED).",
)
@click.option("--no-bucket", is_flag=True, help="Turn the request-rate limit off.")
@click.option(
    "--operating-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=480.0,
    show_default=True,
    help="Seconds of method time per credential and method (429 OPERATION_TIME_LIMIT).",
)
@click.option(
    "--operating-cost",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds each call adds to its method's operating time.",
)
@click.option(
    "--operating-window",
    type=click.FloatRange(min=0, min_open=True),
    default=600.0,
    show_default=True,
    help="Seconds over which operating time accumulates (ten baskets).",
)
@click.option("--no-operating-limit", is_flag=True, help="Turn the operating-time limit off.")
@click.option("--require-https", is_flag=True, help="Webhooks over http answer INVALID_REQUEST.")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Print a line per request on stderr: method, path (secrets as ***) and status.",
)
def portal_command(
    port: int,
    secret: str | None,
    user_id: int,
    tls: bool,
    bucket: tuple[int, float],
    no_bucket: bool,
    operating_limit: float,
    operating_cost: float,
    operating_window: float,
    no_operating_limit: bool,
    require_https: bool,
    verbose: int,
) -> None:
    """Serve a stateful fake Bitrix24 portal on 127.0.0.1 until interrupted.

    Prints the admin webhook URL as the first line (and, with --tls, the CA bundle path as
    the second), then serves until SIGINT or SIGTERM (Ctrl-C) and exits 0. With -v, each
    request gets a line on stderr.
    """
    if secret is not None and (not secret or "/" in secret or not secret.isprintable()):
        raise click.BadParameter(
            f"{secret!r} cannot be a path segment: use printable characters without '/'",
            param_hint="'--secret'",
        )
    request_lines = RequestLines() if verbose else None
    portal = FakePortal(
        on_answer=request_lines,
        tls=tls,
        port=port,
        bucket=None if no_bucket else bucket,
        operating_limit=None if no_operating_limit else operating_limit,
        operating_cost=operating_cost,
        require_https=require_https,
        operating_window=operating_window,
    )
    portal.add_user(
        user_id, secret or random_secret(), admin=True, login="admin" if user_id == 1 else None
    )
    if request_lines is not None:
        # By value: user 1 keeps its own random secret when --user-id names another user.
        request_lines.redact = Redactor(
            [portal.directory.user(uid).secret for uid in sorted({1, user_id})]
        )
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            portal.start()
        except OSError as exc:
            raise click.BadParameter(
                f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", param_hint="'--port'"
            ) from None
        try:
            click.echo(portal.webhook_url(user_id))
            if portal.ca_bundle is not None:
                click.echo(portal.ca_bundle)
            sys.stdout.flush()
            click.echo(f"serving {portal.url} until interrupted: Ctrl-C to stop", err=True)
            while not stop.wait(0.5):
                pass
        finally:
            portal.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    portal_command()
