"""Evaluation: accuracy, macro-F1, per-genre recall, confusion and calibration on labelled files.

One answer per file (track level: the mean of its windows' probabilities, as the app
does) and one per window (clip level). Images are windowed over their columns exactly as
songs are windowed over their samples.
"""
from __future__ import annotations

import numpy as np

from .. import audio, spectrogram
from . import data
from ..cnn import log_of, softmax, temper
from ..errors import DataError, GenreError
from ..prediction import clip_windows, window_starts

ECE_BINS = 15
TEMPERATURES = np.round(np.arange(0.25, 3.001, 0.05), 2)  # the grid every calibration searches


def windows_of(item: data.Item) -> np.ndarray:
    """The model inputs (n, 128, 39) for one file, image or audio, as prediction makes them."""
    if item.kind == "mel-image":
        levels = data.image_levels(item.path)
        starts = window_starts(levels.shape[1], spectrogram.CLIP_COLUMNS)
        return np.stack([spectrogram.cut_window(levels, s) for s in starts])
    return clip_windows(audio.decode(item.path))[1]


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by their size."""
    conf, right = probs.max(axis=1), probs.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges) - 1, 0, bins - 1)
    return float(sum(abs(right[which == b].mean() - conf[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def nll(logp: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under ``logp`` softened by ``temperature``."""
    return float(-log_of(softmax(logp, temperature)[np.arange(len(labels)), labels]).mean())


def fit_temperature(logp: np.ndarray, labels: np.ndarray) -> float:
    """The temperature of ``TEMPERATURES`` that gives ``logp`` the lowest ``nll`` on ``labels``."""
    return float(min(TEMPERATURES, key=lambda t: nll(logp, labels, t)))


def fit_prob_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """``fit_temperature`` for probabilities (the CNN's), as ``cnn.temper`` will apply it."""
    return fit_temperature(log_of(probs), labels)


def wrong_below(track_probs: np.ndarray, labels: np.ndarray) -> float:
    """The highest confidence just under which most verdicts are wrong; below it the app says it is unsure.

    Looks at the verdicts with confidence in [t - 0.1, t) for t from 0.2 to 0.9 and keeps the
    highest t where fewer than half of them (at least five) are right.
    """
    conf, right = track_probs.max(axis=1), track_probs.argmax(axis=1) == labels
    best = 0.0
    for t in np.arange(0.2, 0.91, 0.05):
        band = (conf >= t - 0.1) & (conf < t)
        if band.sum() >= 5 and right[band].mean() < 0.5:
            best = float(round(t, 2))
    return best


def metrics(labels: np.ndarray, predicted: np.ndarray, genres) -> dict:
    """Accuracy, macro-F1, per-genre recall and the confusion matrix (rows true, columns predicted)."""
    k = len(genres)
    confusion = np.zeros((k, k), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    tp = np.diag(confusion).astype(float)
    recall = np.divide(tp, confusion.sum(1), out=np.zeros(k), where=confusion.sum(1) > 0)
    precision = np.divide(tp, confusion.sum(0), out=np.zeros(k), where=confusion.sum(0) > 0)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(k), where=precision + recall > 0)
    present = confusion.sum(1) > 0
    return {"n": int(len(labels)), "accuracy": float((labels == predicted).mean()),
            "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
            "per_genre": {g: round(float(r), 4) for g, r, p in zip(genres, recall, present) if p},
            "confusion": confusion.tolist(), "genres": list(genres),
            "predicted_share": {g: round(float((predicted == i).mean()), 4) for i, g in enumerate(genres)}}


