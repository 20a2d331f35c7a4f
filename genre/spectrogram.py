"""Rendering: audio -> the 128-band dB mel spectrogram the CNN sees, exactly as the training images.

The training images (see ``../shared/data/gtzan/README.md``) are librosa mel spectrograms
(n_fft 2048, hop 512, 128 bands, ``power_to_db(ref=np.max)``, 80 dB range) drawn with
``specshow`` into a 5x5-inch figure at 100 dpi. Matplotlib's default axes span 77.5 % of
the width and 77 % of the height, so the 1293 frames of a 30-s clip land on 387.5 pixel
columns and the 128 bands on 385 pixel rows. Each pixel column therefore shows a single
STFT frame, ``floor((c + 0.5) * 1293 / 387.5)``, and each colour one of 256 levels over
[-80, 0] dB. This module computes exactly those frames and levels from audio, and reads
them back from the images, so that training and prediction see the same numbers.

Loudness: an image's 0 dB is the loudest bin of its whole clip; a 3-s window of a long
song has no such reference. Every window is therefore re-referenced to its own loudest
bin (``window_db``), both when cut from an image in training and when rendered from audio.
"""
from __future__ import annotations

import functools

import numpy as np
import librosa

from .audio import CLIP_SAMPLES, SAMPLE_RATE

N_FFT = 2048
HOP_LENGTH = 512  # samples between STFT frames
N_MELS = 128
TOP_DB = 80.0  # dynamic range: the floor is -80 dB under the loudest bin
LEVELS = 256  # colours in the training images' colour map
DB_STEP = TOP_DB / LEVELS  # 0.3125 dB per level
IMAGE_FRAMES = 1293  # frames of a 30-s GTZAN clip
IMAGE_AXES_WIDTH = 387.5  # pixels: 0.775 * 5 in * 100 dpi
IMAGE_AXES_HEIGHT = 385  # pixels: 0.77 * 5 in * 100 dpi
FRAMES_PER_COLUMN = IMAGE_FRAMES / IMAGE_AXES_WIDTH  # 3.3368, so 12.9 columns a second
COLUMNS_PER_SECOND = SAMPLE_RATE / HOP_LENGTH / FRAMES_PER_COLUMN  # 12.91
CLIP_COLUMNS = round(CLIP_SAMPLES / HOP_LENGTH / FRAMES_PER_COLUMN)  # 39

_WINDOW = librosa.filters.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
_MEL_BASIS = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)
librosa.power_to_db(np.ones((1, 1), np.float32))  # librosa imports lazily: pay that here, not per request


def column_frames(n_columns: int, frames_per_column: float = FRAMES_PER_COLUMN) -> np.ndarray:
    """STFT frame index shown by each of the first ``n_columns`` pixel columns."""
    return np.floor((np.arange(n_columns) + 0.5) * frames_per_column).astype(np.int64)


def n_columns(n_samples: int) -> int:
    """How many columns audio of ``n_samples`` samples fills (387 for a 30-s clip)."""
    n_frames = 1 + n_samples // HOP_LENGTH  # librosa's count with center=True
    return int(np.searchsorted(column_frames(int(n_frames / FRAMES_PER_COLUMN) + 2), n_frames))


