"""Which of the backbone's outputs should each genre head read: the 200-d embedding or the 1506-d pool?

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``, whose files hold both outputs)::

    python -m bench.layers --data ../shared/data/gtzan

MSD_musicnn pools its mid-end over time (max and mean of 753 channels, batch-normalised: 1506
values, ``backbone.Heard.pool``) and then squeezes that into a 200-unit dense layer trained for
last.fm tags (``embedding``). A genre head can read either. Two measurements, both on the
artist-filtered split (heads on the train list, figures on the valid list, by recording):

1. **each head alone**, at every L2 of ``heldout.L2_CHOICES``: the audio head on the 101 valid
   audio files (mean of its clips' logits), the image head on the 197 valid images;
2. **fused**, by the held-out protocol of ``genre/training/heldout.py`` (each head's L2, the
   weights, temperatures and thresholds chosen on one half of valid, reported on the other), for
   each pairing of outputs. The bench sets ``heads.READS`` while it measures each pairing.
"""
from __future__ import annotations

import numpy as np

from genre import fusion, heads
from genre.training.heads import fit_heads
from genre.training.heldout import L2_CHOICES, held_out
from genre.verdict import GENRES

from . import validation

LAYERS = ("embedding", "pool")


def alone(train, valid, layer: str, l2: float) -> tuple[float, float]:
    """Accuracy of the audio head on valid audio files and of the image head on valid images."""
    fitted = fit_heads(train, len(GENRES), l2=l2, reads={"audio": layer, "image": layer})
    audio = [s for s in valid if s.audio_emb is not None]
    images = [s for s in valid if s.kind == "mel-image"]
    right_audio = [fusion.head_logp(fitted["audio"], s.heard("audio", layer))[1].argmax() == s.label for s in audio]
    right_image = [fusion.head_logp(fitted["image"], s.heard("image", layer))[1].argmax() == s.label for s in images]
    return float(np.mean(right_audio)), float(np.mean(right_image))


def main() -> None:
    run, _ = validation.from_command_line(__doc__)
    genres, train, valid = run.genres, run.train, run.valid

    print("\n1. each head alone (train list -> valid list, per recording)\n")
    print("| output read | L2 | audio head, 101 audio files | image head, 197 images |")
    print("| --- | --- | --- | --- |")
    for layer in LAYERS:
        for l2 in L2_CHOICES:
            a, i = alone(train, valid, layer, l2)
            print(f"| {layer} | {l2} | {100 * a:.1f} % | {100 * i:.1f} % |", flush=True)

    print("\n2. fused, held out (chosen on one half of valid, reported on the other, swapped)\n")
    print("| audio head reads | image head reads | audio (halves) | images (halves) | audio: sure of / right when sure |")
    print("| --- | --- | --- | --- | --- |")
    base, ref = run.base_unsure(), run.reference()
    shipped = dict(heads.READS)
    try:
        for audio_layer in LAYERS:
            for image_layer in LAYERS:
                heads.READS.update(audio=audio_layer, image=image_layer)
                fitted = {l2: fit_heads(train, len(genres), l2=l2) for l2 in L2_CHOICES}
                report = held_out(valid, fitted, ref, base, log=lambda m: None)
                a, i = report["audio"], report["image"]
                halves = [(h["audio"]["accuracy"], h["image"]["accuracy"]) for h in report["halves"]]
                mark = " (shipped)" if {"audio": audio_layer, "image": image_layer} == shipped else ""
                print(f"| {audio_layer}{mark} | {image_layer} | {100 * a['accuracy']:.1f} % "
                      f"({' / '.join(f'{100 * h[0]:.1f}' for h in halves)}) | {100 * i['accuracy']:.1f} % "
                      f"({' / '.join(f'{100 * h[1]:.1f}' for h in halves)}) | "
                      f"{100 * a['coverage']:.0f} % / {100 * a['accuracy_sure']:.1f} % |", flush=True)
    finally:
        heads.READS.clear()
        heads.READS.update(shipped)


if __name__ == "__main__":
    main()
