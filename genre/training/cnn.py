"""Training: GTZAN mel images and audio -> ``model/genre_cnn.keras`` with its JSON.

Little data is the central difficulty (about 440 training clips), so every epoch draws new
random 3-s windows from every clip, some of them short (as prediction pads short audio),
and augments them: contrast, a small pitch shift, SpecAugment masks and mixup. Genres are
sampled evenly, labels are smoothed, and the learning rate follows a cosine schedule over a
fixed number of epochs, so the validation split is only ever measured, never trained on.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from .. import spectrogram
from ..verdict import GENRES
from . import data, evaluate
from ..cnn import MODEL_PATH, Classifier, build_model, detect_device, meta_path, save
from ..errors import ModelError

CLIP_COLUMNS = spectrogram.CLIP_COLUMNS  # 39
WINDOWS_PER_CLIP = 4  # random windows a training file per epoch, on average (drawn with replacement)
SHORT_FRACTION = 0.15  # windows cut to 2-3 s and wrapped, as prediction treats short audio
SHORT_MIN_COLUMNS = round(2 * spectrogram.COLUMNS_PER_SECOND)  # 26: 2 s
CONTRAST = (0.8, 1.25)  # images of quiet clips spread a smaller dB range over 256 colours
MAX_SHIFT = 2  # bands: a pitch shift of about a semitone
FREQ_MASK, TIME_MASK = 16, 6  # SpecAugment: widest mask in bands and columns
MIXUP_ALPHA = 0.3
CNN_CALIBRATION_KEYS = ("temperature", "track_temperature", "unsure_below")
LABEL_SMOOTHING = 0.1
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-3
EPOCHS = 30  # the cosine schedule's length; no early stopping, so valid is only ever measured


def load_split(root, split: str, genres) -> list[tuple[np.ndarray, int, str]]:
    """(levels, genre index, id) for every usable file of ``split`` (images and audio)."""
    out = []
    for item in data.find_items(root, split):
        if item.genre in genres:
            out.append((data.load_levels(item), genres.index(item.genre), item.id))
    return out


def augment(window: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random contrast, pitch shift and SpecAugment masks on one dB window (128, 39)."""
    w = np.clip(window * rng.uniform(*CONTRAST), -spectrogram.TOP_DB, 0.0)
    shift = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1)
    if shift:
        w = np.roll(w, shift, axis=0)
        edge = slice(0, shift) if shift > 0 else slice(shift, None)
        w[edge] = w.min()
    floor = w.min()
    f = rng.integers(0, FREQ_MASK + 1)
    f0 = rng.integers(0, spectrogram.N_MELS - f + 1)
    w[f0:f0 + f] = floor
    t = rng.integers(0, TIME_MASK + 1)
    t0 = rng.integers(0, CLIP_COLUMNS - t + 1)
    w[:, t0:t0 + t] = floor
    return w


