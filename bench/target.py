"""How sure should "sure" be? The confidence threshold's accuracy target against what it buys.

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``)::

    python -m bench.target --data ../shared/data/gtzan

"Low confidence" is the lowest fused confidence above which the selection songs' verdicts reach
``calibration.TARGET_ACCURACY``. For each target, the held-out protocol of
``genre/training/heldout.py`` chooses the thresholds (and every other fitted number) on one half
of the valid list and measures the other half, then swaps: how many songs are called sure, and
how many of those are right, on songs the threshold never saw. The bench sets the target while
it measures each row.
"""
from __future__ import annotations

import argparse

from genre import backbone, bands, fusion
from genre.cnn import load_model as load_cnn
from genre.training import calibration, data
from genre.training.calibration import NEIGHBOURS, margin_threshold, reference
from genre.training.embed import cached_embed
from genre.training.fusion import cnn_probs, fit_heads
from genre.training.heldout import L2_CHOICES, held_out
from genre.verdict import GENRES
from tests.support import ROOT, machine

DATA = ROOT.parent / "shared" / "data" / "gtzan"
CACHE = ROOT / "runs" / "emb-cache" / "train"  # the validation run's per-file outputs and band map
CNN = ROOT / "runs" / "ens3" / "genre_cnn.keras"  # the validation run's CNN
TARGETS = (0.84, 0.85, 0.86, 0.87, 0.88, 0.90)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DATA))
    args = parser.parse_args()
    genres = list(GENRES)
    print(f"measured on {machine.cpu()}")
    band_map = bands.BandMap.load(CACHE / fusion.BAND_MAP_FILE)
    train_items, valid_items = data.find_items(args.data, "train"), data.find_items(args.data, "valid")
    tagger = backbone.load_backbone(fusion.MODEL_DIR / backbone.MODEL_FILE)  # runs only for files not cached
    train = cached_embed(train_items, tagger, band_map, genres, CACHE, log=lambda m: None)
    valid = cached_embed(valid_items, tagger, band_map, genres, CACHE, log=lambda m: None)
    cnn_probs(valid, valid_items, load_cnn(CNN), genres)
    base = {"margin_above": margin_threshold(train), "k": NEIGHBOURS, "pulse_below": {}}
    fitted = {l2: fit_heads(train, len(genres), l2=l2) for l2 in L2_CHOICES}
    ref = reference(train)

    print("\n| target on the selection half | audio: sure of / right when sure (halves) | images: sure of / right when sure |")
    print("| --- | --- | --- |")
    shipped = calibration.TARGET_ACCURACY
    try:
        for target in TARGETS:
            calibration.TARGET_ACCURACY = target
            report = held_out(valid, fitted, ref, base, log=lambda m: None)
            a, i = report["audio"], report["image"]
            halves = ", ".join(f"{100 * h['audio']['coverage']:.0f} % / {100 * h['audio']['accuracy_sure']:.1f} %"
                               for h in report["halves"])
            mark = " (shipped)" if target == shipped else ""
            print(f"| {100 * target:.0f} %{mark} | {100 * a['coverage']:.0f} % / {100 * a['accuracy_sure']:.1f} % "
                  f"({halves}) | {100 * i['coverage']:.0f} % / {100 * i['accuracy_sure']:.1f} % |", flush=True)
    finally:
        calibration.TARGET_ACCURACY = shipped


if __name__ == "__main__":
    main()
