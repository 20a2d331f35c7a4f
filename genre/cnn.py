"""The classifier: a small VGG-style Keras CNN over (128, 39) dB mel windows, saved with its metadata.

``model/genre_cnn.keras`` holds the network; ``model/genre_cnn.json`` beside it holds what
prediction needs (genre order, preprocessing constants, version) and what training measured.
Loading compares the JSON's preprocessing with this code's constants and refuses a mismatch,
so a model can never silently see inputs unlike those it was trained on.
"""
from __future__ import annotations

import json
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import audio, logs, spectrogram
from .errors import ModelError
from .verdict import LOW_CONFIDENCE, Judgement, low_confidence_sentence

logs.quiet_by_default()  # before anything imports TensorFlow, which reads the level once

MODEL_DIR = Path(__file__).resolve().parent.parent / "model"
MODEL_PATH = MODEL_DIR / "genre_cnn.keras"
FILTERS = (24, 48, 96, 192)  # one conv block each; 2x2 pooling after all but the last
DROPOUT = 0.3
LOG_FLOOR = 1e-12  # a probability of 0 gets this one's log, so sums and temperatures stay finite


def preprocessing() -> dict:
    """The constants that define the model's input; stored with the model and checked on load."""
    return {
        "sample_rate": audio.SAMPLE_RATE,
        "clip_seconds": audio.CLIP_SECONDS,
        "n_fft": spectrogram.N_FFT,
        "hop_length": spectrogram.HOP_LENGTH,
        "n_mels": spectrogram.N_MELS,
        "top_db": spectrogram.TOP_DB,
        "levels": spectrogram.LEVELS,
        "frames_per_column": round(spectrogram.FRAMES_PER_COLUMN, 6),
        "clip_columns": spectrogram.CLIP_COLUMNS,
        "reference": "window-max",
        "short_audio": "wrap-columns",
    }


def build_model(n_classes: int, filters=FILTERS, dropout: float = DROPOUT, name: str = "genre_cnn"):
    """A VGG-style CNN with batch norm and global average pooling.

    Input: (``N_MELS``, ``CLIP_COLUMNS``, 1) dB in [-80, 0]. Output: class probabilities.
    Global pooling instead of a Flatten->Dense head keeps the network small (about 0.2 M
    weights), which is what 640 training clips can support.
    """
    import keras
    from keras import layers

    inputs = keras.Input((spectrogram.N_MELS, spectrogram.CLIP_COLUMNS, 1), name="mel_db")
    x = layers.Rescaling(2 / spectrogram.TOP_DB, offset=1.0)(inputs)  # [-80, 0] dB -> [-1, 1]
    for i, width in enumerate(filters):
        x = layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.Activation("relu")(x)
        if i < len(filters) - 1:
            x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="genre")(x)
    return keras.Model(inputs, outputs, name=name)


@dataclass(frozen=True)
class Calibration:
    """The CNN's numbers fitted on validation songs (its JSON's ``temperature``, ``track_temperature``,
    ``unsure_below``); without them, none (1, 1 and 0)."""

    temperature: float = 1.0  # for 3-s clips
    track_temperature: float = 1.0  # for a song's mean of clips
    unsure_below: float = 0.0  # a song less confident than this is unsure

    @classmethod
    def of(cls, meta: dict) -> Calibration:
        return cls(*(float(meta.get(name, default)) for name, default in
                     (("temperature", 1.0), ("track_temperature", 1.0), ("unsure_below", 0.0))))


@dataclass(frozen=True)
class Validation:
    """A model's validated accuracy on audio, per song and per 3-s clip (None: not measured)."""

    accuracy: float | None = None
    clip_accuracy: float | None = None

    @classmethod
    def of(cls, figures: dict) -> Validation:
        return cls(figures.get("accuracy"), figures.get("clip_accuracy"))


