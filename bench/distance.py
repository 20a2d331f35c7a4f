"""Is the distance test worth its cost on audio? What it flags, and how often those verdicts are right.

Prints figures; asserts nothing. Run after the card's validation run (``runs/ens3``, and
``runs/fused`` with ``--cache runs/emb-cache``)::

    python -m bench.distance --data ../shared/data/gtzan

"Far" is the song's mean clean-audio embedding lying farther from its ``NEIGHBOURS`` nearest
reference songs than ``DISTANCE_QUANTILE`` of a selection half's songs (the rule as it stood for
audio, and as it stands for mel images). Its worth is whether the verdicts it flags are wrong more
often than the others; it is measured in two directions, so that one never saw the valid list:

* train -> valid: the audio head and the reference on the train list, the threshold on one half of
  the valid list, the flags counted on the other half, then swapped (the card's held-out protocol);
* valid -> train: the same with the lists' roles swapped (the published lists share no artist).

Verdicts are the audio head's alone, so that no CNN trained on the reported songs enters. Then the
music recordings from outside GTZAN (``bench.outside``) against the train list's reference and the
whole valid list's threshold, as the rule was shipped.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from genre import audio, backbone, fusion
from genre.prediction import clip_windows, heard_clips
from genre.training.calibration import NEIGHBOURS, distance_thresholds, reference
from genre.training.embed import branch_logp
from genre.training.heads import fit_heads
from genre.training.heldout import halves

from . import outside, validation

L2 = 0.1  # the audio head's when the card's figures were measured (model/fusion.json now ships 0.03)


def audio_reference(songs) -> dict:
    """Standardised mean clean-audio embeddings of ``songs`` (as the distance test kept them)."""
    return reference(songs, kinds=("audio",))["audio"]


def threshold(songs, ref: dict) -> float:
    """The distance ``DISTANCE_QUANTILE`` of ``songs``' audio stays under."""
    return distance_thresholds({"audio": ref}, songs)["audio"]


def direction(fit, test, n_genres: int) -> str:
    """One row: the heads and reference on ``fit``, thresholds and flags on halves of ``test``'s audio."""
    head = fit_heads(fit, n_genres, l2=L2)
    ref = audio_reference(fit)
    songs = [s for s in test if s.audio_emb is not None]
    right = flagged = flagged_right = 0
    first, second = halves(songs)
    for select, report in ((first, second), (second, first)):
        line = threshold(select, ref)
        for s in report:
            ok = int(np.argmax(branch_logp(s, head)["audio"][1])) == s.label
            far = fusion.knn_distance(s.audio_emb, ref, NEIGHBOURS) > line
            right, flagged, flagged_right = right + ok, flagged + far, flagged_right + (far and ok)
    return (f"| {len(songs)} | {100 * right / len(songs):.1f} % | {flagged} | {flagged_right} "
            f"| {100 * (right - flagged_right) / max(len(songs) - flagged, 1):.1f} % |")


def main() -> None:
    run, _ = validation.from_command_line(__doc__)
    n = len(run.genres)
    print("\n| heads and reference -> reported | audio songs | audio head right | flagged far | "
          "of those right | right among the rest |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("| train -> valid " + direction(run.train, run.valid, n), flush=True)
    print("| valid -> train " + direction(run.valid, run.train, n), flush=True)

    ref = audio_reference(run.train)
    line = threshold([s for s in run.valid if s.audio_emb is not None], ref)
    print(f"\nmusic from outside GTZAN (threshold {line:.2f}, from the whole valid list):")
    with tempfile.TemporaryDirectory(prefix="genre-bench-") as tmp:
        for path, (_, _, _, music) in zip(outside.collect(Path(tmp)), outside.RECORDINGS):
            if not music:
                continue
            samples = audio.decode(path)
            starts, _ = clip_windows(samples)
            _, heard = heard_clips(samples, starts)
            clips = np.stack([backbone.patch(c) for c in heard])
            d = fusion.knn_distance(run.tagger(clips).embedding, ref, NEIGHBOURS)
            print(f"  {path.name}: {d:.2f}{' far' if d > line else ''}", flush=True)


if __name__ == "__main__":
    main()
