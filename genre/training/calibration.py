"""Choosing the fusion on validation songs: weights, temperatures, and the "unsure" thresholds.

Weights come from a 0.1 grid by validation log-loss, temperatures by log-likelihood; the
confidence threshold is the lowest above which verdicts reach ``TARGET_ACCURACY``; the
"not one of the ten" thresholds are quantiles of the training (or held-out) music's own
distances, tag margins and beats, so that real music of the ten is almost never refused.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np

from .. import audio, fusion
from ..cnn import softmax
from .embed import Song, branch_logp
from .evaluate import expected_calibration_error, fit_temperature, nll
from ..rhythm import pulse_clarity

WEIGHT_STEP = 0.1  # grid of fusion weights, each in [0, 1] summing to 1
TARGET_ACCURACY = 0.86  # "unsure" threshold: the lowest confidence keeping this accuracy on the sure
# verdicts of the selection songs (the bar the product promises); held out, chosen on one half of valid
# and measured on the other (model card, Summary: 88.6 % right on 69 % of the valid audio)
DISTANCE_QUANTILE = 0.99  # songs farther than this share of the training music are "not one of the ten"
PULSE_SLACK = 0.9  # a beat under 90 % of the weakest training clip's of that genre is no beat
PULSE_FLOOR = 0.25  # genres whose training clips ever fall under this have no reliable beat
MARGIN_QUANTILE = 0.99  # of the training songs' outside-tag margins (one 2-s excerpt reaches 0.53)
MARGIN_SLACK = 0.02
NEIGHBOURS = 5


def weight_grid(n: int):
    """Every tuple of ``n`` weights on the ``WEIGHT_STEP`` grid that sum to 1."""
    steps = int(round(1 / WEIGHT_STEP))
    for combo in itertools.product(range(steps + 1), repeat=n):
        if sum(combo) == steps:
            yield tuple(c / steps for c in combo)


@dataclass
class Picked:
    """What ``choose_fusion`` picks on some songs, per domain ("audio", "image")."""

    weights: dict[str, dict[str, float]] = field(default_factory=dict)  # domain -> branch -> weight
    clip_temperature: dict[str, float] = field(default_factory=dict)
    song_temperature: dict[str, float] = field(default_factory=dict)
    confidence_below: dict[str, float] = field(default_factory=dict)  # "unsure" under this fused confidence
    nll: dict[str, float] = field(default_factory=dict)  # the log-loss the weights reach, to compare heads


def choose_fusion(songs: list[Song], head_models: dict) -> Picked:
    """Per domain: weights (by log-loss), temperatures and the confidence threshold, chosen on ``songs``.

    Also the log-loss the weights reach (``nll``), so that heads of several L2 can be compared.
    """
    chosen = Picked()
    for domain, branches in fusion.BRANCHES.items():
        group = [s for s in songs if s.domain == domain]
        if not group:
            continue
        parts = [branch_logp(s, head_models) for s in group]
        labels = np.array([s.label for s in group])
        clip_labels = np.concatenate([[s.label] * len(p["image"][0]) for s, p in zip(group, parts)])
        song_lp = {b: np.stack([p[b][1] for p in parts]) for b in branches}
        clip_lp = {b: np.concatenate([p[b][0] for p in parts]) for b in branches}

        def score(w):
            lp = sum(wi * song_lp[b] for wi, b in zip(w, branches))
            return nll(lp, labels, fit_temperature(lp, labels))

        best = min(weight_grid(len(branches)), key=score)
        weights = dict(zip(branches, best))
        song = sum(weights[b] * song_lp[b] for b in branches)
        clip = sum(weights[b] * clip_lp[b] for b in branches)
        t_song, t_clip = fit_temperature(song, labels), fit_temperature(clip, clip_labels)
        chosen.weights[domain] = weights
        chosen.song_temperature[domain], chosen.clip_temperature[domain] = t_song, t_clip
        chosen.confidence_below[domain] = sure_above(softmax(song, t_song), labels)
        chosen.nll[domain] = score(best)
    return chosen


def sure_above(probs: np.ndarray, labels: np.ndarray, target: float | None = None) -> float:
    """The lowest confidence above which the verdicts reach ``target`` accuracy
    (``TARGET_ACCURACY``, read at call time, when not given)."""
    target = TARGET_ACCURACY if target is None else target
    conf, right = probs.max(1), probs.argmax(1) == labels
    for t in np.round(np.arange(0.0, 0.951, 0.01), 2):
        sure = conf >= t
        if sure.sum() >= 10 and right[sure].mean() >= target:
            return float(t)
    return 0.95


def figures(probs, clip_probs, labels, clip_labels) -> dict:
    """Track and clip accuracy, per-genre recall, the confusion matrix (rows true, columns predicted),
    calibration and the largest share one genre takes."""
    pred, k = probs.argmax(1), probs.shape[1]
    return {"n": int(len(labels)), "accuracy": float((pred == labels).mean()),
            "confusion": np.bincount(labels * k + pred, minlength=k * k).reshape(k, k).tolist(),
           "clip_n": int(len(clip_labels)), "clip_accuracy": float((clip_probs.argmax(1) == clip_labels).mean()),
           "recall": [float((pred[labels == g] == g).mean()) if (labels == g).any() else None
                      for g in range(probs.shape[1])],
           "ece_track": expected_calibration_error(probs, labels),
           "largest_share": float(np.bincount(pred, minlength=probs.shape[1]).max() / len(pred))}


def reference(songs: list[Song], kinds=fusion.FAR_KINDS) -> dict:
    """Standardised mean embeddings of the training songs, per kind of input in ``kinds`` (by
    default those the distance test doubts, ``fusion.FAR_KINDS``).

    Each domain is standardised with its own songs' statistics (the statistics the heads used
    when both read the embedding; the audio head now reads the pooled features, ``heads.READS``,
    while the distance stays on the 200-d embedding, where it was validated).
    """
    out = {}
    for domain in kinds:
        emb = np.stack([(s.audio_emb if domain == "audio" else s.image_emb).mean(0) for s in songs
                        if (s.audio_emb is not None if domain == "audio" else s.kind == "mel-image")])
        mean, std = emb.mean(0), np.sqrt(emb.var(0) + 1e-6)
        out[domain] = fusion.Reference(mean.astype(np.float32), std.astype(np.float32), (emb - mean) / std)
    return out


def distance_thresholds(ref: dict, songs: list[Song]) -> dict:
    """Per domain, the distance that ``DISTANCE_QUANTILE`` of held-out (or training) music stays under."""
    out = {}
    for domain, r in ref.items():
        group = [s for s in songs if s.domain == domain or (domain == "image" and s.kind == "mel-image")]
        d = [fusion.knn_distance((s.audio_emb if domain == "audio" else s.image_emb), r, NEIGHBOURS)
             for s in group]
        out[domain] = float(np.quantile(d, DISTANCE_QUANTILE))
    return out


def margin_threshold(songs: list[Song]) -> float:
    """Just above the outside-tag margin that 99 % of the training songs heard as audio stay under."""
    margins = [fusion.outside_margin(s.tags.mean(0)) for s in songs if s.audio_emb is not None]
    return float(np.quantile(margins, MARGIN_QUANTILE) + MARGIN_SLACK)


def pulse_thresholds(items, genres) -> dict:
    """Per genre whose whole training clips all have a clear beat: the pulse under which to doubt it."""
    pulses: dict[str, list[float]] = {}
    for item in items:
        if item.kind == "full" and item.genre in genres:
            pulse = pulse_clarity(audio.decode(item.path))
            if pulse is not None:
                pulses.setdefault(item.genre, []).append(pulse)
    return {g: round(PULSE_SLACK * min(v), 3) for g, v in sorted(pulses.items()) if min(v) >= PULSE_FLOOR}
