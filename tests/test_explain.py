"""Why it says so (genre/explain.py, genre/attribution.py, genre/fastgrad.py): shapes, ranges, the
grid mapping, the hand-written gradient, and that the map points at what moved the fused verdict.

Tests on the shipped model are slow (loading it takes about 10 s); the lone CNN and the pure
functions are tested without it.
"""
from __future__ import annotations

import copy
import re
from dataclasses import replace

import numpy as np
import pytest

from genre import attribution, backbone, explain, spectrogram
from genre.cnn import MODEL_PATH
from genre.verdict import mmss_tenths
from genre.fusion import FUSION_FILE

SR = 22050
shipped = pytest.mark.skipif(not (MODEL_PATH.parent / FUSION_FILE).exists(), reason="no shipped fused model")


def clear_feature() -> np.ndarray:
    """3 s of a faint noise floor with one clear feature: a chord at 1-2 kHz from 1.0 to 2.0 s."""
    t = np.arange(3 * SR) / SR
    chord = 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (1046.5, 1318.5, 1568.0, 2093.0))
    floor = 0.003 * np.random.default_rng(0).standard_normal(len(t))
    return (chord * ((t > 1.0) & (t < 2.0)) + floor).astype(np.float32)


# --- The grid: the backbone's patch drawn on the picture's cells ---------------------------------

def test_every_backbone_band_lands_whole_on_the_picture_bands_it_overlaps():
    overlap = attribution.band_overlap()
    assert overlap.shape == (128, 96) and overlap.min() >= 0
    np.testing.assert_allclose(overlap.sum(axis=0), 1.0, atol=1e-5)  # nothing lost, nothing added
    above = attribution.WINDOW_EDGES[:-1] >= backbone.PATCH_RATE / 2
    assert above.sum() > 0 and not overlap[above].any()  # the backbone hears nothing above 8 kHz


def test_a_cell_of_the_patch_lands_at_its_own_time_and_pitch():
    cell = np.zeros(attribution.PATCH_SHAPE, np.float32)
    frame, band = 100, 40  # 1.6 s; the 41st 16-kHz band
    cell[frame, band] = 2.0
    grid = attribution.to_grid(cell)
    assert grid.shape == (128, 39) and grid.sum() == pytest.approx(2.0, rel=1e-5)
    rows, columns = np.nonzero(grid)
    seconds = frame * backbone.PATCH_HOP / backbone.PATCH_RATE
    column_seconds = spectrogram.column_frames(39) * spectrogram.HOP_LENGTH / SR
    assert len(set(columns)) == 1 and abs(column_seconds[columns[0]] - seconds) <= 0.5 / spectrogram.COLUMNS_PER_SECOND
    low, high = attribution.PATCH_EDGES[band], attribution.PATCH_EDGES[band + 1]
    assert all(attribution.WINDOW_EDGES[r] < high and attribution.WINDOW_EDGES[r + 1] > low for r in rows)


def test_hiding_a_box_silences_the_same_moment_and_pitches_in_both_inputs():
    patch = np.ones(attribution.PATCH_SHAPE, np.float32)
    window = np.full(attribution.WINDOW_SHAPE, -10.0, np.float32)
    hidden_patch, hidden_window = attribution.hide(patch, window, 32, 10, explain.BOX)
    assert (hidden_window == attribution.SILENT_DB).sum() == explain.BOX[0] * explain.BOX[1]
    assert (hidden_window[32:48, 10:15] == attribution.SILENT_DB).all()
    frames, bands = np.nonzero(hidden_patch == attribution.SILENT_PATCH)
    assert len(frames) > 0 and (patch == 1).all() and (window == -10).all()  # the inputs are untouched
    assert set(attribution.FRAME_COLUMNS[frames]) <= set(range(10, 15))
    centres = (attribution.PATCH_EDGES[bands] + attribution.PATCH_EDGES[bands + 1]) / 2
    assert centres.min() >= attribution.WINDOW_EDGES[32] and centres.max() < attribution.WINDOW_EDGES[48]


def test_boxes_are_largest_first_and_never_overlap():
    importance = np.zeros((128, 39))
    importance[60:70, 20:24] = 1.0  # the strongest blob
    importance[10:20, 2:6] = 0.5
    found = explain.boxes(importance, count=3)
    assert len(found) == 3
    band, column = found[0]
    assert band <= 60 and band + explain.BOX[0] >= 70 and column <= 20 and column + explain.BOX[1] >= 24
    assert found[1][0] <= 10 + explain.BOX[0] and found[1][1] <= 6
    for i, (a, b) in enumerate(found):
        for c, d in found[i + 1:]:
            assert abs(a - c) >= explain.BOX[0] or abs(b - d) >= explain.BOX[1]


# --- The hand-written gradient equals TensorFlow's ------------------------------------------------

