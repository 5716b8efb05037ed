"""A property draws the same examples for the same seed whatever the process has imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hypothesis.internal.conjecture import providers

from conformance.properties.constants import suite_constants_only
from conformance.results import clip

ROOT = Path(__file__).resolve().parent.parent

# Draws every scripted property's examples as a run's first mode does (the run's own search:
# the ci profile, its seed, no shrinking) after importing the modules named on the command
# line; prints them.
_DRAW = """
import importlib, json, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
from conformance.properties.definitions import PROPERTIES, ScriptedProperty
from conformance.properties.profiles import choose_seed, hypothesis_profile
from conformance.properties.runner import _falsify, _Tally
options = hypothesis_profile("ci")
def keeper(seen):
    def keep(exchange):
        seen.append(exchange.describe())
    return keep
drawn = {}
for prop in PROPERTIES.values():
    if isinstance(prop, ScriptedProperty):
        keep = keeper(drawn.setdefault(prop.id, []))
        seed = choose_seed(prop.id, options, None)
        assert _falsify(prop, keep, options, seed, _Tally(), shrink=False)[0] is None
print(json.dumps(drawn))
"""


def _drawn_after_importing(*modules: str, cwd: Path) -> dict[str, list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", _DRAW, *modules],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(cwd)},
    )
    assert done.returncode == 0, done.stderr
    drawn: dict[str, list[str]] = json.loads(done.stdout)
    return drawn


def test_the_draws_do_not_depend_on_the_modules_loaded(tmp_path: Path) -> None:
    # The state machine's modules are what a worker that ran property.badge-registry first
    # has loaded beyond a fresh `--case` rerun; before the pin they changed two properties.
    fresh = _drawn_after_importing(cwd=tmp_path)
    loaded = _drawn_after_importing(
        "conformance.machine", "conformance.portal.server", "conformance.live.run", cwd=tmp_path
    )
    assert fresh.keys() == loaded.keys()
    for property_id, examples in fresh.items():
        assert len(examples) == len(loaded[property_id]), property_id
        changed = [
            n for n, (a, b) in enumerate(zip(examples, loaded[property_id], strict=True)) if a != b
        ]
        assert not changed, (
            f"{property_id}: with the state machine's modules loaded, example {changed[0]} was "
            f"{clip(loaded[property_id][changed[0]], 200)!r} instead of "
            f"{clip(examples[changed[0]], 200)!r} "
            f"({len(changed)} of {len(examples)} differ); reproduce: python -m pytest {__file__}"
        )
    assert not (tmp_path / ".hypothesis" / "constants").exists(), "the harvest wrote its cache"


def test_the_harvest_is_back_after_a_search_and_pinned_during_one() -> None:
    harvest = providers._get_local_constants
    with suite_constants_only():
        with suite_constants_only():
            assert len(providers._get_local_constants()) == 0
        assert len(providers._get_local_constants()) == 0
    assert providers._get_local_constants is harvest
