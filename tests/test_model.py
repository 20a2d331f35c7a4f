"""The network, saving with metadata, the preprocessing check on load, and the batch call."""
import json
import threading

import numpy as np
import pytest

from genre import GENRES, build_model, load_model
from genre import spectrogram as S
from genre.errors import ModelError
from genre.cnn import Calibration, meta_path, preprocessing, save


def test_build_model_shapes_and_size():
    net = build_model(len(GENRES))
    assert net.input_shape == (None, S.N_MELS, S.CLIP_COLUMNS, 1)
    assert net.output_shape == (None, len(GENRES))
    assert net.count_params() < 1_000_000  # small on purpose: ~440 training clips


def test_probabilities_sum_to_one_in_one_batch(tiny_model):
    windows = np.random.default_rng(0).uniform(-80, 0, (5, S.N_MELS, S.CLIP_COLUMNS)).astype(np.float32)
    probs = tiny_model(windows)
    assert probs.shape == (5, len(GENRES))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    assert (probs >= 0).all()


def test_call_is_thread_safe_and_deterministic(tiny_model):
    windows = np.random.default_rng(1).uniform(-80, 0, (3, S.N_MELS, S.CLIP_COLUMNS)).astype(np.float32)
    expected = tiny_model(windows)
    results = [None] * 8

    def work(i):
        results[i] = tiny_model(windows)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_allclose(r, expected, atol=1e-6)


def test_temperature_softens_probabilities(tiny_model):
    windows = np.random.default_rng(2).uniform(-80, 0, (4, S.N_MELS, S.CLIP_COLUMNS)).astype(np.float32)
    plain = tiny_model(windows)
    calibrated = tiny_model.calibration
    tiny_model.calibration = Calibration.of({"temperature": 3.0})
    try:
        soft = tiny_model(windows)
    finally:
        tiny_model.calibration = calibrated
    assert (soft.max(axis=1) <= plain.max(axis=1) + 1e-9).all()
    np.testing.assert_array_equal(soft.argmax(axis=1), plain.argmax(axis=1))


def test_saved_json_holds_genres_and_preprocessing(tmp_path):
    path = save(build_model(len(GENRES), filters=(4,)), GENRES, tmp_path / "m.keras", seed=7)
    meta = json.loads(meta_path(path).read_text())
    assert meta["genres"] == list(GENRES) and meta["seed"] == 7
    assert meta["preprocessing"] == preprocessing()
    model = load_model(path)
    assert model.genres == GENRES and model.device.startswith(("CPU", "GPU"))


def test_load_refuses_a_model_with_other_preprocessing(tmp_path):
    path = save(build_model(len(GENRES), filters=(4,)), GENRES, tmp_path / "m.keras")
    meta = json.loads(meta_path(path).read_text())
    meta["preprocessing"]["n_mels"] = 96
    meta_path(path).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match="other preprocessing \\(n_mels\\)"):
        load_model(path)


def test_load_without_metadata_or_with_a_broken_file_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="metadata"):
        load_model(tmp_path / "missing.keras")
    path = save(build_model(len(GENRES), filters=(4,)), GENRES, tmp_path / "m.keras")
    path.write_bytes(b"not a keras file")
    with pytest.raises(ModelError, match="Cannot load") as info:
        load_model(path)
    assert info.value.__cause__ is not None


def test_the_shipped_model_loads_and_matches_the_code():
    from genre.cnn import MODEL_PATH

    if not MODEL_PATH.exists():
        pytest.fail("model/genre_cnn.keras must ship with the repository")
    model = load_model()
    assert model.genres == GENRES
    figures, data = model.meta["validation"]["audio"], model.meta["data"]
    assert 0.1 < figures["accuracy"] <= 1 and 0 < figures["coverage"] <= 1 and figures["n"] > 0
    assert data["train_split"] and data["audio_songs"] > 0 and data["image_songs"] > 0


def test_an_averaged_ensemble_saves_as_one_model_and_averages(tmp_path):
    import keras

    from genre.training.cnn import average

    keras.utils.set_random_seed(0)
    members = [build_model(len(GENRES), filters=(4,), name=f"member_{i}") for i in range(2)]
    path = save(average(members), GENRES, tmp_path / "e.keras")
    model = load_model(path)
    x = np.random.default_rng(0).uniform(-80, 0, (3, S.N_MELS, S.CLIP_COLUMNS, 1)).astype(np.float32)
    expected = (np.asarray(members[0](x)) + np.asarray(members[1](x))) / 2
    np.testing.assert_allclose(model(x[..., 0]), expected, atol=1e-5)


def test_song_probabilities_are_the_clip_mean_sharpened_by_the_track_temperature(tiny_model):
    clips = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3]])
    np.testing.assert_allclose(tiny_model.song(clips), [0.4, 0.4, 0.2])
    calibrated = tiny_model.calibration
    tiny_model.calibration = Calibration(track_temperature=0.5)
    try:
        sharp = tiny_model.song(clips)
    finally:
        tiny_model.calibration = calibrated
    np.testing.assert_allclose(sharp, np.array([0.16, 0.16, 0.04]) / 0.36)


def test_a_model_reads_its_calibration_version_and_figures_from_its_json_once(tiny_model):
    assert Calibration.of({}) == Calibration(1.0, 1.0, 0.0)  # an uncalibrated network
    assert Calibration.of({"temperature": "0.9", "unsure_below": 0.65}) == Calibration(0.9, 1.0, 0.65)
    assert tiny_model.kind == "cnn" and tiny_model.tags == () and tiny_model.version == tiny_model.meta.get("version", "?")
    shipped = load_model()  # the fused model's figures are its audio's (it keeps images apart)
    assert shipped.kind == "fused" and shipped.validation.accuracy == shipped.meta["validation"]["audio"]["accuracy"]
