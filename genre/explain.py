"""Why: which parts of a clip's spectrogram moved the image CNN's verdict, by occlusion.

A patch of the (128, 39) dB window is hidden (set to silence, -80 dB) and the image CNN is
asked again; the drop in the verdict's probability is that patch's importance (with
overlapping patches, a cell's importance is the mean drop of those that hid it). All the
occluded windows go to the network in one batch: 65 windows for one clip, about 0.2-0.3 s
on 2 CPU cores with the shipped model.

>>> from genre import explain, load_model, predict
>>> model = load_model()
>>> clip = predict("song.mp3", model, start=30).clips[0]
>>> why = explain.occlusion(model.cnn, clip.mel, clip.genre)
>>> picture = explain.overlay(clip.mel, why.map)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import spectrogram

PATCH = (16, 5)  # mel bands x columns hidden at a time: an eighth of the bands, 0.39 s
STRIDE = PATCH  # side by side: 8 x 8 patches, 64 windows in one batch
FILL_DB = -spectrogram.TOP_DB  # what a hidden patch becomes: silence
DIM = 0.25  # brightness left to the parts of the picture that mattered least


@dataclass
class Saliency:
    """How much each cell of a window supported the verdict on ``genre``."""

    genre: str
    probability: float  # the image CNN's probability of ``genre`` for the whole window
    map: np.ndarray = field(repr=False)  # (128, 39): mean drop of that probability when hidden
    peak_patch: tuple[int, int] = (0, 0)  # (band, column) where the patch that mattered most starts

    @property
    def peak(self) -> float:
        """The largest drop of any patch, in probability (0-1); 0 or less: nothing supported it."""
        return float(self.map.max())

    def region(self) -> tuple[float, float, float, float]:
        """Where the patch that mattered most lies: (from s, to s, low Hz, high Hz) within the clip."""
        band, column = self.peak_patch
        hz = mel_band_edges()
        return (column / spectrogram.COLUMNS_PER_SECOND,
                (column + PATCH[1]) / spectrogram.COLUMNS_PER_SECOND,
                float(hz[band]), float(hz[min(band + PATCH[0], len(hz) - 1)]))


def mel_band_edges() -> np.ndarray:
    """Frequency (Hz) at the lower edge of each of the 128 mel bands, and the top edge last."""
    import librosa

    return librosa.mel_frequencies(spectrogram.N_MELS + 1, fmax=spectrogram.SAMPLE_RATE / 2)


def _starts(size: int, width: int, step: int) -> list[int]:
    starts = list(range(0, size - width + 1, step))
    return starts if starts[-1] == size - width else starts + [size - width]


def occlusion(cnn, window: np.ndarray, genre: str | None = None, patch: tuple[int, int] = PATCH,
              stride: tuple[int, int] = STRIDE) -> Saliency:
    """Occlusion saliency of one dB window for the image CNN.

    Parameters
    ----------
    cnn : Classifier
        The image branch (``model.cnn``): callable on (n, 128, 39) dB windows, with ``genres``.
    window : numpy.ndarray
        One (128, 39) dB window in [-80, 0], as ``Clip.mel``.
    genre : str, optional
        The genre whose probability is explained; by default the CNN's own top genre.
    patch, stride : (int, int)
        Size and step of the hidden patches, in mel bands and columns.

    Returns
    -------
    Saliency
        The drop of ``genre``'s probability for each cell (positive: the cell supported it).
    """
    window = np.asarray(window, dtype=np.float32)
    rows = _starts(window.shape[0], patch[0], stride[0])
    cols = _starts(window.shape[1], patch[1], stride[1])
    spots = [(r, c) for r in rows for c in cols]
    batch = np.repeat(window[None], len(spots) + 1, axis=0)
    for i, (r, c) in enumerate(spots, start=1):
        batch[i, r:r + patch[0], c:c + patch[1]] = FILL_DB
    probs = cnn(batch)
    index = int(probs[0].argmax()) if genre is None else list(cnn.genres).index(genre)
    drops = probs[0, index] - probs[1:, index]
    total = np.zeros(window.shape, np.float64)
    count = np.zeros(window.shape, np.float64)
    for (r, c), drop in zip(spots, drops):
        total[r:r + patch[0], c:c + patch[1]] += drop
        count[r:r + patch[0], c:c + patch[1]] += 1
    return Saliency(cnn.genres[index], float(probs[0, index]), (total / count).astype(np.float32),
                    spots[int(drops.argmax())])


def overlay(window: np.ndarray, importance: np.ndarray, scale: int = 2, stretch: int = 5) -> np.ndarray:
    """The window's magma picture with the parts that mattered least dimmed, the most outlined.

    Parameters
    ----------
    window : numpy.ndarray
        (128, 39) dB, as given to ``occlusion``.
    importance : numpy.ndarray
        ``Saliency.map``: the same shape; only positive values (support for the verdict) light up.
    scale, stretch : int
        Enlargement of the picture, and an extra stretch along time (as the app shows windows).

    Returns
    -------
    numpy.ndarray
        uint8 RGB, (128 * scale, 39 * scale * stretch, 3), low bands at the bottom.
    """
    picture = spectrogram.colorize(window, scale=scale).repeat(stretch, axis=1).astype(np.float32)
    peak = float(np.max(importance))
    weight = np.clip(importance / peak, 0.0, 1.0) if peak > 0 else np.zeros_like(importance)
    weight = weight[::-1].repeat(scale, axis=0).repeat(scale * stretch, axis=1)
    picture *= (DIM + (1 - DIM) * weight)[..., None]
    strong = weight >= 0.5
    edge = strong & ~(np.roll(strong, 1, 0) & np.roll(strong, -1, 0) & np.roll(strong, 1, 1)
                      & np.roll(strong, -1, 1))
    picture[edge] = (94, 234, 212)  # a teal outline around the cells that mattered most
    return picture.round().astype(np.uint8)
