"""What the tests and the benchmarks share: sounds they make themselves, and servers they start.

Import as ``from tests.support import sounds`` (the project root is on ``sys.path`` under pytest,
and benchmarks run as ``python -m bench.NAME`` from the root).
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project's root
