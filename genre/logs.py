"""Native log lines kept off the terminal: TensorFlow's, XLA's, absl's and CUDA's start-up chatter.

On a machine without a GPU, importing TensorFlow and loading a model print lines such as
"Could not find cuda drivers on your machine" and "failed call to cuInit". Most come from absl's
C++ logging before ``absl::InitializeLog`` runs, which ``TF_CPP_MIN_LOG_LEVEL`` does not reach,
so ``native_logs`` catches the process's own stderr (file descriptor 2, where C++ writes) while
the model loads and gives back every line that is not such a log line. ``verbose`` shows them all.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile

LEVEL_VARIABLE = "TF_CPP_MIN_LOG_LEVEL"  # read by TensorFlow once, when it is imported
QUIET_LEVEL = "3"  # errors too; what TensorFlow logs after start-up
VERBOSE_LEVEL = "0"
CHOSEN_HERE = "GENRE_TF_LOG_LEVEL_CHOSEN"  # beside a level this package chose, not the user: --verbose may change it
LOG_LINE = re.compile(
    rb"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "  # absl: I0000 00:00:17.0 123 port.cc:153]
    rb"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWE] \S+:\d+\] "  # tsl: 2025-01-01 10:00:00.0: I a.cc:1]
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags)")
PYTHON_LOGGERS = ("absl", "tensorflow", "h5py")  # their Python-side warnings at import


def quiet_by_default() -> None:
    """Keep TensorFlow's C++ lines quiet in a process that never calls ``configure`` (the app),
    unless the user set ``TF_CPP_MIN_LOG_LEVEL``; a later ``configure(verbose=True)`` still shows them."""
    if LEVEL_VARIABLE not in os.environ:
        os.environ[LEVEL_VARIABLE], os.environ[CHOSEN_HERE] = QUIET_LEVEL, "1"


def configure(verbose: bool) -> None:
    """Set the environment TensorFlow reads at import (inherited by workers) and Python's loggers.

    A ``TF_CPP_MIN_LOG_LEVEL`` the user set is kept.
    """
    if LEVEL_VARIABLE not in os.environ or os.environ.get(CHOSEN_HERE):
        os.environ[LEVEL_VARIABLE], os.environ[CHOSEN_HERE] = VERBOSE_LEVEL if verbose else QUIET_LEVEL, "1"
    if not verbose:
        for name in PYTHON_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)


def drop_log_lines(data: bytes) -> bytes:
    """``data`` without the lines that are native log lines."""
    return b"".join(line for line in data.splitlines(keepends=True) if not LOG_LINE.match(line))


@contextlib.contextmanager
def native_logs(verbose: bool = False):
    """Within the block, hold back what is written to stderr, then give back all but log lines.

    Parameters
    ----------
    verbose : bool
        Let everything through as it is written (nothing is held back).

    Notes
    -----
    What the block writes reaches the terminal when the block ends (an unnamed temporary file
    holds it meanwhile: nothing is left on disk if the process is killed).
    """
    configure(verbose)
    if verbose:
        yield
        return
    sys.stderr.flush()
    with tempfile.TemporaryFile() as held:
        saved = os.dup(2)
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            kept = memoryview(drop_log_lines(held.read()))
            while kept:
                kept = kept[os.write(2, kept):]
