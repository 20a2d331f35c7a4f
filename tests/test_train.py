"""Training: augmentation keeps shapes and ranges; a tiny smoke run writes a loadable model."""
import csv
import json

import numpy as np
import pytest

from genre import GENRES, load_model
from genre import spectrogram as S
from genre.training import cnn as train


def test_random_window_and_augment_keep_shape_and_range():
    rng = np.random.default_rng(0)
    levels = rng.integers(0, 256, (S.N_MELS, 387)).astype(np.uint8)
    for _ in range(50):
        w = train.augment(train.random_window(levels, rng), rng)
        assert w.shape == (S.N_MELS, S.CLIP_COLUMNS)
        assert w.max() <= 0.0 and w.min() >= -S.TOP_DB


def test_short_clips_are_wrapped_like_prediction_does():
    rng = np.random.default_rng(1)
    levels = rng.integers(0, 256, (S.N_MELS, 30)).astype(np.uint8)  # a 2.3-s excerpt
    w = train.random_window(levels, rng)
    np.testing.assert_array_equal(w, S.window_db(S.fit_columns(levels)))


def test_epoch_batch_balances_genres_and_mixes_labels():
    rng = np.random.default_rng(2)
    clips = [(rng.integers(0, 256, (S.N_MELS, 100)).astype(np.uint8), g, f"c{g}.{i}")
             for g, count in [(0, 30), (1, 3)] for i in range(count)]
    x, y = train.epoch_batch(clips, 2, rng)
    assert x.shape == (len(clips) * train.WINDOWS_PER_CLIP, S.N_MELS, S.CLIP_COLUMNS, 1)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-6)
    share = y.argmax(axis=1).mean()  # genre 1 has a tenth of the clips but half the windows
    assert 0.35 < share < 0.65


@pytest.mark.slow
def test_smoke_training_on_a_handful_of_clips(gtzan, tmp_path):
    with open(gtzan / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = []
    for split, kind, per_genre in [("train", "mel-image", 2), ("train", "excerpt", 1), ("valid", "full", 1)]:
        for genre in ("blues", "metal"):
            pick += [r for r in rows if (r["split"], r["kind"], r["genre"]) == (split, kind, genre)][:per_genre]
    for r in pick:
        target = tmp_path / r["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(gtzan / r["path"])
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(pick)
    meta = train.train(tmp_path, tmp_path / "out", epochs=1, seed=3, log=lambda *a: None)
    assert meta["seed"] == 3 and meta["data"]["train_files"] == 6
    assert meta["validation"]["n"] == 2 and 0 < meta["temperature"] <= 3 and 0 < meta["track_temperature"] <= 3
    saved = json.loads((tmp_path / "out" / "genre_cnn.json").read_text())
    assert saved["validation"]["split"] == "valid"
    model = load_model(tmp_path / "out" / "genre_cnn.keras")
    assert model.genres == GENRES
