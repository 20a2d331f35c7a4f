"""The pretrained ear: MSD_musicnn (Pons & Serra, 2019) rebuilt in Keras 3, with its own front end.

musicnn is a musically motivated CNN trained on about 200,000 songs of the Million Song
Dataset to predict the 50 most common last.fm tags. Its front end hears 3-s patches of a
96-band log-mel spectrogram at 16 kHz; timbral filters (7 frames x 38 or 67 bands) and
temporal filters (128, 64, 32 frames x 1 band) are max-pooled over frequency, three 1-D
convolutions with residual connections follow, and the song-level back end pools max and
mean over time into a 1506-d vector (interleaved: max0, mean0, max1, mean1, ...), then a
200-unit dense layer whose batch-normalised output is the embedding. The network gives both: the
batch-normalised pooled vector (``pool``, what the audio head reads: on the valid list, a head on
it named 74 % of audio files against 69 % on the embedding) and the embedding (what the image head,
the distance test and the music detector read).

The weights come from the ``musicnn`` wheel on PyPI (``python -m genre import-musicnn``,
see ``genre/training/musicnn.py``); this module only builds and runs the network.
Licence: ISC, Music Technology Group, Universitat Pompeu Fabra (``model/MUSICNN_LICENSE.md``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import librosa

from .audio import CLIP_SAMPLES, CLIP_SECONDS, SAMPLE_RATE

PATCH_RATE = 16000  # Hz, musicnn's training rate
PATCH_FFT = 512
PATCH_HOP = 256  # 62.5 frames a second
PATCH_MELS = 96
# 187: the patch length musicnn was trained on, computed as its configuration computes it
PATCH_FRAMES = int(librosa.time_to_frames(CLIP_SECONDS, sr=PATCH_RATE, n_fft=PATCH_FFT, hop_length=PATCH_HOP)) + 1
PATCH_SAMPLES = CLIP_SAMPLES * PATCH_RATE // SAMPLE_RATE  # 48000: one 3-s clip at 16 kHz
LOG_GAIN = 10000.0  # musicnn's compression: log10(LOG_GAIN * power + 1)
BN_EPSILON = 1e-3  # TF1's batch-norm default, which the checkpoint was trained with
TIMBRAL = ((int(0.4 * PATCH_MELS), 204), (int(0.7 * PATCH_MELS), 204))  # (bands, filters): 38 and 67 bands
TEMPORAL_FILTERS = int(1.6 * 32)  # 51: musicnn's temporal filters per length
TEMPORAL = ((128, TEMPORAL_FILTERS), (64, TEMPORAL_FILTERS), (32, TEMPORAL_FILTERS))  # (frames, filters)
MIDEND_FILTERS = 64
MIDEND_LAYERS = 3
EMBEDDING_UNITS = 200
FRONTEND_FILTERS = sum(f for _, f in TIMBRAL) + sum(f for _, f in TEMPORAL)  # 561
POOL_UNITS = 2 * (FRONTEND_FILTERS + MIDEND_LAYERS * MIDEND_FILTERS)  # max and mean of 753 channels: 1506
MODEL_FILE = "musicnn.keras"
LICENSE_FILE = "MUSICNN_LICENSE.md"  # musicnn's ISC notice, which travels with its weights
BATCH = 4  # patches per call: the timbral layers hold 4 x 9 MB per patch; 4 is as fast as 20, at 350 MB less

TAGS = ("rock", "pop", "alternative", "indie", "electronic", "female vocalists", "dance", "00s",
        "alternative rock", "jazz", "beautiful", "metal", "chillout", "male vocalists", "classic rock",
        "soul", "indie rock", "Mellow", "electronica", "80s", "folk", "90s", "chill", "instrumental",
        "punk", "oldies", "blues", "hard rock", "ambient", "acoustic", "experimental", "female vocalist",
        "guitar", "Hip-Hop", "70s", "party", "country", "easy listening", "sexy", "catchy", "funk",
        "electro", "heavy metal", "Progressive rock", "60s", "rnb", "indie pop", "sad", "House", "happy")

_MEL_BASIS = librosa.filters.mel(sr=PATCH_RATE, n_fft=PATCH_FFT, n_mels=PATCH_MELS).astype(np.float32)


def resample(samples: np.ndarray, orig_sr: int = SAMPLE_RATE) -> np.ndarray:
    """Audio at the song rate -> 16 kHz float32 (soxr, as ``librosa.load`` does for musicnn)."""
    return librosa.resample(np.asarray(samples, np.float32), orig_sr=orig_sr,
                            target_sr=PATCH_RATE).astype(np.float32)


def mel_power(samples16: np.ndarray) -> np.ndarray:
    """96-band mel power (frames, 96) of 16-kHz audio: musicnn's STFT, before compression."""
    stft = librosa.stft(np.asarray(samples16, np.float32), n_fft=PATCH_FFT, hop_length=PATCH_HOP,
                        center=True, pad_mode="reflect")  # reflect: librosa's default in 2019
    return (_MEL_BASIS @ (np.abs(stft) ** 2)).T.astype(np.float32)


