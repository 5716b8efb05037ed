"""Adapters for real Python Bitrix24 clients, each behind an optional extra (docs/adapters.md).

- ``conformance.adapters.b24pysdk:factory``: b24pysdk, the official SDK (extra ``b24pysdk``);
- ``conformance.adapters.fast_bitrix24:factory``: fast-bitrix24's ``call(raw=True)``, and
  ``...:factory_default``: its default ``call``/``get_all`` (extra ``fast-bitrix24``).
- ``conformance.adapters.a24wh_rest:factory``: a24wh's ``request24`` (extra ``a24wh``).

An adapter translates what its client hands an application into outcomes; it never reads the
HTTP exchange behind the client's back. Each one's known defects are in ``baselines/``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

# One lock for all adapters: REQUESTS_CA_BUNDLE is one variable of the whole process.
_CA_LOCK = threading.Lock()


def installed_version(distribution: str) -> str | None:
    """The installed version of a client's distribution, the adapter's ``version``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def missing_extra(module: str, package: str, extra: str, cause: ImportError) -> ImportError:
    """The ImportError an adapter module raises when its client is not installed."""
    return ImportError(
        f"{module} needs the {package} package, which is not importable ({cause}): "
        f"pip install 'b24-conformance[{extra}]'"
    )


@contextmanager
def trusting_ca_bundle(ca_bundle: str | None) -> Iterator[None]:
    """``requests`` (under a client that takes no CA bundle of its own) trusts ``ca_bundle``
    for the duration of one call, through ``REQUESTS_CA_BUNDLE``."""
    if ca_bundle is None:
        yield
        return
    with _CA_LOCK:
        previous = os.environ.get("REQUESTS_CA_BUNDLE")
        os.environ["REQUESTS_CA_BUNDLE"] = ca_bundle
        try:
            yield
        finally:
            if previous is None:
                os.environ.pop("REQUESTS_CA_BUNDLE", None)
            else:
                os.environ["REQUESTS_CA_BUNDLE"] = previous
