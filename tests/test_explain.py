"""Occlusion saliency (genre/explain.py): shapes, ranges, and that it points at what matters."""
from __future__ import annotations

import time

import numpy as np
import pytest

from genre import explain, load_model, render
from genre.cnn import MODEL_PATH

from tests.support.sounds import tone

pytestmark = pytest.mark.skipif(not MODEL_PATH.exists(), reason="no shipped model")


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def window() -> np.ndarray:
    """A clip with a low drone, a beat and a high chord: structure in every part of the picture."""
    sr = 22050
    t = np.arange(3 * sr) / sr
    y = 0.4 * np.sin(2 * np.pi * 82.4 * t) * (0.5 + 0.5 * (np.sin(2 * np.pi * 2 * t) > 0))
    y += 0.2 * sum(np.sin(2 * np.pi * f * t) for f in (659.3, 830.6, 987.8)) * (t % 0.5 < 0.25)
    y += tone(3.0, freq=220.0, noise=0.05)
    return render(y.astype(np.float32))


def hidden(window: np.ndarray, band: int, column: int) -> np.ndarray:
    out = window.copy()
    out[band:band + explain.PATCH[0], column:column + explain.PATCH[1]] = explain.FILL_DB
    return out


def test_map_has_the_window_shape_and_probability_ranges(model, window):
    why = explain.occlusion(model.cnn, window)
    assert why.map.shape == window.shape == (128, 39)
    assert why.genre in model.genres
    assert 0.0 <= why.probability <= 1.0
    assert np.all(np.isfinite(why.map))
    assert -1.0 <= why.map.min() <= why.map.max() <= 1.0  # drops of a probability
    start, end, low, high = why.region()
    assert 0.0 <= start < end <= 3.1 and 0.0 <= low < high <= 11025.0


def test_the_verdict_explained_is_the_one_asked_for(model, window):
    assert explain.occlusion(model.cnn, window, "jazz").genre == "jazz"
    assert explain.occlusion(model.cnn, window, "metal").genre == "metal"


def test_hiding_the_salient_patch_moves_the_verdict_more_than_hiding_a_dull_one(model, window):
    why = explain.occlusion(model.cnn, window)
    index = model.genres.index(why.genre)
    rows = range(0, 128 - explain.PATCH[0] + 1, explain.PATCH[0])
    cols = range(0, 39 - explain.PATCH[1] + 1, explain.PATCH[1])
    patches = [(r, c) for r in rows for c in cols]
    strength = [abs(why.map[r:r + explain.PATCH[0], c:c + explain.PATCH[1]].mean()) for r, c in patches]
    salient, dull = patches[int(np.argmax(strength))], patches[int(np.argmin(strength))]
    base = model.cnn(window[None])[0, index]
    moved = [abs(base - model.cnn(hidden(window, *spot)[None])[0, index]) for spot in (salient, dull)]
    assert moved[0] > moved[1] + 0.01, moved
    assert why.peak > 0.01


def test_overlay_is_an_rgb_picture_that_dims_what_did_not_matter(model, window):
    why = explain.occlusion(model.cnn, window)
    picture = explain.overlay(window, why.map, scale=2, stretch=5)
    assert picture.shape == (256, 390, 3) and picture.dtype == np.uint8
    plain = explain.overlay(window, np.ones_like(why.map), scale=2, stretch=5)  # everything mattered
    assert picture.mean() < plain.mean()
    nothing = explain.overlay(window, -np.ones_like(why.map))  # nothing supported the verdict
    assert nothing.shape == picture.shape and nothing.mean() < picture.mean()


def test_one_clip_is_explained_quickly(model, window):
    explain.occlusion(model.cnn, window)  # warm
    times = []
    for _ in range(5):
        began = time.perf_counter()
        explain.overlay(window, explain.occlusion(model.cnn, window).map)
        times.append(time.perf_counter() - began)
    print(f"occlusion + overlay: median {np.median(times) * 1000:.0f} ms")
    assert np.median(times) < 2.0  # 0.5 s on 2 idle cores; generous for a shared CI machine
