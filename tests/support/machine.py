"""Where a figure was measured: the CPU's name, its SIMD flags and the cores this process may use."""
from __future__ import annotations

import os
import platform
from pathlib import Path

SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
              "amx_tile", "asimd", "sve")  # the ones that decide how fast the networks run


def cpu() -> str:
    """A line such as ``AMD EPYC 7B13 (avx avx2 fma f16c sse4_2; no AVX-512), 2 cores``."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key in ("model name", "Hardware") and name in ("", platform.machine(), platform.processor()):
                name = value.strip()
            elif key in ("flags", "Features") and not flags:
                flags = set(value.split())
    except OSError:  # not Linux: the name is all we know
        pass
    simd = [f for f in SIMD_FLAGS if f in flags]
    avx512 = "" if "avx512f" in flags or not flags else "; no AVX-512"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{name} ({' '.join(simd) or 'flags unknown'}{avx512}), {cores} cores"
