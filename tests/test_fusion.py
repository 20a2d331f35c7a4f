"""The fused model: saving and loading, its branches, the API it feeds, and "unsure"."""
import json
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.support import ROOT, skip_or_fail
from tests.support.sounds import encode, tone
from genre import GENRES, GenreModel, audio, backbone, cnn, fusion, load_model, predict
from genre.errors import AudioError, ModelError
from genre.verdict import OUTSIDE_TEN
from genre.training.bands import fit as fit_bands
from genre.training.calibration import reference
from genre.training.embed import Song
from genre.training.heads import fit_heads


@pytest.fixture(scope="module")
def tiny_fused(tiny_model_path, tmp_path_factory) -> Path:
    """A fused model folder: the tiny CNN, the real backbone, heads fitted on made-up songs."""
    folder = tmp_path_factory.mktemp("fused")
    shutil.copyfile(tiny_model_path, folder / "genre_cnn.keras")
    shutil.copyfile(tiny_model_path.with_suffix(".json"), folder / "genre_cnn.json")
    shutil.copyfile(ROOT / "model" / backbone.MODEL_FILE, folder / backbone.MODEL_FILE)
    band_map = fit_bands([tone(4.0, freq=f, seed=i) for i, f in enumerate((220.0, 880.0))])
    rng = np.random.default_rng(0)
    songs = [Song(f"s{i}", i % len(GENRES), "full" if i % 2 else "mel-image",
                  rng.normal(i % len(GENRES), 1, (3, backbone.EMBEDDING_UNITS)),
                  rng.normal(i % len(GENRES), 1, (3, backbone.EMBEDDING_UNITS)) if i % 2 else None,
                  image_pool=rng.normal(i % len(GENRES), 1, (3, backbone.POOL_UNITS)),
                  audio_pool=rng.normal(i % len(GENRES), 1, (3, backbone.POOL_UNITS)) if i % 2 else None)
             for i in range(60)]
    head_models = fit_heads(songs, len(GENRES))
    meta = {"genres": list(GENRES),
            "weights": {"audio": {"audio": 0.4, "image": 0.3, "cnn": 0.3}, "image": {"image": 0.5, "cnn": 0.5}},
            "clip_temperature": {"audio": 1.0, "image": 1.0}, "song_temperature": {"audio": 0.8, "image": 1.2},
            "unsure": {"confidence_below": {"audio": 0.5, "image": 0.5},
                       "distance_above": {"audio": 1e9, "image": 1e9}, "margin_above": 1e9, "k": 3}}
    fusion.save(folder, band_map, head_models, meta, reference(songs))
    return folder


@pytest.fixture(scope="module")
def fused(tiny_fused):
    return load_model(tiny_fused)


def test_load_model_gives_the_fusion_for_a_folder_and_the_cnn_for_a_keras_file(tiny_fused, fused):
    assert isinstance(fused, GenreModel) and fused.genres == tuple(GENRES)
    assert not isinstance(load_model(tiny_fused / "genre_cnn.keras"), GenreModel)


def test_prediction_carries_tags_and_unsure(fused, media):
    result = predict(media["mp3"], fused)
    assert list(result.tags) == list(backbone.TAGS)
    assert all(0.0 <= p <= 1.0 for p in result.tags.values())
    assert isinstance(result.unsure, bool)
    assert sum(result.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    for clip in result.clips:
        assert list(clip.tags) == list(backbone.TAGS)
        assert sum(clip.probabilities.values()) == pytest.approx(1.0, abs=1e-6)
    song_tags = np.mean([[c.tags[t] for t in backbone.TAGS] for c in result.clips], axis=0)
    np.testing.assert_allclose([result.tags[t] for t in backbone.TAGS], song_tags, atol=1e-6)
    d = result.to_dict()
    assert set(d["tags"]) == set(backbone.TAGS) and d["unsure"] == result.unsure
    assert json.loads(json.dumps(d)) == d


def test_fusion_is_the_weighted_sum_of_branch_log_probabilities(fused):
    rng = np.random.default_rng(0)
    windows = rng.uniform(-80, 0, (2, 128, 39)).astype(np.float32)
    clips = [tone(3.0, seed=i) for i in range(2)]
    parts = fused.branches(windows, clips)
    _, song = fused.fuse(parts)
    w = fused.fusion.weights["audio"]
    expected = cnn.softmax(sum(w[b] * parts.logp[b][1] for b in ("audio", "image", "cnn")), 0.8)
    np.testing.assert_allclose(song, expected, atol=1e-9)
    image_only = fused.judge(windows)  # a mel image: no audio branch
    assert image_only.song_probs.shape == (len(GENRES),) and image_only.clip_tags.shape == (2, 50)


def test_an_image_far_from_the_training_images_is_unsure_and_audio_is_left_to_the_other_rules(fused, media):
    assert set(fused.reference) == set(fusion.FAR_KINDS) == {"image"}
    windows = np.random.default_rng(1).uniform(-80, 0, (3, 128, 39)).astype(np.float32)
    shipped = fused.fusion
    fused.fusion = replace(shipped, unsure=replace(shipped.unsure, distance_above={"audio": 0.0, "image": 0.0}))
    try:  # everything is far
        image = fused.judge(windows)
        heard = predict(media["wav"], fused)
    finally:
        fused.fusion = shipped
    assert image.unsure and image.reason == OUTSIDE_TEN and "not sound like" in image.why_unsure
    assert heard.reason != OUTSIDE_TEN  # audio: the detector and the tag margin decide, not the distance


# --- The shipped model on things that are not music ------------------------------------

def pink_noise(seconds: float, seed: int = 0) -> np.ndarray:
    n = int(seconds * audio.SAMPLE_RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).standard_normal(n))
    spectrum /= np.sqrt(np.maximum(np.arange(len(spectrum)), 1))
    y = np.fft.irfft(spectrum, n)
    return (0.3 * y / np.abs(y).max()).astype(np.float32)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["tone+pink", "white", "speech", "silence+click"])
