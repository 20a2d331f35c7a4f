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

from genre.training import calibration
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, held_out

from . import validation

TARGETS = (0.84, 0.85, 0.86, 0.87, 0.88, 0.90)


def main() -> None:
    run, _ = validation.from_command_line(__doc__)
    fitted = {l2: fit_heads(run.train, len(run.genres), l2=l2) for l2 in L2_CHOICES}
    base, ref = run.base_unsure(), run.reference()

    print("\n| target on the selection half | audio: sure of / right when sure (halves) | images: sure of / right when sure |")
    print("| --- | --- | --- |")
    shipped = calibration.TARGET_ACCURACY
    try:
        for target in TARGETS:
            calibration.TARGET_ACCURACY = target
            report = held_out(run.valid, fitted, ref, base, log=lambda m: None)
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
