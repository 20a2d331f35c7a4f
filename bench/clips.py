"""Accuracy against the number of 3-s clips a song is judged on (valid whole clips), fused and audio head.

Prints figures; asserts nothing. Run: ``python -m bench.clips [MODEL_DIR] [--data DIR]``
(default: the shipped ``model/`` and ``../shared/data/gtzan``). Songs are heard as ``predict``
hears them (``heard_clips``: at the normal level). The shipped model learned from the valid list;
a validation run such as ``runs/fused`` learned only from the train list, but its fusion weights
and temperatures were chosen on all of valid, so its figures are a little optimistic.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

from genre import audio, load_model
from genre.training import data
from genre.prediction import clip_windows, heard_clips, window_starts

COUNTS = (1, 2, 3, 5, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "gtzan")
    parser.add_argument("--split", default="valid")
    args = parser.parse_args()
    model = load_model(args.model)
    items = [i for i in data.find_items(args.data, args.split) if i.kind == "full"]
    right = {k: [] for k in COUNTS}
    for item in items:
        samples = audio.decode(item.path)
        label = list(model.genres).index(item.genre)
        for k in COUNTS:
            starts, windows = clip_windows(samples, window_starts(len(samples), audio.CLIP_SAMPLES, k))
            _, clips = heard_clips(samples, starts)
            parts = model.branches(windows, clips)
            _, song = model.fuse(parts)
            right[k].append((song.argmax() == label, parts.logp["audio"][1].argmax() == label))
    print(f"{len(items)} whole clips of the {args.split} list, model {args.model or 'model/'}")
    for k, r in right.items():
        r = np.array(r)
        print(f"{k:>2} clips: fused {r[:, 0].mean():.3f}  audio head alone {r[:, 1].mean():.3f}")


if __name__ == "__main__":
    main()
