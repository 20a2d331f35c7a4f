"""Summarise validation runs: mean and spread over seeds, as the model card reports them.

    python -m bench.seeds runs/seed0 runs/seed1 runs/seed2

Each folder holds a ``genre_cnn.json`` written by ``python -m genre train`` with a validation split.
"""
import argparse
import json
import statistics
from pathlib import Path

FIGURES = [("track-level accuracy, all files", lambda v: v["accuracy"]),
           ("  mel images (whole clips)", lambda v: v["by_kind"]["mel-image"]["accuracy"]),
           ("  audio, whole clips", lambda v: v["by_kind"]["full"]["accuracy"]),
           ("  audio, 2-3 s excerpts", lambda v: v["by_kind"]["excerpt"]["accuracy"]),
           ("clip-level accuracy (one 3-s window)", lambda v: v["clip_accuracy"]),
           ("macro-F1 (track level)", lambda v: v["macro_f1"]),
           ("ECE, clip level", lambda v: v["calibration"]["ece_clip"]),
           ("ECE, track level", lambda v: v["calibration"]["ece_track"])]


def main(folders):
    runs = [json.loads((Path(f) / "genre_cnn.json").read_text()) for f in folders]
    names = [f"seed {r['seed']}" if r.get("ensemble", 1) == 1 else
             f"ensemble of {r['ensemble']} (seeds {r['seed']}-{r['seed'] + r['ensemble'] - 1})" for r in runs]
    print("| figure | " + " | ".join(names) + " | mean ± sd |")
    print("| --- |" + " --- |" * (len(runs) + 1))
    for name, get in FIGURES:
        values = [get(r["validation"]) for r in runs]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        print(f"| {name} | " + " | ".join(f"{v:.3f}" for v in values)
              + f" | {statistics.mean(values):.3f} ± {sd:.3f} |")
    genres = list(runs[0]["validation"]["per_genre"])
    print("\n| recall | " + " | ".join(genres) + " |")
    print("| --- |" + " --- |" * len(genres))
    for name, r in zip(names, runs):
        print(f"| {name} | " + " | ".join(f"{r['validation']['per_genre'][g]:.2f}" for g in genres) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", default=["runs/seed0"], metavar="RUN",
                        help="folders written by `python -m genre train` with a validation split")
    main(parser.parse_args().folders)
