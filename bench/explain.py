"""Explanation benchmark: what "Why it says so" costs for one clip with the shipped model.

For a 3-s clip of each of several demo tracks (real music: generated chords are not music to
the model, and the page explains music), it
times ``explain.why`` (the fused verdict's integrated gradients, the checked boxes, the
branches' words) and ``explain.overlay``, as the page runs them for the clip shown. Prints
the median wall time and the median CPU time of this process (wall time grows when other
work shares the cores; CPU time much less), where it was measured, and the load average.
Asserts nothing. Target: under 0.5 s a clip on 2 cores.

Run: ``python -m bench.explain [--clips 8] [--repeats 3]``.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from genre import audio, explain, load_model, predict
from tests.support import ROOT, machine, sounds

CLIP_SECONDS = 6  # each song; its clip from 1 s is explained
DEMOS = sorted(path.name for path in (ROOT / "assets" / "demo").glob("*.mp3"))


def clip_song(index: int) -> np.ndarray:
    """6 s of the ``index``-th demo track (wrapping round), from 20 s in, mono at 22 050 Hz."""
    return sounds.music(CLIP_SECONDS, start=20.0, demo=DEMOS[index % len(DEMOS)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per clip; the median is kept")
    args = parser.parse_args()
    if not DEMOS:
        raise SystemExit(f"no demo tracks in {ROOT / 'assets' / 'demo'}: nothing to explain")

    load_before = os.getloadavg()
    began = time.perf_counter()
    model = load_model()
    loaded = time.perf_counter() - began
    clips = [predict(audio.to_wav_bytes(clip_song(index)), model, start=1.0).clips[0]
             for index in range(args.clips)]
    began = time.perf_counter()
    explain.why(model, clips[0].samples, clips[0].mel, clips[0].genre)  # traces the graph once a process
    first = time.perf_counter() - began

    walls, cpus = [], []
    for clip in clips:
        runs = []
        for _ in range(args.repeats):
            wall, cpu = time.perf_counter(), time.process_time()
            why = explain.why(model, clip.samples, clip.mel, clip.genre)
            explain.overlay(clip.mel, why.map, why.shown_box)
            runs.append((time.perf_counter() - wall, time.process_time() - cpu))
        walls.append(statistics.median(r[0] for r in runs))
        cpus.append(statistics.median(r[1] for r in runs))
        print(f"{clip.genre:>10} {why.probability:5.0%}  wall {1000 * walls[-1]:4.0f} ms  cpu {1000 * cpus[-1]:4.0f} ms"
              f"  box drop {100 * why.drop:3.0f} points  {why.words()[:70]}")
    load_after = os.getloadavg()
    print(f"\nexplain.why + overlay, one clip, shipped model: median wall {1000 * statistics.median(walls):.0f} ms, "
          f"median CPU {1000 * statistics.median(cpus):.0f} ms over {args.clips} clips x {args.repeats} runs "
          f"(first call {first:.1f} s, of which tracing; model load {loaded:.1f} s)")
    print(f"measured on {machine.cpu()}")
    print("load average (1, 5, 15 min): before " + ", ".join(f"{x:.1f}" for x in load_before)
          + "; after " + ", ".join(f"{x:.1f}" for x in load_after))


if __name__ == "__main__":
    main()
