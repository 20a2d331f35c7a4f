"""The musicnn port: its front end, its shape, and its fidelity to the original TF1 graph."""
from pathlib import Path

import numpy as np
import pytest

from genre import backbone
from tests.support import skip_or_fail

ROOT = Path(__file__).resolve().parent.parent


def test_front_end_shapes_and_float32_compression():
    t = np.arange(3 * 22050) / 22050
    loud = (np.sign(np.sin(2 * np.pi * 60 * t)) * 1.0).astype(np.float32)  # a full-scale square wave
    patch = backbone.patch(loud)
    assert patch.shape == (backbone.PATCH_FRAMES, backbone.PATCH_MELS) and patch.dtype == np.float32
    # float16 (musicnn's own extractor) overflows on such frames; float32 stays finite
    power = backbone.mel_power(backbone.resample(loud))
    with np.errstate(over="ignore"):
        assert np.isinf(np.log10(10000 * power.astype(np.float16) + 1)).any()
    assert np.isfinite(patch).all() and patch.max() > np.log10(65504)


def test_short_audio_is_repeated_to_a_whole_patch():
    y = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1  # 1 s
    p = backbone.patches(y)
    assert p.shape == (1, backbone.PATCH_FRAMES, backbone.PATCH_MELS)
    first = backbone.compress(backbone.mel_power(y))
    np.testing.assert_array_equal(p[0, len(first):2 * len(first)], first)  # the repetition


def test_long_audio_gives_consecutive_patches():
    y = np.zeros(16000 * 10, np.float32) + 0.01
    assert backbone.patches(y).shape == (3, backbone.PATCH_FRAMES, backbone.PATCH_MELS)


def test_build_backbone_outputs_tags_embedding_and_pool():
    net = backbone.build_backbone()
    out = net.predict(np.zeros((2, backbone.PATCH_FRAMES, backbone.PATCH_MELS), np.float32), verbose=0)
    assert out["tags"].shape == (2, 50) and out["embedding"].shape == (2, backbone.EMBEDDING_UNITS)
    assert out["pool"].shape == (2, backbone.POOL_UNITS)
    assert ((out["tags"] >= 0) & (out["tags"] <= 1)).all()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """musicnn's wheel from the package index, or a clean skip that says why."""
    from genre.errors import ModelError
    from genre.training.musicnn import download_wheel

    try:
        return download_wheel(tmp_path_factory.mktemp("wheel"))
    except ModelError as exc:
        skip_or_fail(f"the musicnn wheel cannot be had here: {exc}")


@pytest.fixture(scope="module")
def imported(wheel, tmp_path_factory):
    """The weights imported afresh from the wheel by the project's own command."""
    from genre.training.musicnn import import_musicnn

    out = tmp_path_factory.mktemp("musicnn")
    import_musicnn(out, verify=False, wheel=wheel, log=lambda *a: None)
    return out


@pytest.mark.slow
def test_port_equals_the_original_graph(wheel, imported, tmp_path):
    """On generated music and noise, the port's 50 tags equal the original graph's within 1e-5."""
    import keras

    from genre.training import musicnn as mi

    prefix, _ = mi.extract_checkpoint(wheel, tmp_path)
    original = mi.OriginalGraph(prefix)
    port = keras.saving.load_model(imported / backbone.MODEL_FILE, compile=False)
    probe = mi.probe_patches(seed=3)
    ours = port.predict(probe, verbose=0)
    tags, embedding = original(probe)
    assert tags.shape == (len(probe), 50)
    np.testing.assert_allclose(ours["tags"], tags, atol=1e-5)
    np.testing.assert_allclose(ours["embedding"], embedding, atol=1e-4)
    assert tags.std() > 0.01  # the probe is not a degenerate input on which everything agrees


@pytest.mark.slow
def test_shipped_backbone_is_the_imported_one(imported):
    """model/musicnn.keras holds exactly the weights the import command produces, and its licence."""
    import keras

    shipped = keras.saving.load_model(ROOT / "model" / backbone.MODEL_FILE, compile=False)
    fresh = keras.saving.load_model(imported / backbone.MODEL_FILE, compile=False)
    for a, b in zip(shipped.get_weights(), fresh.get_weights()):
        np.testing.assert_array_equal(a, b)
    licence = (ROOT / "model" / "MUSICNN_LICENSE.md").read_text()
    assert "Permission to use, copy, modify" in licence and "Universitat Pompeu Fabra" in licence