def compress(power: np.ndarray) -> np.ndarray:
    """musicnn's log compression, in float32.

    musicnn's own extractor casts to float16 first, which overflows to +inf on loud frames
    (float16 ends at 65504) and changes the tags; the network never saw inf in training.
    """
    return np.log10(LOG_GAIN * np.asarray(power, np.float32) + 1.0)


def fit_patch(frames: np.ndarray) -> np.ndarray:
    """A (PATCH_FRAMES, bands) patch: cut, or repeated until long enough (how musicnn was trained)."""
    if len(frames) < PATCH_FRAMES:
        frames = np.concatenate([frames] * (PATCH_FRAMES // max(len(frames), 1) + 1))
    return frames[:PATCH_FRAMES]


def patch(clip: np.ndarray) -> np.ndarray:
    """One 3-s clip at the song rate -> its (187, 96) input patch for the backbone."""
    return fit_patch(compress(mel_power(resample(clip))))


def patches(samples16: np.ndarray) -> np.ndarray:
    """Consecutive, non-overlapping (187, 96) patches of 16-kHz audio; short audio is repeated."""
    frames = compress(mel_power(samples16))
    if len(frames) <= PATCH_FRAMES:
        return fit_patch(frames)[None]
    starts = range(0, len(frames) - PATCH_FRAMES + 1, PATCH_FRAMES)
    return np.stack([frames[s:s + PATCH_FRAMES] for s in starts])


def _norm(name: str):
    from keras import layers

    return layers.BatchNormalization(epsilon=BN_EPSILON, name=name)


def build_backbone(n_tags: int = len(TAGS), name: str = "musicnn"):
    """MSD_musicnn as a Keras model: (n, 187, 96) log-mel -> {"tags": (n, 50), "embedding": (n, 200),
    "pool": (n, 1506)}.

    Layer names follow the checkpoint's variables (``conv2d_3``, ``batch_normalization_7``, ...)
    so that importing its weights is a lookup by name.
    """
    import keras
    from keras import layers

    inputs = keras.Input((PATCH_FRAMES, PATCH_MELS), name="log_mel")
    x = layers.Reshape((PATCH_FRAMES, PATCH_MELS, 1))(inputs)
    x = _norm("batch_normalization")(x)
    features, index = [], 0
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)))(x)  # 'same' in time only: frequency is pooled away
    for bands, filters in TIMBRAL:
        f = layers.Conv2D(filters, (7, bands), activation="relu", name=f"conv2d{_suffix(index)}")(padded)
        features.append(f)
        index += 1
    for frames, filters in TEMPORAL:
        f = layers.Conv2D(filters, (frames, 1), padding="same", activation="relu",
                          name=f"conv2d{_suffix(index)}")(x)
        features.append(f)
        index += 1
    pooled = []
    for i, f in enumerate(features):
        f = _norm(f"batch_normalization{_suffix(i + 1)}")(f)
        f = layers.MaxPooling2D((1, f.shape[2]))(f)  # max over frequency
        pooled.append(layers.Reshape((PATCH_FRAMES, f.shape[3]))(f))
    front = layers.Concatenate(name="frontend")(pooled)  # (187, 561)

    dense = [front]
    y = front
    for i in range(MIDEND_LAYERS):
        conv = layers.Conv1D(MIDEND_FILTERS, 7, padding="same", activation="relu",
                             name=f"conv2d_{index + i}")(y)
        conv = _norm(f"batch_normalization_{len(features) + 1 + i}")(conv)
        y = conv if i == 0 else layers.Add()([conv, y])  # residual after the first
        dense.append(y)
    mid = layers.Concatenate(name="midend")(dense)  # (187, 753)

    width = mid.shape[-1]
    peak = layers.Reshape((width, 1))(layers.GlobalMaxPooling1D()(mid))
    mean = layers.Reshape((width, 1))(layers.GlobalAveragePooling1D()(mid))
    pool = layers.Flatten()(layers.Concatenate()([peak, mean]))  # interleaved max/mean: 1506
    pool = _norm("batch_normalization_9")(pool)
    hidden = layers.Dense(EMBEDDING_UNITS, activation="relu", name="dense")(pool)
    pool = layers.Identity(name="pool")(pool)
    embedding = _norm("batch_normalization_10")(hidden)
    logits = layers.Dense(n_tags, name="dense_1")(embedding)
    tags = layers.Activation("sigmoid", name="tags")(logits)
    embedding = layers.Identity(name="embedding")(embedding)
    return keras.Model(inputs, {"tags": tags, "embedding": embedding, "pool": pool}, name=name)


