"""Fit the music detector and measure it honestly: whole families of non-music left out.

Three ways to tell music are compared, and the one that measures best is shipped:

* ``logistic``: a logistic head (L2) on ``detector.features`` (embedding, pooled features, tags,
  signal statistics), trained on GTZAN audio against the generated families;
* ``gaussian``: the Mahalanobis distance of the mean embedding to the nearest genre's Gaussian
  (pooled covariance shrunk to a multiple of the identity), fitted on music only;
* ``both``: either says "not music" (each at half the false-alarm budget).

The threshold is always set on training folds only: out-of-fold scores of the training music
(grouped by recording) put at most ``FALSE_ALARM`` of it above the line.

Best means: the most non-music caught by detectors that never heard its family, less the share
of music by artists never heard that they call not music (``other_artists``); each method with
each L2 of ``DETECTOR_L2_CHOICES`` is a candidate.

Leave one family out: for each family F and each of ``FOLDS`` folds k of the music recordings,
fit on every other family and on the music outside fold k; score F's sounds of fold k (each
sound falls in one fold) and fold k's music. So every family is judged by detectors that never
heard it, and every music recording by detectors that never heard that recording.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from .. import backbone, detector
from ..cnn import MODEL_DIR
from . import detector_data, sounds
from .detector_data import MUSIC, Example

FALSE_ALARM = 0.025  # share of (training folds') music allowed to be called not music: 2.5 %
FOLDS = 5  # music folds, grouped by recording
DETECTOR_L2 = 0.1  # logistic penalty on standardised weights, the default of ``fit_logistic``
DETECTOR_L2_CHOICES = (0.01, 0.1, 1.0)  # each tried for the logistic parts; the best by the criterion above
SHRINK = 0.3  # Gaussian covariance shrinkage towards its mean variance
EMBEDDING = backbone.EMBEDDING_UNITS  # the first 200 features are the mean embedding
METHODS = ("logistic", "gaussian", "both")
SIBLINGS = ("speech", "babble")  # two generators of one kind of sound: also left out together


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = DETECTOR_L2):
    """(mean, scale, coef, bias) of a class-balanced L2 logistic regression on standardised ``x``."""
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / scale
    w = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))  # each class weighs half

    def loss(theta):
        logits = z @ theta[:-1] + theta[-1]
        p = 1 / (1 + np.exp(-np.clip(logits, -50, 50)))
        value = np.sum(w * (np.logaddexp(0, logits) - y * logits)) + 0.5 * l2 * theta[:-1] @ theta[:-1]
        grad = z.T @ (w * (p - y)) + l2 * theta[:-1]
        return value, np.r_[grad, np.sum(w * (p - y))]

    theta = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B").x
    return mean, scale, theta[:-1], float(theta[-1])


def fit_gaussian(embeddings: np.ndarray, genres: list[str], shrink: float = SHRINK):
    """(centres, precision): each genre's mean embedding, and the inverse shrunk pooled covariance."""
    labels = sorted(set(genres))
    centres = np.stack([embeddings[[g == name for g in genres]].mean(axis=0) for name in labels])
    resid = embeddings - centres[[labels.index(g) for g in genres]]
    cov = np.cov(resid, rowvar=False)
    cov = (1 - shrink) * cov + shrink * np.trace(cov) / len(cov) * np.eye(len(cov))
    return centres, np.linalg.inv(cov)


def folds_of(groups: list[str], k: int, seed: int) -> np.ndarray:
    """A fold (0..k-1) for every example; all examples of a group share one."""
    unique = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(unique))
    fold = {g: int(order[i] % k) for i, g in enumerate(unique)}
    return np.array([fold[g] for g in groups])


def _raw_fit(train: list[Example], method: str, l2: float = DETECTOR_L2) -> detector.Detector:
    x = np.stack([e.x for e in train])
    y = np.array([e.family != MUSIC for e in train], float)
    if method == "gaussian":  # music only: the logistic part is off (zero weights, never above inf)
        found = detector.Detector(x.mean(axis=0), np.ones(x.shape[1]), np.zeros(x.shape[1]), 0.0, np.inf)
    else:
        found = detector.Detector(*fit_logistic(x, y, l2), threshold=0.5)
    if method != "logistic":
        music = [e for e in train if e.family == MUSIC]
        found.centres, found.precision = fit_gaussian(np.stack([e.x[:EMBEDDING] for e in music]),
                                                      [e.genre for e in music])
    return found


