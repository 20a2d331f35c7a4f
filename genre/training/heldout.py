"""Held-out figures of the fused model: every number fitted after the heads is chosen on one half
of the validation recordings and measured on the other, then the halves swap.

The heads learn from the training list; the band map is fitted on its audio only. What the
fusion then fits (the heads' L2, the fusion weights, both temperatures, the confidence threshold
and the distance threshold) is chosen on a *selection* half of the valid list and reported on the
other half, so every valid recording is reported once, by numbers that never saw it. The halves
are split by recording (a clip id's image, audio and excerpt fall on the same side) and balanced
by genre. The shipped model's numbers are chosen on the whole valid list by the same code.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .. import heads
from ..fusion import Fusion, GenreModel, Unsure
from ..verdict import GENRES
from .calibration import Picked, choose_fusion, distance_thresholds
from .embed import Song
from .evaluate_fusion import measure

L2_CHOICES = (0.01, 0.03, 0.1, 0.3)  # the heads' weight decay, chosen on the selection half
HALVES_SEED = 0  # which recordings of each genre fall in which half
PROTOCOL = ("heads on the train list; L2, fusion weights, temperatures and thresholds chosen on one half "
            "of the valid list (by recording, balanced by genre), reported on the other half, and swapped")


def halves(songs: list[Song], seed: int = HALVES_SEED) -> tuple[list[Song], list[Song]]:
    """Two halves of ``songs`` by recording id, each holding about half of every genre's recordings."""
    ids: dict[int, set[str]] = {}
    for song in songs:
        ids.setdefault(song.label, set()).add(song.id)
    rng, first = np.random.default_rng(seed), set()
    for label in sorted(ids):
        names = sorted(ids[label])
        first |= {names[i] for i in rng.permutation(len(names))[:(len(names) + 1) // 2]}
    return [s for s in songs if s.id in first], [s for s in songs if s.id not in first]


@dataclass(frozen=True)
class Choice:
    """What ``choose`` picks: each head's L2 and the fusion's numbers, as serving reads them."""

    l2: dict[str, float]  # head ("audio", "image") -> its L2
    fusion: Fusion

    def meta(self) -> dict:
        """These numbers as ``fusion.json`` holds them (``Fusion.from_meta`` reads them back)."""
        return {"l2": dict(self.l2), **dataclasses.asdict(self.fusion)}


def choose(select: list[Song], fitted: dict[float, dict], reference: dict, base_unsure: dict) -> Choice:
    """What is chosen on ``select``: each head's L2, the weights and temperatures, and the confidence
    and distance thresholds.

    ``fitted`` maps each L2 to its heads; ``reference`` is the training songs' embeddings
    (``calibration.reference``) for the distance test;
    ``base_unsure`` holds the rules fitted on the training list (``Unsure``'s ``margin_above``,
    ``k`` and ``pulse_below``). The two
    heads read different outputs (``heads.READS``: 1506 against 200 values), so each gets its own L2:
    the image head's by the mel images' fused log-loss (their fusion has no audio head), then the
    audio head's by the audio's, with that image head (audio's fusion may give it weight). Chosen
    jointly, on the sum of both, audio's log-loss could pick the image head the images fit worse.
    """
    numbers = {l2: {name: heads.linear(h) for name, h in pair.items()} for l2, pair in fitted.items()}

    def fused(audio_l2: float, image_l2: float) -> Picked:
        return choose_fusion(select, heads_of(numbers, {"audio": audio_l2, "image": image_l2}))

    first = min(fitted)
    image_l2 = min(fitted, key=lambda l2: fused(first, l2).nll["image"])
    by_audio = {l2: fused(l2, image_l2) for l2 in fitted}
    audio_l2 = min(by_audio, key=lambda l2: by_audio[l2].nll["audio"])
    picked = by_audio[audio_l2]
    unsure = Unsure(confidence_below=picked.confidence_below,
                    distance_above=distance_thresholds(reference, select), **base_unsure)
    return Choice({"audio": audio_l2, "image": image_l2},
                  Fusion(picked.weights, picked.clip_temperature, picked.song_temperature, unsure))


def heads_of(fitted: dict[float, dict], l2: dict) -> dict:
    """The heads of the L2 pair ``l2`` ({"audio": .., "image": ..}): the image head from its fit,
    every other head (the audio head, and any a bench adds) from the audio head's fit."""
    return {**fitted[l2["audio"]], "image": fitted[l2["image"]]["image"]}


def judge_with(meta: dict, head_models: dict, reference: dict) -> GenreModel:
    """A ``GenreModel`` that fuses and doubts precomputed branch outputs with ``meta``'s numbers.

    The songs already carry every network's outputs, so it needs no networks of its own.
    """
    stand_in = SimpleNamespace(genres=tuple(GENRES), device="CPU")
    return GenreModel(stand_in, None, None, head_models, meta, reference)


def held_out(valid: list[Song], fitted: dict[float, dict], reference: dict,
             base_unsure: dict, log=print) -> dict:
    """Figures per input kind, each valid song judged by numbers chosen on the other half.

    ``halves`` holds each reported half's own figures, for the spread.
    """
    songs, models, each = [], [], []
    first, second = halves(valid)
    for n, (select, report) in enumerate(((first, second), (second, first)), 1):
        choice = choose(select, fitted, reference, base_unsure)
        songs += report
        model = judge_with(choice.meta(), heads_of(fitted, choice.l2), reference)
        models += [model] * len(report)
        each.append(measure(report, [model] * len(report)))
        log(f"half {n}: chosen on {len(select)} files: L2 {choice.l2}, weights {choice.fusion.weights}, "
            f"confidence below {choice.fusion.unsure.confidence_below}")
    return {**measure(songs, models), "halves": each, "protocol": PROTOCOL}