def small_front_end():
    """One-channel convolutions as the backbone has them: valid timbral, 'same' temporal of odd and even length."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(1)
    inputs = keras.Input((24, 16))
    x = layers.Reshape((24, 16, 1))(inputs)
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)))(x)
    timbral = layers.Conv2D(6, (7, 5), activation="relu")(padded)
    temporal = [layers.Conv2D(4, (k, 1), padding="same", activation="relu")(x) for k in (8, 5)]
    pooled = [layers.Flatten()(layers.MaxPooling2D((1, f.shape[2]))(f)) for f in [timbral, *temporal]]
    return keras.Model(inputs, layers.Dense(3)(layers.Concatenate()(pooled)))


@pytest.mark.parametrize("network", ["small", "musicnn"])
def test_the_fast_input_gradient_equals_tensorflows(network):
    import tensorflow as tf

    from genre import fastgrad

    net = small_front_end() if network == "small" else backbone.build_backbone()
    fast = fastgrad.with_fast_input_gradient(net)
    x = tf.constant(np.random.default_rng(0).uniform(0, 3, (2, *net.input_shape[1:])).astype(np.float32))

    def gradient(model):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = model(x, training=False)
            out = out["embedding"] if isinstance(out, dict) else out
            value = tf.reduce_sum(out * tf.range(1.0, out.shape[-1] + 1.0))
        return value.numpy(), tape.gradient(value, x).numpy()

    (value, grad), (fast_value, fast_grad) = gradient(net), gradient(fast)
    assert fast_value == pytest.approx(value, rel=1e-6)  # the forward pass is the network's own
    assert np.abs(grad).max() > 0
    np.testing.assert_allclose(fast_grad, grad, atol=1e-5 * np.abs(grad).max())


# --- The lone CNN: a map through its one branch, no branch words -----------------------------

def test_a_lone_cnn_gets_its_map_and_no_branch_words(tiny_model):
    from genre import render

    window = render(clear_feature())
    why = explain.why(tiny_model, None, window)
    assert why.readings == [] and why.words() == ""
    assert why.genre == tiny_model.genres[int(tiny_model(window[None])[0].argmax())]
    assert why.probability == pytest.approx(float(tiny_model(window[None])[0].max()), abs=1e-5)
    assert why.map.shape == (128, 39) and np.isfinite(why.map).all()
    assert display(why.genre) in why.legend() and "image network" in why.how()
    picture = explain.overlay(window, why.map, why.shown_box)
    assert picture.shape == (256, 390, 3) and picture.dtype == np.uint8


def display(genre: str) -> str:
    from genre.verdict import display_name

    return display_name(genre)


def test_overlay_dims_what_did_not_matter_and_boxes_the_checked_part():
    window = np.linspace(-80, 0, 128 * 39, dtype=np.float32).reshape(128, 39)
    importance = np.zeros((128, 39))
    importance[40:60, 10:20] = 1.0
    picture = explain.overlay(window, importance, scale=2, stretch=5)
    plain = explain.overlay(window, np.ones_like(importance), scale=2, stretch=5)  # everything mattered
    nothing = explain.overlay(window, -np.ones_like(importance))  # nothing supported the verdict
    assert picture.shape == plain.shape == nothing.shape == (256, 390, 3)
    assert nothing.mean() < picture.mean() < plain.mean()
    boxed = explain.overlay(window, importance, (40, 10))
    white = np.all(boxed == explain.BOX_EDGE, axis=-1)
    rows, columns = np.nonzero(white)
    assert rows.min() == 256 - 2 * (40 + explain.BOX[0]) and rows.max() == 256 - 2 * 40 - 1
    assert columns.min() == 10 * 10 and columns.max() == (10 + explain.BOX[1]) * 10 - 1


# --- The fused model (slow: the shipped model) --------------------------------------------------

@pytest.fixture(scope="module")
def model():
    from genre import load_model

    return load_model()


@pytest.fixture(scope="module")
def clip(model):
    from genre.prediction import judge_samples

    return judge_samples(clear_feature(), model, [0]).clips[0]


@pytest.mark.slow
@shipped
def test_the_map_explains_the_fused_verdict_the_page_states(model, clip):
    why = explain.why(model, clip.samples, clip.mel)
    assert why.genre == clip.genre
    assert why.probability == pytest.approx(clip.probabilities[clip.genre], abs=1e-4)  # the same verdict
    assert why.map.shape == (128, 39) and np.isfinite(why.map).all() and why.peak > 0
    assert -1.0 <= why.drop <= 1.0
    start, end, low, high = why.region()
    assert 0.0 <= start < end <= 3.1 and 0.0 <= low < high <= 11025.0
    assert explain.why(model, clip.samples, clip.mel, "metal").genre == "metal"


@pytest.mark.slow
@shipped
def test_branch_words_say_what_each_branch_heard(model, clip):
    why = explain.why(model, clip.samples, clip.mel, clip.genre)
    weights = model.fusion.weights["audio"]
    assert [h.branch for h in why.readings] == [b for b in ("audio", "image", "cnn") if weights.get(b, 0) > 0]
    assert sum(h.share for h in why.readings) == pytest.approx(1.0)
    parts = model.branches(clip.mel[None], [clip.samples])
    words = why.words()
    for h in why.readings:
        own = np.exp(parts.logp[h.branch][0][0])
        assert h.weight == weights[h.branch] and h.probability == pytest.approx(own.max(), abs=1e-4)
        assert f"{h.name}: {display(h.genre)} {h.probability:.0%}" in words
    assert words.startswith("Its parts agree" if all(h.genre == why.genre for h in why.readings) else "Its parts differ")
    assert "the pretrained ear" in words and "the image network" in words


@pytest.mark.slow
@shipped
def test_the_graph_computes_every_branch_as_fusion_does_the_image_head_too(model, clip):
    weighted = copy.copy(model)  # the same networks; the image head given a weight
    weighted.fusion = replace(model.fusion, weights={**model.fusion.weights,
                                                     "audio": {"audio": 0.5, "image": 0.2, "cnn": 0.3}})
    explainer = attribution.Attributor(weighted)
    patch = backbone.patch(clip.samples)
    probs = explainer.probabilities(patch[None], clip.mel[None])
    parts = weighted.branches(clip.mel[None], [clip.samples])
    for branch in ("audio", "image", "cnn"):
        np.testing.assert_allclose(np.log(probs[branch][0]), parts.logp[branch][0][0], atol=2e-4)
    np.testing.assert_allclose(probs["fused"][0], weighted.fuse(parts)[0][0], atol=1e-4)
    found = explainer(patch, clip.mel, 3)
    assert set(found.parts) == {"audio", "image", "cnn"}
    np.testing.assert_allclose(found.map, sum(found.parts.values()), atol=1e-6)


@pytest.mark.slow
@shipped
def test_hiding_the_highlighted_part_lowers_the_verdict_more_than_a_random_part(model, clip):
    why = explain.why(model, clip.samples, clip.mel, clip.genre)
    index = model.genres.index(clip.genre)
    rng = np.random.default_rng(0)
    spots = [explain.boxes(why.map, 1)[0]]  # what the map alone highlights most
    spots += [(int(rng.integers(0, 128 - explain.BOX[0] + 1)), int(rng.integers(0, 39 - explain.BOX[1] + 1)))
              for _ in range(16)]
    patch = backbone.patch(clip.samples)
    hidden = [attribution.hide(patch, clip.mel, *spot, explain.BOX) for spot in spots]
    after = attribution.for_model(model).probabilities(np.stack([p for p, _ in hidden]),
                                                       np.stack([w for _, w in hidden]))["fused"][:, index]
    drops = why.probability - after
    assert drops[0] > np.median(drops[1:]) + 0.02, drops
    assert why.drop >= drops[0] - 1e-6  # the checked box is the best the map proposed
    start, end, low, high = why.region()
    assert start < 2.1 and end > 0.9  # the box lies on the chord's second ...
    assert low < 2300 and high > 900  # ... and on its pitches


def test_the_legend_counts_points_and_never_times_the_repeat_of_a_short_song():
    """A 1.5-s song fills its 3-s clip by repetition: a box at 2.2 s is in the repeat, not the song."""
    support = np.zeros((128, 39))
    support[40:56, 30:35] = 1.0
    late = explain.Explanation("jazz", 0.6, support, box=(40, 30), drop=0.012)
    said = late.legend(start=0.0, seconds=1.5)
    assert re.search(r"Silencing the boxed part, \d+–\d+ Hz, lowers jazz by 1 point\.", said), said  # no time
    whole = late.legend(start=10.0)  # a whole clip: the box's seconds, counted from the clip's start
    t0 = 10 + 30 / spectrogram.COLUMNS_PER_SECOND
    assert f"{mmss_tenths(t0)}–" in whole and f"{mmss_tenths(t0)}–0:1" in whole  # as the page's m:ss
    assert "by 5 points" in explain.Explanation("jazz", 0.6, support, box=(40, 30), drop=0.05).legend()


def test_a_box_at_the_clips_end_keeps_its_seconds_and_the_words_say_what_was_silenced():
    """A window's 39 columns hold 3.02 s: a box in its last columns is still in the clip's 3 s."""
    support = np.zeros((128, 39))
    support[40:56, 34:39] = 1.0
    end = explain.Explanation("blues", 0.6, support, box=(40, 34), drop=0.04)
    said = end.legend(start=24.0)
    assert "–0:27.0 at" in said  # shown up to the clip's end, not past it
    assert "the boxed part was then silenced" in end.how()
    quiet = explain.Explanation("blues", 0.6, support, box=(40, 34), drop=0.001)  # nothing stands out
    assert "boxed" not in quiet.how() and "boxed" not in quiet.caption(24.0, 27.0)
    assert quiet.caption(31.0, 33.995).endswith("0:31–0:34: lit and outlined.")