def _suffix(i: int) -> str:
    return "" if i == 0 else f"_{i}"


@functools.lru_cache(maxsize=1)
def tag_index() -> dict[str, int]:
    """Position of each tag in the backbone's output."""
    return {t: i for i, t in enumerate(TAGS)}


class Tagger:
    """The loaded backbone: ``__call__(patches) -> Heard``, traced once, thread-safe."""

    def __init__(self, network):
        import threading

        import tensorflow as tf

        self.network = network
        self._lock = threading.Lock()
        spec = tf.TensorSpec((None, PATCH_FRAMES, PATCH_MELS), tf.float32)
        self._forward = tf.function(lambda x: self.network(x, training=False), input_signature=[spec],
                                    autograph=False)  # autograph writes temporary files

    def __call__(self, patches: np.ndarray, batch: int = BATCH) -> Heard:
        """What the backbone hears in (n, 187, 96) patches."""
        return in_batches(self._locked_forward, patches, batch)

    def _locked_forward(self, x: np.ndarray):
        with self._lock:
            return self._forward(x)


@dataclass
class Heard:
    """What the backbone hears in n patches: each one's tags and two views of it for the heads."""

    tags: np.ndarray  # (n, 50) tag probabilities
    embedding: np.ndarray  # (n, 200) the penultimate layer: image head, distance test, music detector
    pool: np.ndarray  # (n, 1506) the batch-normalised max and mean over time: the audio head

    def layer(self, name: str) -> np.ndarray:
        """The view a head reads (``heads.READS``): "embedding" or "pool"."""
        return {"embedding": self.embedding, "pool": self.pool}[name]


def in_batches(forward, patches: np.ndarray, batch: int) -> Heard:
    """What the backbone hears in ``patches`` through ``forward`` (a batch -> a dict of its
    outputs), ``batch`` patches a call; every runtime's tagger runs the backbone this way."""
    patches = np.asarray(patches, np.float32)
    outs: dict[str, list[np.ndarray]] = {"tags": [], "embedding": [], "pool": []}
    for i in range(0, len(patches), batch):
        out = forward(patches[i:i + batch])
        for name, parts in outs.items():
            parts.append(np.asarray(out[name]))
    return Heard(**{name: np.concatenate(parts) for name, parts in outs.items()})


def load_backbone(path) -> Tagger:
    """Load ``musicnn.keras`` (written by ``python -m genre import-musicnn``)."""
    import keras

    return Tagger(keras.saving.load_model(path, compile=False))