@dataclass
class Classifier:
    """A loaded model with its metadata; ``__call__`` is thread-safe."""

    network: object
    genres: tuple[str, ...]
    meta: dict = field(default_factory=dict)  # its JSON as written: calibration, provenance, figures
    device: str = "CPU"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    kind = "cnn"  # how results and GENRE_SOURCE name it: ``cnn v1``
    tags: tuple[str, ...] = ()  # it says no tags

    def __post_init__(self):
        from .runtime import OnnxNetwork

        self.calibration = Calibration.of(self.meta)
        self.version = self.meta.get("version", "?")
        self.validation = Validation.of(self.meta.get("validation", {}))

        if isinstance(self.network, OnnxNetwork):
            self._forward = lambda x: self.network(x)[self.network.outputs[0]]
            return
        import tensorflow as tf

        # One traced graph for every batch size: an eager Keras call costs about 10 ms of
        # Python per call and ``model.predict`` tens of ms; the graph runs in about 2 ms.
        spec = tf.TensorSpec((None, *self.network.input_shape[1:]), tf.float32)
        self._forward = tf.function(lambda x: self.network(x, training=False), input_signature=[spec],
                                    autograph=False)  # autograph writes temporary files

    @property
    def cnn(self) -> "Classifier":
        """The image CNN branch (here the whole model): callable on (n, 128, 39) dB windows."""
        return self

    def network_probs(self, windows: np.ndarray) -> np.ndarray:
        """The network's own probabilities (n, genres) for dB windows (n, 128, 39), in one batch."""
        x = np.asarray(windows, dtype=np.float32)[..., None]
        with self._lock:
            return np.asarray(self._forward(x), dtype=np.float64)

    def __call__(self, windows: np.ndarray) -> np.ndarray:
        """Probabilities (n, genres) for dB windows (n, 128, 39), all in one batch.

        The temperature fitted on validation clips, if any, calibrates them.
        """
        return temper(self.network_probs(windows), self.calibration.temperature)

    def judge(self, windows: np.ndarray, clips=None, pulse=None, gain_db: float = 0.0) -> Judgement:
        """The CNN alone as a model: clip and song probabilities, unsure under its threshold
        (its dB windows do not depend on the level, so it reads neither the clips nor their gain)."""
        verdict = Judgement(probs := self(windows), song := self.song(probs))
        if song.max() < self.calibration.unsure_below:
            verdict.doubt(LOW_CONFIDENCE, low_confidence_sentence(self.genres, song))
        return verdict

    def song(self, clip_probs: np.ndarray) -> np.ndarray:
        """A song's probabilities: the mean of its clips', calibrated for songs.

        Averaging clips that disagree flattens the mean, so a song's raw confidence is lower
        than its accuracy; ``track_temperature``, fitted on validation songs, corrects that.
        """
        mean = np.asarray(clip_probs, dtype=np.float64).mean(axis=0, keepdims=True)
        return temper(mean, self.calibration.track_temperature)[0]


def softmax(logp: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Probabilities from log-probabilities (or logits) at a temperature (above 1 softens)."""
    z = np.asarray(logp, np.float64) / temperature
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def log_of(probs: np.ndarray) -> np.ndarray:
    """Log-probabilities, with a probability of 0 at ``LOG_FLOOR``'s finite log."""
    return np.log(np.clip(probs, LOG_FLOOR, 1.0))


def temper(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Apply a softmax temperature to probabilities (above 1 softens, below 1 sharpens)."""
    return probs if temperature == 1.0 else softmax(log_of(probs), temperature)


def limit_blas_threads() -> None:
    """Run numpy's matrix products (OpenBLAS) on one thread in this process.

    The front ends' products are small (a mel basis times one clip's spectrum); OpenBLAS's
    worker threads spin for a while after each and steal the two cores TensorFlow needs
    next: measured, +17 ms on a 20-ms backbone call. TensorFlow keeps its own threads.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")


def detect_device() -> str:
    """'GPU' when TensorFlow sees one (memory growth switched on), else 'CPU'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except RuntimeError:  # already initialised: growth can no longer change
            pass
    return f"GPU ({gpus[0].name.split(':', 1)[-1]})" if gpus else "CPU"


def meta_path(path) -> Path:
    """The JSON beside a ``.keras`` file."""
    return Path(path).with_suffix(".json")


def save(network, genres, path=MODEL_PATH, **meta) -> Path:
    """Write the network and its JSON (genres, preprocessing, and ``meta``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    network.save(path)
    info = {"genres": list(genres), "preprocessing": preprocessing(), **meta}
    meta_path(path).write_text(json.dumps(info, indent=2) + "\n")
    return path


def load_model(path=None, onnx=None) -> Classifier:
    """Load a saved model and check that its preprocessing matches this code.

    Parameters
    ----------
    path : path, optional
        A ``.keras`` file with its ``.json`` beside it; the shipped model by default.
    onnx : path, optional
        Its ONNX form (``runtime.ONNX_FILES``): run it on ONNX Runtime, without TensorFlow.

    Raises
    ------
    ModelError
        The files are missing or unreadable, or the preprocessing differs.
    """
    path = Path(path) if path is not None else MODEL_PATH
    try:
        meta = json.loads(meta_path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ModelError(f"Cannot read the model's metadata {meta_path(path)}.") from exc
    expected, found = preprocessing(), meta.get("preprocessing", {})
    wrong = sorted(k for k in expected if found.get(k) != expected[k])
    if wrong:
        raise ModelError(f"{path.name} was trained with other preprocessing ({', '.join(wrong)}) "
                         "than this code uses; retrain it or use a matching version of genre.")
    limit_blas_threads()
    genres = tuple(meta["genres"])
    if onnx is not None:
        from .runtime import OnnxNetwork

        network, device = OnnxNetwork(onnx, path), "CPU (ONNX Runtime)"
        outputs = network.session.get_outputs()[0].shape[-1]
    else:
        device = detect_device()
        import keras

        try:
            network = keras.saving.load_model(path, compile=False)
        except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as exc:  # what Keras raises for a bad file
            raise ModelError(f"Cannot load the model {path}: {exc}") from exc
        outputs = network.output_shape[-1]
    if outputs != len(genres):
        raise ModelError(f"{path.name} has {outputs} outputs for {len(genres)} genres.")
    classifier = Classifier(network, genres, meta, device)
    classifier(np.zeros((1, spectrogram.N_MELS, spectrogram.CLIP_COLUMNS), np.float32))  # build the graph now
    return classifier
