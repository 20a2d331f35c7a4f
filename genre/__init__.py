"""genre: tell the genre of a song from its audio.

    decode (audio.py) -> 3-s clips (predict.py) -> dB mel window (spectrogram.py) -> CNN (model.py)

>>> from genre import load_model, predict
>>> result = predict("song.mp3", load_model())
>>> result.genre, result.confidence
"""
from .audio import CLIP_SECONDS, SAMPLE_RATE, decode
from .data import GENRES
from .errors import AudioError, FFmpegError, GenreError, ModelError, TooShortError
from .fusion import GenreModel, load_model
from .model import Classifier, build_model
from .predict import Clip, Prediction, predict
from .spectrogram import render

__all__ = ["AudioError", "CLIP_SECONDS", "Classifier", "Clip", "FFmpegError", "GENRES", "GenreError", "GenreModel",
           "ModelError", "Prediction", "SAMPLE_RATE", "TooShortError", "build_model", "decode",
           "load_model", "predict", "render"]
__version__ = "1.0.0"