def random_window(levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random 3-s window of a clip (sometimes 2-3 s, wrapped), as model input."""
    width = CLIP_COLUMNS
    if rng.random() < SHORT_FRACTION or levels.shape[1] < CLIP_COLUMNS:
        width = int(rng.integers(SHORT_MIN_COLUMNS, CLIP_COLUMNS + 1))
    width = min(width, levels.shape[1])
    s = int(rng.integers(0, levels.shape[1] - width + 1))
    return spectrogram.cut_window(levels, s, width)


def epoch_batch(clips, n_classes: int, rng: np.random.Generator):
    """One epoch of augmented windows, genres balanced, with mixup and smoothed labels."""
    labels = np.array([c[1] for c in clips])
    weights = 1.0 / np.bincount(labels, minlength=n_classes)[labels]
    picks = rng.choice(len(clips), size=len(clips) * WINDOWS_PER_CLIP, p=weights / weights.sum())
    x = np.stack([augment(random_window(clips[i][0], rng), rng) for i in picks])
    y = np.eye(n_classes, dtype=np.float32)[labels[picks]]
    y = y * (1 - LABEL_SMOOTHING) + LABEL_SMOOTHING / n_classes
    lam = rng.beta(MIXUP_ALPHA, MIXUP_ALPHA, size=len(x)).astype(np.float32)
    lam = np.maximum(lam, 1 - lam)  # the first window stays the main one
    order = rng.permutation(len(x))
    x = lam[:, None, None] * x + (1 - lam[:, None, None]) * x[order]
    y = lam[:, None] * y + (1 - lam[:, None]) * y[order]
    return x[..., None].astype(np.float32), y


def fit_member(clips, n_classes: int, *, epochs: int, seed: int, name: str = "genre_cnn", log=print):
    """Train one network from ``seed``: fresh augmented windows every epoch, cosine learning rate."""
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_model(n_classes, name=name)
    steps = epochs * -(-len(clips) * WINDOWS_PER_CLIP // BATCH_SIZE)
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)
    model.compile(optimizer=keras.optimizers.AdamW(schedule, weight_decay=WEIGHT_DECAY),
                  loss=keras.losses.CategoricalCrossentropy(), metrics=["accuracy"])
    started = time.time()
    for epoch in range(epochs):
        x, y = epoch_batch(clips, n_classes, rng)
        hist = model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, verbose=0, shuffle=True)
        log(f"{name} epoch {epoch + 1}/{epochs} loss {hist.history['loss'][-1]:.3f} "
            f"({time.time() - started:.0f} s)")
    return model


def train(root, out=MODEL_PATH.parent, *, epochs: int = EPOCHS, seed: int = 0, ensemble: int = 1,
          train_split: str = "train", valid_split: str | None = "valid", calibration=None,
          log=print) -> dict:
    """Train a model and write it with its JSON to ``out``; return the JSON's contents.

    Parameters
    ----------
    root : path
        A GTZAN-style data folder with a ``manifest.csv`` (``../shared/data/gtzan``).
    out : path
        Folder for ``genre_cnn.keras`` and ``genre_cnn.json``.
    epochs, seed : int
        Length of the cosine schedule, and the seed of every random choice.
    ensemble : int
        Networks to train (seeds ``seed``, ``seed + 1``, ...); more than one are saved as one
        model that averages their probabilities, so prediction stays a single call.
    train_split, valid_split : str
        Manifest splits to learn from and to measure on (``None`` measures nothing).
    calibration : path, optional
        A ``genre_cnn.json`` of a run with a validation split, whose temperatures and
        "unsure" threshold this model takes (for a model trained on every labelled clip,
        which has no validation split of its own to fit them on).
    """
    genres = list(GENRES)
    started = time.time()
    clips = load_split(root, train_split, genres)
    valid_items = data.find_items(root, valid_split) if valid_split else []
    log(f"{len(clips)} training files ({train_split}), {len(valid_items)} validation files; "
        f"loaded in {time.time() - started:.0f} s")
    device = detect_device()
    members = [fit_member(clips, len(genres), epochs=epochs, seed=seed + i, log=log,
                          name="genre_cnn" if ensemble == 1 else f"member_{i}") for i in range(ensemble)]
    model = members[0] if ensemble == 1 else average(members)
    meta = {"version": 1, "device": device, "seed": seed, "ensemble": ensemble, "epochs": epochs,
            "data": {"root": str(Path(root).name), "train_split": train_split,
                     "train_files": len(clips), "train_ids": len({c[2] for c in clips})},
            "command": "python -m genre " + " ".join(sys.argv[1:]) if sys.argv[1:] else None,
            "train_seconds": round(time.time() - started, 1)}
    out = Path(out)
    path = save(model, genres, out / MODEL_PATH.name, **meta)
    if calibration:
        fitted = json.loads(Path(calibration).read_text())
        meta.update({k: fitted[k] for k in CNN_CALIBRATION_KEYS}, calibrated_by=str(calibration))
        if "validation" in fitted and not valid_items:
            # This model has no held-out split; the figures are its recipe's, measured there.
            meta["validation"] = {**fitted["validation"], "measured_on": "the same recipe trained on "
                                  f"{fitted['data']['train_split']} with seed {fitted['seed']}"}
    if valid_items:
        from ..cnn import load_model

        report = evaluate.evaluate(valid_items, load_model(path))
        if not calibration:
            meta.update({k: report["calibration"][k] for k in CNN_CALIBRATION_KEYS})
        meta["validation"] = {"split": valid_split, **{k: report[k] for k in
                              ("n", "accuracy", "macro_f1", "clip_accuracy", "clip_n",
                               "per_genre", "calibration", "by_kind")}}
        log(evaluate.format_report(report))
    save(model, genres, out / MODEL_PATH.name, **meta)
    log(f"wrote {path} in {time.time() - started:.0f} s on {device}")
    return json.loads(meta_path(out / MODEL_PATH.name).read_text())


def average(networks):
    """One model that averages the probabilities of several (an ensemble): one file, one call."""
    import keras

    inputs = keras.Input(networks[0].input_shape[1:], name="mel_db")
    outputs = keras.layers.Average(name="genre")([net(inputs) for net in networks])
    return keras.Model(inputs, outputs, name="genre_cnn_ensemble")


def combine(classifiers: list[Classifier]) -> Classifier:
    """Average loaded models (to measure an ensemble before training one); uncalibrated."""
    first = classifiers[0]
    if any(c.genres != first.genres for c in classifiers):
        raise ModelError("These models do not share the same genres.")
    for i, c in enumerate(classifiers):
        c.network.name = f"member_{i}"  # layer names must be unique inside the average
    meta = {k: v for k, v in first.meta.items() if k in ("genres", "preprocessing")}
    return Classifier(average([c.network for c in classifiers]), first.genres, meta, first.device)
