"""Reading GTZAN-style folders and mel images."""
import io

import numpy as np
import pytest

from tests.support.sounds import encode, tone
from genre import audio, spectrogram as S
from genre.training import data


def _specshow_png(samples) -> bytes:
    """A mel image made with the recipe in ../shared/data/gtzan/README.md."""
    import librosa
    import librosa.display
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mel = librosa.feature.melspectrogram(y=samples, sr=audio.SAMPLE_RATE, n_mels=128)
    fig = plt.figure(figsize=(5, 5))
    librosa.display.specshow(librosa.power_to_db(mel, ref=np.max), sr=audio.SAMPLE_RATE, cmap="magma")
    plt.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", pad_inches=0)
    plt.close(fig)
    return buffer.getvalue()


@pytest.mark.slow
def test_image_levels_read_back_what_the_image_recipe_drew(tmp_path):
    rng = np.random.default_rng(0)
    samples = tone(30.013, freq=220.0) * np.repeat(rng.uniform(0.05, 1, 300), 2207)[:661786].astype(np.float32)
    samples = samples.astype(np.float32)
    png = tmp_path / "x.png"
    png.write_bytes(_specshow_png(samples))
    read = data.image_levels(png)
    assert read.shape == (S.N_MELS, 387) and read.dtype == np.uint8
    assert (read == S.image_levels_from_audio(samples)).mean() > 0.99


def test_find_items_in_a_genre_folder(tmp_path):
    for genre in ("blues", "rock"):
        (tmp_path / genre).mkdir()
        encode(tone(1.5), tmp_path / genre / f"{genre}.00001.wav")
    (tmp_path / "notagenre").mkdir()
    (tmp_path / "notagenre" / "x.wav").write_bytes(b"")
    (tmp_path / "rock" / "notes.txt").write_text("ignored")
    items = data.find_items(tmp_path)
    assert [(i.id, i.genre, i.kind) for i in items] == [("blues.00001", "blues", "audio"),
                                                        ("rock.00001", "rock", "audio")]
    with pytest.raises(data.DataError, match="manifest"):
        data.find_items(tmp_path, "valid")


def test_find_items_from_a_manifest_by_split(gtzan):
    valid = data.find_items(gtzan, "valid")
    train = data.find_items(gtzan, "train")
    assert {i.split for i in valid} == {"valid"}
    # Split by recording: no clip id on both sides.
    assert not {i.id for i in valid} & {i.id for i in train}
    assert len({i.id for i in data.find_items(gtzan, "train+valid")}) == \
        len({i.id for i in valid} | {i.id for i in train})


def test_an_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(data.DataError, match="No labelled"):
        data.find_items(tmp_path)


def test_a_split_the_manifest_lacks_or_a_missing_folder_says_which(gtzan, tmp_path):
    with pytest.raises(data.DataError, match=r"No split 'bogus' in .*manifest.csv: it has .*train.*valid"):
        data.find_items(gtzan, "bogus")
    with pytest.raises(data.DataError, match="is not a folder"):
        data.find_items(tmp_path / "nowhere")
