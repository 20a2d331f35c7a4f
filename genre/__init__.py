"""genre: tell the genre of a song from its audio.

    decode (audio.py, spread.py) -> 3-s clips (prediction.py) -> dB mel window (spectrogram.py)
        -> image CNN (cnn.py) + musicnn backbone (backbone.py, bands.py) and heads (heads.py)
        -> fused verdict, "unsure" and its reason (fusion.py, verdict.py)

Layers: ``genre/`` serves a request; ``genre.tag`` tags a music library with it;
``genre.training`` trains and evaluates (serving never imports it).

>>> from genre import load_model, predict
>>> result = predict("song.mp3", load_model())
>>> result.genre, result.confidence, result.reason

Names are re-exported lazily: ``import genre`` loads neither TensorFlow nor librosa nor PIL.
"""
from __future__ import annotations

import importlib
import os

# ONNX Runtime (1.29 and later) sends usage events to Microsoft from Linux and keeps a device id in
# ~/.cache/Microsoft unless this is set before it loads; a self-hosted app of people's music sends
# nothing. Set here, before any module can import it; a user who sets it to a value is obeyed.
if not os.environ.get("ORT_DISABLE_TELEMETRY"):
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"

from .errors import AudioError, FFmpegError, GenreError, ModelError, RefusedError, SilentError, TooShortError
from .verdict import GENRES

_LAZY = {  # public name -> the module that owns it
    "load_model": "fusion", "GenreModel": "fusion",
    "predict": "prediction", "Prediction": "prediction", "Clip": "prediction", "MAX_CLIPS": "prediction",
    "Classifier": "cnn", "build_model": "cnn",
    "CLIP_SECONDS": "audio", "SAMPLE_RATE": "audio", "decode": "audio",
    "render": "spectrogram",
}
__all__ = ["AudioError", "FFmpegError", "GENRES", "GenreError", "ModelError", "RefusedError", "SilentError",
           "TooShortError", *_LAZY]
__version__ = "1.0.0"


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'genre' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