def evaluate(items, model) -> dict:
    """Evaluate ``model`` on labelled ``items`` (from ``data.find_items``); files that fail are counted."""
    genres = list(model.genres)
    track, clip, clip_labels, labels, kinds, failed = [], [], [], [], [], []
    for item in items:
        if item.genre not in genres:
            continue
        try:
            probs = model(windows_of(item))
        except (GenreError, OSError, ValueError) as exc:  # one unreadable file must not stop the evaluation
            failed.append(f"{item.path.name}: {exc}")
            continue
        track.append(model.song(probs))
        clip.append(probs)
        clip_labels += [genres.index(item.genre)] * len(probs)
        labels.append(genres.index(item.genre))
        kinds.append(item.kind)
    if not track:
        raise DataError(f"no file could be evaluated ({len(failed)} failed"
                        + (f"; the first: {failed[0]})" if failed else ")"))
    track, labels, kinds = np.array(track), np.array(labels), np.array(kinds)
    per_track = clip
    clip, clip_labels = np.concatenate(clip), np.array(clip_labels)
    report = metrics(labels, track.argmax(1), genres)
    temperature = fit_prob_temperature(clip, clip_labels)
    scaled_tracks = np.array([model.song(temper(p, temperature)) for p in per_track])
    track_temperature = fit_prob_temperature(scaled_tracks, labels)
    scaled_tracks = temper(scaled_tracks, track_temperature)
    report.update({
        "clip_accuracy": float((clip.argmax(1) == clip_labels).mean()), "clip_n": int(len(clip_labels)),
        "by_kind": {k: {"n": int((kinds == k).sum()),
                        "accuracy": float((track.argmax(1)[kinds == k] == labels[kinds == k]).mean())}
                    for k in sorted(set(kinds))},
        "calibration": {"ece_clip": expected_calibration_error(clip, clip_labels),
                        "ece_track": expected_calibration_error(track, labels),
                        "temperature": temperature,
                        "ece_clip_scaled": expected_calibration_error(temper(clip, temperature), clip_labels),
                        "track_temperature": track_temperature,
                        "ece_track_scaled": expected_calibration_error(scaled_tracks, labels),
                        "unsure_below": wrong_below(scaled_tracks, labels)},
        "failed": failed,
    })
    return report


def format_report(report: dict) -> str:
    """A plain-text report: figures, per-genre recall and the confusion matrix."""
    genres = report["genres"]
    lines = [f"n {report['n']}  accuracy {report['accuracy']:.3f}  macro-F1 {report['macro_f1']:.3f}"]
    if "clip_accuracy" in report:
        cal = report["calibration"]
        lines.append(f"clip-level accuracy {report['clip_accuracy']:.3f} over {report['clip_n']} windows; "
                     f"ECE {cal['ece_clip']:.3f} (clip), {cal['ece_track']:.3f} (track); "
                     f"temperatures {cal['temperature']:.2f} (clip), {cal['track_temperature']:.2f} (track) -> "
                     f"ECE {cal['ece_clip_scaled']:.3f} (clip), {cal['ece_track_scaled']:.3f} (track); "
                     f"unsure below {cal['unsure_below']:.2f}")
        for kind, v in report["by_kind"].items():
            lines.append(f"  {kind}: n {v['n']}  accuracy {v['accuracy']:.3f}")
    lines.append("per-genre recall: " + "  ".join(f"{g} {r:.2f}" for g, r in report["per_genre"].items()))
    lines.append("confusion (rows true, columns predicted):")
    lines.append(" " * 10 + " ".join(f"{g[:5]:>5}" for g in genres))
    for g, row in zip(genres, report["confusion"]):
        lines.append(f"{g:>9} " + " ".join(f"{v:5d}" for v in row))
    for failure in report.get("failed", []):
        lines.append(f"failed: {failure}")
    return "\n".join(lines)


def plot_confusion(report: dict, path) -> None:
    """Save the confusion matrix as a PNG (rows true genre, columns predicted, row-normalised)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(report["confusion"])
    rates = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    genres = report["genres"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.imshow(rates, cmap="magma_r", vmin=0, vmax=1)
    for (i, j), v in np.ndenumerate(counts):
        if v:
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set_xticks(range(len(genres)), genres, rotation=45, ha="right")
    ax.set_yticks(range(len(genres)), genres)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"n {report['n']}, accuracy {report['accuracy']:.1%}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