def mel_levels(samples: np.ndarray, start: int = 0, columns: int | None = None,
               frames_per_column: float = FRAMES_PER_COLUMN) -> np.ndarray:
    """Mel spectrogram of ``samples`` at the image columns, as levels 0..255 (255 = loudest bin).

    Parameters
    ----------
    samples : numpy.ndarray
        Mono float32 audio at ``SAMPLE_RATE``: a whole song or a clip.
    start : int
        First sample of the window; frames see the audio around it, as in a whole-song render.
    columns : int, optional
        Columns to render; by default as many as the audio from ``start`` fills.
    frames_per_column : float
        Column spacing in frames. An image squeezes any clip into 387.5 columns, so a clip
        of other than 1293 frames needs ``n_frames / IMAGE_AXES_WIDTH`` to match its image.

    Returns
    -------
    numpy.ndarray
        uint8 array of shape (``N_MELS``, columns), lowest band first, referenced to its own
        loudest bin, exactly as ``librosa.power_to_db(ref=np.max)`` quantised by the images.
    """
    if columns is None:
        columns = n_columns(len(samples) - start)
    centres = start + column_frames(columns, frames_per_column) * HOP_LENGTH
    lo, hi = centres[0] - N_FFT // 2, centres[-1] + N_FFT // 2
    # Zero-pad only where the window passes the ends of the audio (librosa's center=True).
    segment = samples[max(lo, 0):min(hi, len(samples))]
    segment = np.pad(segment, (max(-lo, 0), max(hi - len(samples), 0)))
    frames = segment[(centres - N_FFT // 2 - lo)[:, None] + np.arange(N_FFT)]
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    mel = _MEL_BASIS @ power.T.astype(np.float32)
    db = librosa.power_to_db(mel, ref=np.max, top_db=TOP_DB)
    return db_to_levels(db)


def image_levels_from_audio(samples: np.ndarray) -> np.ndarray:
    """Levels exactly as a GTZAN mel image shows a whole clip: all (128, 387) of its pixels.

    This is the images' recipe itself (``librosa.feature.melspectrogram`` over the whole
    clip, 0 dB at its loudest bin, colours spread from its quietest bin to 0 dB), used to
    prove that ``mel_levels`` and the images agree; prediction uses ``render``.
    """
    mel = librosa.feature.melspectrogram(y=samples, sr=SAMPLE_RATE, n_fft=N_FFT,
                                         hop_length=HOP_LENGTH, n_mels=N_MELS)
    db = librosa.power_to_db(mel, ref=np.max, top_db=TOP_DB)
    floor = db.min()  # matplotlib maps the image's own minimum to the first colour
    scaled = (db - floor) / (0.0 - floor) * LEVELS
    levels = np.clip(np.floor(scaled), 0, LEVELS - 1).astype(np.uint8)
    frames = column_frames(int(IMAGE_AXES_WIDTH), mel.shape[1] / IMAGE_AXES_WIDTH)
    return levels[:, frames]


def db_to_levels(db: np.ndarray) -> np.ndarray:
    """Quantise dB in [-80, 0] to the images' 256 colour levels, as matplotlib's colour map does."""
    return np.clip(np.floor((db + TOP_DB) / TOP_DB * LEVELS), 0, LEVELS - 1).astype(np.uint8)


def window_db(levels: np.ndarray) -> np.ndarray:
    """Model input for a window of levels: dB under the window's own loudest bin, in [-79.7, 0]."""
    levels = levels.astype(np.float32)
    return (levels - levels.max(axis=(-2, -1), keepdims=True)) * DB_STEP


def fit_columns(levels: np.ndarray, columns: int = CLIP_COLUMNS) -> np.ndarray:
    """Crop, or repeat (wrap) a short window, to exactly ``columns`` columns."""
    if levels.shape[-1] >= columns:
        return levels[..., :columns]
    reps = -(-columns // levels.shape[-1])
    return np.concatenate([levels] * reps, axis=-1)[..., :columns]


def cut_window(levels: np.ndarray, start: int = 0, width: int = CLIP_COLUMNS) -> np.ndarray:
    """Model input from ``width`` columns of levels at ``start`` (an image or a whole clip)."""
    return window_db(fit_columns(levels[:, start:start + width]))


def render(samples: np.ndarray, start: int = 0) -> np.ndarray:
    """The model's input for the 3-s clip at ``start``: float32 dB of shape (128, 39).

    Audio shorter than a clip fills fewer columns; they are repeated to fill the clip, so
    training (``fit_columns`` on image windows) and prediction treat short audio alike.
    """
    available = n_columns(min(len(samples) - start, CLIP_SAMPLES))
    return cut_window(mel_levels(samples, start, min(available, CLIP_COLUMNS)))


@functools.lru_cache(maxsize=1)
def magma_lut() -> np.ndarray:
    """The images' colour map: matplotlib's 256 magma colours as uint8 RGB, level 0 first."""
    from matplotlib import colormaps  # only reading images and showing them need colour

    return (np.asarray(colormaps["magma"].colors) * 255).round().astype(np.uint8)


def colorize(db: np.ndarray, scale: int = 3) -> np.ndarray:
    """An RGB picture of a dB window for people: magma, low bands at the bottom, enlarged."""
    index = np.clip(np.floor((db + TOP_DB) / DB_STEP), 0, LEVELS - 1).astype(np.int64)
    picture = magma_lut()[index[::-1]]
    return picture.repeat(scale, axis=0).repeat(scale, axis=1)