def test_not_music_comes_back_unsure(shipped, kind, tmp_path):
    """Sounds outside the detector's training draws (genre/training/sounds.py, speech.py): a tone
    above its 4 kHz, noise longer than its 30 s and quieter than its -30 dBFS, a language it never spoke."""
    sr, n = audio.SAMPLE_RATE, 34 * audio.SAMPLE_RATE
    if kind == "tone+pink":
        t = np.arange(n) / sr
        y = 0.3 * np.sin(2 * np.pi * 6300 * t).astype(np.float32) + pink_noise(34)
    elif kind == "white":
        y = 10 ** (-36 / 20) * np.clip(np.random.default_rng(1).standard_normal(n) / 4, -1, 1).astype(np.float32)
    elif kind == "silence+click":
        y = np.zeros(n, np.float32)
        y[n // 2:n // 2 + 20] = 0.8
    else:
        espeak = shutil.which("espeak-ng")
        if espeak is None:
            skip_or_fail("espeak-ng is not installed (apt-get install espeak-ng)")
        wav = tmp_path / "speech.wav"
        text = ("Goedemiddag. De vergadering begint om drie uur in de grote zaal op de tweede verdieping. "
                "Neem alstublieft de notulen van de vorige keer mee.")
        subprocess.run([espeak, "-v", "nl+f2", "-s", "150", "-w", str(wav), text], check=True)
        y = audio.decode(wav)
    path = encode(y, tmp_path / f"{kind}.wav")
    try:
        result = predict(path, shipped)
    except AudioError as exc:  # silence is refused outright, which is as honest
        assert kind == "silence+click", exc
        return
    assert result.unsure, (kind, result.genre, result.confidence, result.top_tags())
    assert result.why_unsure


def test_evaluate_reports_the_fusion_and_each_branch(fused, tmp_path):
    from genre.training import data
    from genre.training.evaluate_fusion import evaluate_fusion, format_fusion_report

    for i, genre in enumerate(("blues", "rock")):
        (tmp_path / genre).mkdir()
        encode(tone(7.0, freq=220.0 * (i + 1), seed=i), tmp_path / genre / f"{genre}.00001.wav")
    (tmp_path / "rock" / "broken.wav").write_bytes(b"RIFF....WAVEnot really")
    report = evaluate_fusion(data.find_items(tmp_path), fused, log=lambda m: None)
    audio_report = report["audio"]
    assert audio_report["n"] == 2 and 0.0 <= audio_report["accuracy"] <= 1.0
    assert set(audio_report["branches"]) == {"audio", "image", "cnn"}
    assert audio_report["clip_n"] == 4 and 0.0 <= audio_report["coverage"] <= 1.0
    assert len(report["failed"]) == 1 and "broken.wav" in report["failed"][0]
    assert "image" not in report  # no mel images in this folder
    text = format_fusion_report(report)
    assert "audio: 2 files" in text and "cnn alone" in text


@pytest.mark.parametrize("missing", ["weights", "unsure"])
def test_a_fusion_json_without_its_numbers_is_a_model_error_at_load(tmp_path, missing):
    for part in fusion.MODEL_DIR.iterdir():  # the shipped model, its fusion.json short of one part
        if part.is_file() and part.name != fusion.FUSION_FILE:
            (tmp_path / part.name).symlink_to(part)
    meta = json.loads((fusion.MODEL_DIR / fusion.FUSION_FILE).read_text())
    del meta[missing]
    (tmp_path / fusion.FUSION_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError, match=f"Cannot load the fused model.*{missing}") as info:
        load_model(tmp_path)
    assert isinstance(info.value.__cause__, KeyError)
    numbers = load_model().fusion  # the shipped one reads whole, as typed numbers
    assert set(numbers.used("audio")) <= set(fusion.BRANCHES["audio"]) and numbers.unsure.k >= 1
    assert all(0 < t < 10 for t in (*numbers.clip_temperature.values(), *numbers.song_temperature.values()))
