"""``python -m benchmarks``: the same as ``python benchmarks/run.py``."""

from __future__ import annotations

import sys
from pathlib import Path

# The scripts import one another as top-level modules, as when each is run by its path.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import run

run.main()
