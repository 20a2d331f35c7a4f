"""What the tests and the benchmarks share: sounds they make themselves, and servers they start.

Import as ``from tests.support import sounds`` (the project root is on ``sys.path`` under pytest,
and benchmarks run as ``python -m bench.NAME`` from the root).
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project's root
CI = bool(os.environ.get("CI"))  # `.ci/run` installs every tool a test needs: there a missing one is a failure


def skip_or_fail(reason: str) -> None:
    """Skip a test that needs what this machine lacks; under CI, fail instead, so nothing hides."""
    import pytest

    if CI:
        pytest.fail(f"CI must run this test, but {reason}")
    pytest.skip(reason)
