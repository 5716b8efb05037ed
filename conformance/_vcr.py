"""vcrpy, imported without the HTTP libraries no client has loaded yet.

vcrpy imports every HTTP library it can patch as it is imported itself, to keep their
originals for when a cassette ends. aiohttp costs about a tenth of a second of CPU in every
process of a run (the controller and each worker), and few clients use it. Imported
through this module (``conformance.transports``, ``conformance.cassettes`` and
``conformance.live.record`` import it before vcrpy), vcrpy is left without it while no client has
loaded it; ``patchers_to_skip`` tells each cassette to leave them alone. A client loads its
HTTP library when it is itself imported, after the suite: before the next cassette,
``patchers_to_skip`` runs vcrpy's import-time code again with that library there, outside any
cassette (nothing is patched then, so what vcrpy keeps are the originals), and the library is
patched from then on.

vcrpy learnt to skip patchers in 9.4; with an older one it is imported as it is.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Final

from packaging.version import InvalidVersion, Version

#: The libraries vcrpy is imported without until a client loads them, and vcrpy's name for
#: the patcher of each (its ``skip_patchers`` option). Not botocore: vcrpy's undoing of its
#: patches after a real connection (``reset_patchers``) asks for botocore's originals whether
#: its patcher was skipped or not.
LOADED_ON_DEMAND: Final = {"aiohttp": "aiohttp"}

#: The first vcrpy with ``skip_patchers``.
SKIPS_FROM: Final = Version("9.4")


def _loaded(name: str) -> bool:
    return sys.modules.get(name) is not None


def _can_skip() -> bool:
    try:
        return Version(metadata.version("vcrpy")) >= SKIPS_FROM
    except (metadata.PackageNotFoundError, InvalidVersion):
        return False


@contextmanager
def _without(names: list[str]) -> Iterator[None]:
    """``names`` cannot be imported meanwhile (None in sys.modules is the import system's own
    "cannot be imported"); afterwards they can again, as before."""
    for name in names:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in names:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


def _import_vcr() -> set[str]:
    if "vcr" in sys.modules or not _can_skip():
        return set()  # imported already (with everything it found), or it cannot skip
    left_out = [name for name in LOADED_ON_DEMAND if not _loaded(name)]
    with _without(left_out):
        import vcr  # noqa: F401
    return set(left_out)


_left_out: Final = _import_vcr()


def patchers_to_skip() -> tuple[str, ...]:
    """vcrpy's patchers for the libraries it was imported without and no client has loaded.

    Call it outside any cassette: a library a client has loaded since is taken in here.
    """
    if any(_loaded(name) for name in _left_out):
        import vcr.patch

        _left_out.difference_update([name for name in _left_out if _loaded(name)])
        with _without(sorted(_left_out)):
            importlib.reload(vcr.patch)
    return tuple(sorted(LOADED_ON_DEMAND[name] for name in _left_out))
