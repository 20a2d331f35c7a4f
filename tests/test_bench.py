"""Every benchmark answers ``--help`` with its usage, without measuring anything or needing a run's files.

The README and the model card name these commands; a user reads their options before spending
minutes of CPU, so ``--help`` must work on a fresh clone, before any validation run exists.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if "__main__" in p.read_text())


def test_the_benches_are_found():
    assert {"latency", "outside", "augment", "seeds"} <= set(BENCHES)


@pytest.mark.slow
@pytest.mark.parametrize("name", BENCHES)
def test_help_says_usage_and_exits_0(name, tmp_path):
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--help"], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("usage:"), done.stdout[:500]
    assert "Traceback" not in done.stderr
