"""Run a bench as if on a CPU with fewer instruction sets: ``--isa avx2`` on an AVX-512 machine.

``avx2only.c`` is compiled with the system's C compiler into a fresh temporary folder, and the
bench re-executes itself with it in ``LD_PRELOAD``: from then on CPUID reports no AVX-512,
AVX-VNNI or AMX, so oneDNN (TensorFlow), MLAS (ONNX Runtime) and XNNPACK (TFLite) each choose the
kernels they would choose on an AVX2-only CPU such as an AMD EPYC of the Zen 2/3 generations.
What it cannot give is that CPU's caches, clocks and memory: figures measured this way are the
AVX2 code paths on this machine's cores, and say so.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(__file__).with_name("avx2only.c")
ISAS = ("avx2",)
_MARK = "GENRE_EMULATED_ISA"  # set in the re-executed process: which ISA it pretends to be
_FOLDER = "GENRE_EMULATED_ISA_DIR"  # the temporary folder holding the shim, removed once loaded


def environment(isa: str) -> tuple[dict[str, str], str]:
    """Environment variables that make a child process see only ``isa``, and the folder to remove
    once the child has exited (it holds the compiled shim)."""
    if isa not in ISAS:
        raise SystemExit(f"--isa: only {', '.join(ISAS)} can be emulated")
    if "cpuid_fault" not in Path("/proc/cpuinfo").read_text():
        raise SystemExit("--isa needs Linux on a CPU with the cpuid_fault flag (see /proc/cpuinfo)")
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("--isa needs a C compiler: apt-get install gcc")
    folder = tempfile.mkdtemp(prefix="genre-isa-")
    library = Path(folder) / "avx2only.so"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(SOURCE)], check=True)
    return {"LD_PRELOAD": f"{library} {os.environ.get('LD_PRELOAD', '')}".strip(), _MARK: isa}, folder


def emulate(isa: str | None, module: str) -> None:
    """Re-execute ``python -m module`` with the shim preloaded, unless already done or ``isa`` is None.

    In the re-executed process it returns, and removes the shim's folder when it exits (the
    processes it starts inherit ``LD_PRELOAD``, so the library must outlive them). Programs that
    handle SIGSEGV themselves (Node, so Playwright's driver) cannot run under the shim: for them,
    give ``environment`` to the one child that should be emulated instead.
    """
    if os.environ.get(_MARK):
        folder = os.environ.pop(_FOLDER, None)  # only the first re-executed process cleans up
        if folder:
            atexit.register(shutil.rmtree, folder, ignore_errors=True)
        return
    if isa is None:
        return
    env, folder = environment(isa)
    os.execve(sys.executable, [sys.executable, "-m", module, *sys.argv[1:]],
              {**os.environ, **env, _FOLDER: folder})


def emulated() -> str | None:
    """The ISA this process pretends to be limited to, or None."""
    return os.environ.get(_MARK)
