"""Shared fixtures: audio the tests make themselves, a tiny model, and the optional GTZAN data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import ROOT
from tests.support.sounds import encode, tone


@pytest.fixture(scope="session")
def media(tmp_path_factory):
    """A folder of small real files: the same 6-s tone as MP3, WAV, FLAC, M4A and OGG/Opus."""
    folder = tmp_path_factory.mktemp("media")
    y = tone(6.0)
    files = {}
    for name, args in {"mp3": ["-b:a", "128k"], "wav": [], "flac": [],
                       "m4a": ["-c:a", "aac", "-b:a", "96k"], "ogg": ["-c:a", "libopus", "-b:a", "64k"]}.items():
        files[name] = encode(y, folder / f"tone.{name}", args=args)
    files["short"] = encode(tone(2.0), folder / "short.wav")
    files["tiny"] = encode(tone(0.5), folder / "tiny.wav")
    files["long"] = encode(tone(75.0, freq=220.0), folder / "long.mp3", args=["-b:a", "32k"])
    return files


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A small untrained model, saved the way the shipped one is."""
    import keras

    from genre import GENRES, build_model
    from genre.cnn import save

    keras.utils.set_random_seed(0)
    return save(build_model(len(GENRES), filters=(4, 8)), GENRES,
                tmp_path_factory.mktemp("model") / "genre_cnn.keras", version=0,
                data={"train_split": "train"})


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    """The tiny model, loaded."""
    from genre import load_model

    return load_model(tiny_model_path)


@pytest.fixture(scope="session")
def shipped():
    """The shipped model in model/ (fused, with its music detector), loaded once for the session."""
    from genre import fusion, load_model

    if not (ROOT / "model" / fusion.FUSION_FILE).exists():
        pytest.skip("no fused model in model/")
    return load_model()


@pytest.fixture(scope="session")
def gtzan() -> Path:
    """The shared GTZAN folder (``GENRE_DATA`` or ``../shared/data/gtzan``); skip when absent."""
    path = Path(os.environ.get("GENRE_DATA", ROOT.parent / "shared" / "data" / "gtzan"))
    if not (path / "manifest.csv").exists():
        pytest.skip(f"no GTZAN data at {path}")
    return path