def threshold_folds(music: list[Example], seed: int) -> np.ndarray:
    """The folds whose out-of-fold scores set the threshold: ``FOLDS``, grouped by recording."""
    return folds_of([e.group for e in music], FOLDS, seed + 1)


def fit(train: list[Example], method: str, seed: int = 0, rate: float = FALSE_ALARM,
        l2: float = DETECTOR_L2) -> detector.Detector:
    """A detector fitted on ``train``, its thresholds from out-of-fold scores of its own music."""
    found = _raw_fit(train, method, l2)
    music = [e for e in train if e.family == MUSIC]
    fold = threshold_folds(music, seed)
    scores, distances = np.zeros(len(music)), np.zeros(len(music))
    for k in np.unique(fold):
        inner = _raw_fit([e for e in train if e.family != MUSIC] + [e for e, f in zip(music, fold) if f != k],
                         method, l2)
        x = np.stack([e.x for e, f in zip(music, fold) if f == k])
        scores[fold == k] = inner.score(x)
        if inner.centres is not None:
            distances[fold == k] = inner.distance(x)
    share = rate / 2 if method == "both" else rate
    if method != "gaussian":
        found.threshold = float(np.quantile(scores, 1 - share))
    if method != "logistic":
        found.distance_above = float(np.quantile(distances, 1 - share))
    return found


def flags(found: detector.Detector, examples: list[Example]) -> np.ndarray:
    """Whether ``found`` calls each example not music: its score above the threshold, or too far from
    every genre (where it has Gaussians)."""
    x = np.stack([e.x for e in examples])
    far = found.distance(x) > found.distance_above if found.centres is not None else False
    return (found.score(x) > found.threshold) | far


def leave_one_family_out(examples: list[Example], method: str, seed: int = 0, log=print, l2: float = DETECTOR_L2) -> dict:
    """Per family: sounds and how many were called not music by detectors that never heard that
    family; and music's false alarms (originals and every view) by detectors that never heard it."""
    fold = folds_of([e.group for e in examples], FOLDS, seed)
    music = [e.family == MUSIC for e in examples]
    table, alarms, originals = {}, [], []
    for held in [(f,) for f in sounds.FAMILIES] + [SIBLINGS]:
        hit = 0
        for k in range(FOLDS):
            train = [e for e, f in zip(examples, fold) if e.family not in held and not (e.family == MUSIC and f == k)]
            found = fit(train, method, seed, l2=l2)
            tested = [e for e, f in zip(examples, fold) if f == k and e.family in held + (MUSIC,)]
            said = flags(found, tested)
            hit += int(said[[e.family in held for e in tested]].sum())
            views = [(e, s) for e, s in zip(tested, said) if e.family == MUSIC]
            if len(held) == 1:  # music's false alarms: over the single-family runs
                alarms += [s for _, s in views]
                originals += [s for e, s in views if "-crop" not in e.name]
        n = sum(e.family in held for e in examples)
        table["+".join(held)] = {"n": n, "detected": hit, "rate": hit / n}
        log(f"{method}, L2 {l2:g}: without {'+'.join(held)}: {hit}/{n} detected")
    # every music example is tested once per family: counts are over (family, example) pairs
    return {"families": table, "music_views": int(sum(music)),
            "false_alarm_views": float(np.mean(alarms)), "false_alarm_originals": float(np.mean(originals)),
            "music_originals": sum(m and "-crop" not in e.name for m, e in zip(music, examples))}


def other_artists(examples: list[Example], method: str, seed: int = 0, l2: float = DETECTOR_L2) -> dict | None:
    """Music's false alarms on artists never heard: fit without one list of the split (the lists
    share no artist), its threshold from its own folds, and flag that list's music; both ways.

    Folds grouped by recording (``fit``) let one artist's songs sit on both sides, so they
    promise fewer false alarms than music of new artists gets. None without split labels.
    """
    music = [e for e in examples if e.family == MUSIC]
    lists = sorted({e.split for e in music})
    if len(lists) < 2 or "" in lists:
        return None
    said = []
    for held in lists:
        found = fit([e for e in examples if e.family != MUSIC or e.split != held], method, seed, l2=l2)
        tested = [e for e in music if e.split == held]
        said += [(e, s) for e, s in zip(tested, flags(found, tested))]
    return {"lists": lists, "false_alarm_originals": float(np.mean([s for e, s in said if "-crop" not in e.name])),
            "false_alarm_views": float(np.mean([s for _, s in said]))}


