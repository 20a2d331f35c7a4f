"""Shared fixtures: audio the tests make themselves, a tiny model, and the optional GTZAN data."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from genre import audio

ROOT = Path(__file__).resolve().parent.parent
SR = audio.SAMPLE_RATE


def tone(seconds: float, freq: float = 440.0, sr: int = SR, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """A tone with a little noise and an amplitude wobble, float32 in [-1, 1]."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = 0.5 * np.sin(2 * np.pi * freq * t) * (0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t))
    return (y + noise * rng.standard_normal(len(t))).astype(np.float32)


def encode(samples: np.ndarray, path: Path, sr: int = SR, channels: int = 1, args=()) -> Path:
    """Encode float samples (frames x channels or mono) to ``path`` with ffmpeg, format by suffix."""
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", "-f", "s16le", "-ar", str(sr),
                    "-ac", str(channels), "-i", "pipe:0", *args, str(path)], input=pcm, check=True)
    return path


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
    from genre.model import save

    keras.utils.set_random_seed(0)
    return save(build_model(len(GENRES), filters=(4, 8)), GENRES,
                tmp_path_factory.mktemp("model") / "genre_cnn.keras", version=0)


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    """The tiny model, loaded."""
    from genre import load_model

    return load_model(tiny_model_path)


@pytest.fixture(scope="session")
def gtzan() -> Path:
    """The shared GTZAN folder (``GENRE_DATA`` or ``../shared/data/gtzan``); skip when absent."""
    path = Path(os.environ.get("GENRE_DATA", ROOT.parent / "shared" / "data" / "gtzan"))
    if not (path / "manifest.csv").exists():
        pytest.skip(f"no GTZAN data at {path}")
    return path

