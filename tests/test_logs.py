"""genre/logs.py: TensorFlow's native log level, quiet by default and loud under --verbose, the user's kept."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support import ROOT

LEVEL_AFTER = ("import os, genre.cnn, genre.logs as logs; logs.configure(verbose={verbose}); "
               "print(os.environ[logs.LEVEL_VARIABLE])")


@pytest.mark.parametrize("user, verbose, level", [(None, False, "3"), (None, True, "0"), ("1", True, "1"),
                                                  ("1", False, "1")])
def test_verbose_reaches_tensorflow_even_after_the_model_module_is_imported(user, verbose, level):
    """``tag`` imports ``genre.cnn`` (for the model's genres) before its workers configure the logs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP_MIN_LOG_LEVEL", "GENRE_TF_LOG"))}
    if user is not None:
        env["TF_CPP_MIN_LOG_LEVEL"] = user
    done = subprocess.run([sys.executable, "-c", LEVEL_AFTER.format(verbose=verbose)], capture_output=True,
                          text=True, env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == level


def test_a_process_that_never_configures_is_quiet():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_CPP_MIN_LOG_LEVEL", "GENRE_TF_LOG"))}
    done = subprocess.run([sys.executable, "-c", "import os, genre.cnn; print(os.environ['TF_CPP_MIN_LOG_LEVEL'])"],
                          capture_output=True, text=True, env={**env, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "3", done.stderr
