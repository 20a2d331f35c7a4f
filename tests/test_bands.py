"""The image path: a 128-band dB window -> the backbone's 96-band patch."""
import numpy as np
import pytest

from tests.support.sounds import tone
from genre import audio, backbone, bands, spectrogram
from genre.training.bands import fit as fit_bands


def test_each_frame_takes_the_nearest_column_in_order():
    cols = bands.column_of_frame()
    assert cols.shape == (backbone.PATCH_FRAMES,)
    assert cols[0] == 0 and cols[-1] == spectrogram.CLIP_COLUMNS - 1
    assert (np.diff(cols) >= 0).all() and set(cols) == set(range(spectrogram.CLIP_COLUMNS))


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(1)
    songs = [tone(6.0, freq=f, seed=i) + 0.2 * rng.standard_normal(6 * audio.SAMPLE_RATE).astype(np.float32)
             for i, f in enumerate((220.0, 660.0, 1500.0))]
    return fit_bands(songs)


def test_fit_gives_a_non_negative_map_and_a_reference(fitted):
    assert fitted.weights.shape == (backbone.PATCH_MELS, spectrogram.N_MELS)
    assert (fitted.weights >= 0).all() and fitted.weights.sum() > 0
    assert fitted.reference > 0


def test_image_path_tracks_the_backbone_front_end(fitted):
    """On audio it was not fitted on, the image path's band profile follows the direct one."""
    y = tone(3.0, freq=440.0, seed=7, noise=0.1)
    direct = backbone.patch(y)
    via = fitted.patch(spectrogram.render(y))
    assert via.shape == direct.shape == (backbone.PATCH_FRAMES, backbone.PATCH_MELS)
    assert np.isfinite(via).all()
    assert np.corrcoef(direct.mean(0), via.mean(0))[0, 1] > 0.9


def test_louder_windows_give_larger_patches(fitted):
    window = np.full((spectrogram.N_MELS, spectrogram.CLIP_COLUMNS), -40.0, np.float32)
    assert (fitted.patch(window + 10) >= fitted.patch(window)).all()
    assert fitted.patch(window + 10).mean() > fitted.patch(window).mean()


def test_save_and_load_round_trip(fitted, tmp_path):
    fitted.save(tmp_path / "map.json")
    again = bands.BandMap.load(tmp_path / "map.json")
    np.testing.assert_allclose(again.weights, fitted.weights, rtol=1e-4, atol=1e-7)
    assert again.reference == pytest.approx(fitted.reference)
