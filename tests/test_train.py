"""Training: augmentation keeps shapes and ranges; a tiny smoke run writes a loadable model."""
import csv
import json

import numpy as np
import pytest

from genre import GENRES, cli, load_model
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


def _subset(gtzan, root, wanted, genres=("blues", "classical", "metal")):
    """A GTZAN folder of links to ``wanted`` rows of the manifest ((split, kind, per genre) each)."""
    with open(gtzan / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    pick = []
    for split, kind, per_genre in wanted:
        for genre in genres:
            pick += [r for r in rows if (r["split"], r["kind"], r["genre"]) == (split, kind, genre)][:per_genre]
    for r in pick:
        target = root / r["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(gtzan / r["path"])
    with open(root / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(pick)
    return pick


@pytest.mark.slow
def test_smoke_training_on_a_handful_of_clips(gtzan, tmp_path):
    _subset(gtzan, tmp_path, [("train", "mel-image", 2), ("train", "excerpt", 1), ("valid", "full", 1)],
            genres=("blues", "metal"))
    meta = train.train(tmp_path, tmp_path / "out", epochs=1, seed=3, log=lambda *a: None)
    assert meta["seed"] == 3 and meta["data"]["train_files"] == 6
    assert meta["validation"]["n"] == 2 and 0 < meta["temperature"] <= 3 and 0 < meta["track_temperature"] <= 3
    saved = json.loads((tmp_path / "out" / "genre_cnn.json").read_text())
    assert saved["validation"]["split"] == "valid"
    model = load_model(tmp_path / "out" / "genre_cnn.keras")
    assert model.genres == GENRES


@pytest.mark.slow
def test_smoke_fusion_training_writes_a_model_that_loads_and_judges(gtzan, tiny_model_path, tmp_path, monkeypatch):
    """``python -m genre train --cnn``: band map, heads, held-out figures and fusion on a few files;
    rerun on its cache, and trained on every split with its numbers (``--calibration``)."""
    from genre import backbone, cli, fusion, predict
    from genre.bands import BandMap
    from genre.training import embed
    from genre.training.calibration import margin_threshold, pulse_thresholds
    from genre.training.data import find_items
    from genre.training.heldout import L2_CHOICES

    data, out = tmp_path / "data", tmp_path / "out"
    pick = _subset(gtzan, data, [("train", "mel-image", 4), ("train", "full", 2), ("train", "excerpt", 1),
                                 ("valid", "mel-image", 3), ("valid", "full", 1), ("valid", "excerpt", 2)])
    train = [r for r in pick if r["split"] == "train"]
    status = cli.main(["train", "--data", str(data), "--out", str(out), "--cnn", str(tiny_model_path),
                       "--cache", str(tmp_path / "cache"), "--seed", "0"])
    assert status == 0
    meta = json.loads((out / fusion.FUSION_FILE).read_text())
    assert meta["data"]["image_songs"] == sum(r["kind"] == "mel-image" for r in train) == 12
    assert meta["data"]["audio_songs"] == sum(r["kind"] != "mel-image" for r in train) > 0
    for kind in ("audio", "image"):
        assert meta["l2"][kind] in L2_CHOICES
        assert sum(meta["weights"][kind].values()) == pytest.approx(1.0)
        assert 0 <= meta["validation"][kind]["accuracy"] <= 1 and meta["validation"][kind]["n"] > 0
    assert len(meta["validation"]["halves"]) == 2
    model = fusion.load_model(out)  # what serving loads, ONNX files included
    result = predict(gtzan / next(p for p in (gtzan / "full" / "metal").iterdir()), model)
    assert result.genre in GENRES and 0 < result.confidence <= 1
    assert sorted(p.name for p in (tmp_path / "cache" / "train").glob("*.npz"))  # embeddings kept for a rerun

    # a rerun on the same cache embeds nothing again (the band map it loads is the one the first used)
    embedded = []
    real_embed = embed.embed
    monkeypatch.setattr(embed, "embed", lambda item, *a, **k: embedded.append(item.id) or real_embed(item, *a, **k))
    assert cli.main(["train", "--data", str(data), "--out", str(tmp_path / "again"), "--cnn", str(tiny_model_path),
                     "--cache", str(tmp_path / "cache"), "--seed", "0"]) == 0
    assert embedded == [] and json.loads((tmp_path / "again" / fusion.FUSION_FILE).read_text())["weights"] == meta["weights"]

    # a model on every split takes the run's numbers (--calibration), and its training rules from its own list
    final = tmp_path / "final"
    assert cli.main(["train", "--data", str(data), "--out", str(final), "--cnn", str(tiny_model_path),
                     "--cache", str(tmp_path / "cache"), "--train-split", "train+valid", "--valid-split", "none",
                     "--calibration", str(out)]) == 0
    taken = json.loads((final / fusion.FUSION_FILE).read_text())
    for key in ("l2", "weights", "clip_temperature", "song_temperature"):
        assert taken[key] == meta[key], key
    for key in ("confidence_below", "distance_above"):
        assert taken["unsure"][key] == meta["unsure"][key], key
    every = find_items(data, "train+valid")
    songs = embed.cached_embed(every, backbone.load_backbone(final / backbone.MODEL_FILE),
                               BandMap.load(final / fusion.BAND_MAP_FILE), list(GENRES), tmp_path / "cache" / "train+valid")
    assert len(embedded) == len(songs) > len(train)  # train+valid embedded once, by the final run
    assert taken["unsure"]["margin_above"] == pytest.approx(margin_threshold(songs))
    assert taken["unsure"]["pulse_below"] == pulse_thresholds(every, list(GENRES))
    assert taken["calibrated_by"].endswith("fusion.json") and taken["data"]["train_split"] == "train+valid"


@pytest.mark.slow
def test_smoke_detector_training_writes_a_detector_the_model_uses(gtzan, tmp_path):
    """``python -m genre train-detector`` on a few GTZAN files and 3 generated sounds a family."""
    import shutil

    from genre import cli, detector, fusion
    from genre.training import sounds

    data, out = tmp_path / "data", tmp_path / "out"
    _subset(gtzan, data, [("train", "full", 2), ("train", "excerpt", 2), ("valid", "full", 2), ("valid", "excerpt", 2)])
    out.mkdir()
    for part in fusion.MODEL_DIR.iterdir():  # the shipped model, whose detector this run replaces
        if part.is_file() and not part.name.startswith("detector"):
            shutil.copy(part, out / part.name)
    status = cli.main(["train-detector", "--data", str(data), "--out", str(out), "--per-family", "3", "--seed", "1"])
    assert status == 0
    record = json.loads((out / detector.DETECTOR_FILE).with_suffix(".json").read_text())
    assert record["seed"] == 1 and record["data"]["sounds"] == {f: 3 for f in sounds.FAMILIES}
    assert set(record["leave_one_family_out"]) == set(record["worth"]) and record["method"]
    assert 0 < record["threshold"] < 1
    model = fusion.load_model(out)
    assert model.music is not None and model.music.threshold == pytest.approx(record["threshold"])


def test_training_without_a_way_to_calibrate_is_refused_before_it_starts(tmp_path, capsys):
    out = tmp_path / "run"
    with pytest.raises(SystemExit) as usage:
        cli.main(["train", "--data", str(tmp_path), "--out", str(out), "--valid-split", "none"])
    assert usage.value.code == 2 and "--calibration RUN" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "genre_cnn.json").write_text('{"genres": ["rock"]}')  # no validation in it
    for calibration, said in [(tmp_path / "missing", "cannot read"), (tmp_path / "other", "is not the metadata")]:
        assert cli.main(["train", "--data", str(tmp_path), "--out", str(out), "--valid-split", "none",
                         "--calibration", str(calibration)]) == 1
        assert said in capsys.readouterr().err
    assert not out.exists()  # refused before anything was written


def test_figures_on_a_split_the_networks_learned_from_are_refused(tmp_path, capsys):
    """A valid split the CNN (given or trained) or the heads learn from would print in-sample figures
    as held-out ones: refused before anything is written."""
    from genre.cnn import MODEL_PATH

    out = tmp_path / "run"
    for extra in (["--train-split", "train+valid"], ["--cnn", str(MODEL_PATH)]):  # the shipped CNN: train+valid
        with pytest.raises(SystemExit) as usage:
            cli.main(["train", "--data", str(tmp_path), "--out", str(out), *extra])
        assert usage.value.code == 2 and "would not be held out" in capsys.readouterr().err
    silent = tmp_path / "silent" / "genre_cnn.keras"  # a CNN whose JSON does not say what it learned from
    silent.parent.mkdir()
    silent.with_suffix(".json").write_text(json.dumps({"genres": list(GENRES), "data": {"train_split": None}}))
    with pytest.raises(SystemExit) as usage:
        cli.main(["train", "--data", str(tmp_path), "--out", str(out), "--cnn", str(silent)])
    assert usage.value.code == 2 and "does not say which split" in capsys.readouterr().err
    assert not out.exists()