def format_table(results: dict) -> str:
    """The leave-one-family-out results as text: detected per family and method, then music's false alarms."""
    lines = ["family        " + "".join(f"{m:>19}" for m in results)]  # as wide as a cell below
    for family in list(sounds.FAMILIES) + ["+".join(SIBLINGS)]:
        cells = [results[m]["families"][family] for m in results]
        lines.append(f"{family:<14}" + "".join(f"{c['detected']:>10}/{c['n']:<3} {c['rate']:4.0%}" for c in cells))
    for key, label in (("false_alarm_originals", "music (whole files) called not music"),
                       ("false_alarm_views", "music (with crops) called not music")):
        lines.append(f"{label}: " + ", ".join(f"{m} {r[key]:.1%}" for m, r in results.items()))
    return "\n".join(lines)


def train_detector(data_root, out, cache: Path | None = None, seed: int = 0, per_family: int = sounds.PER_FAMILY,
                   command: str | None = None, log=lambda m: print(m, file=sys.stderr)) -> dict:
    """Hear the examples, measure every method by leaving families out, ship the best in ``out``."""
    started = time.time()
    if cache is not None:
        cache.mkdir(parents=True, exist_ok=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    # the backbone of the model folder the detector joins, else the shipped one
    weights = out / backbone.MODEL_FILE if (out / backbone.MODEL_FILE).exists() else MODEL_DIR / backbone.MODEL_FILE
    tagger = backbone.load_backbone(weights)
    examples = (detector_data.music_examples(data_root, tagger, cache, seed, log)
                + detector_data.sound_examples(tagger, cache, seed, per_family, log))
    candidates = {name: (method, l2) for method in METHODS
                  for name, l2 in ([(method, DETECTOR_L2)] if method == "gaussian" else
                                   [(f"{method}, L2 {c:g}", c) for c in DETECTOR_L2_CHOICES])}
    results, artists = {}, {}
    for name, (method, l2) in candidates.items():
        results[name] = leave_one_family_out(examples, method, seed, log, l2)
        artists[name] = other_artists(examples, method, seed, l2)

    def worth(name):  # non-music caught (families left out) less music of new artists called not music
        caught = np.mean([results[name]["families"][f]["rate"] for f in sounds.FAMILIES])
        return caught - (artists[name]["false_alarm_originals"] if artists[name] else 0.0)

    best = max(candidates, key=worth)
    method, l2 = candidates[best]
    shipped = fit(examples, method, seed, l2=l2)
    path = detector.save(shipped, out / detector.DETECTOR_FILE)
    record = {"command": command,
              "data": {"root": Path(data_root).name, "music_views": results[best]["music_views"],
                       "music_originals": results[best]["music_originals"],
                       "sounds": {f: per_family for f in sounds.FAMILIES}},
              "seed": seed, "false_alarm_budget": FALSE_ALARM, "l2": l2, "shrink": SHRINK, "folds": FOLDS,
              "method": method, "threshold": shipped.threshold,
              "distance_above": shipped.distance_above if np.isfinite(shipped.distance_above) else None,
              "worth": {name: worth(name) for name in candidates},
              "leave_one_family_out": results, "other_artists": artists,
              "train_seconds": round(time.time() - started, 1)}
    path.with_suffix(".json").write_text(json.dumps(record, indent=1, default=float) + "\n")
    print(format_table(results))
    for name, found in artists.items():
        if found is not None:
            print(f"{name}: music of artists never heard (one list of the split left out, then the other) called"
                  f" not music: whole files {found['false_alarm_originals']:.1%},"
                  f" with crops {found['false_alarm_views']:.1%}; worth {worth(name):.3f}")
    print(f"shipped: {best} -> {path}")
    return record

