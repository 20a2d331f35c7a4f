"""Fitting the image path's band map (``genre.bands.BandMap``) on songs that exist as audio.

The map turns the CNN's 128 mel bands into the backbone's 96: for each output band a
non-negative least-squares fit over frames of the same moments heard both ways, the 128-band
frames of ``spectrogram`` and the backbone's own front end. ``python -m genre train`` fits it on
the training list's audio only (never the valid list's, whose images it then serves).
"""
from __future__ import annotations

import numpy as np

from .. import backbone, spectrogram
from ..audio import SAMPLE_RATE
from ..bands import BandMap

FIT_FRAMES_PER_CLIP = 400  # backbone frames sampled from each fitting clip (of about 1875)
FIT_SEED = 0


def paired_frames(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same moments of ``samples`` (22 050 Hz) as 128-band power and as backbone 96-band power.

    Returns the 128-band frames nearest each backbone frame, the backbone frames, and all
    the 128-band frames (frames, 128).
    """
    import librosa

    p128 = librosa.feature.melspectrogram(y=samples, sr=SAMPLE_RATE, n_fft=spectrogram.N_FFT,
                                          hop_length=spectrogram.HOP_LENGTH,
                                          n_mels=spectrogram.N_MELS).T  # (frames, 128)
    p96 = backbone.mel_power(backbone.resample(samples))  # (frames16, 96)
    times = np.arange(len(p96)) * backbone.PATCH_HOP / backbone.PATCH_RATE
    nearest = np.minimum(np.round(times * SAMPLE_RATE / spectrogram.HOP_LENGTH).astype(int), len(p128) - 1)
    return p128[nearest], p96, p128


def fit(songs: list[np.ndarray]) -> BandMap:
    """Fit the band map on songs that exist as audio (the GTZAN full clips).

    Each output band is a non-negative least-squares fit (``scipy.optimize.nnls``) on
    frames sampled from every song, each frame scaled to unit total power first: the map is
    linear, so scaling both sides keeps it exact, and quiet frames (which the log
    compression makes as visible as loud ones) weigh as much as loud ones. The reference is
    the median, over 3-s windows, of the window's loudest 128-band bin.
    """
    from scipy.optimize import nnls

    rng = np.random.default_rng(FIT_SEED)
    xs, ys, peaks = [], [], []
    clip_frames = int(spectrogram.CLIP_COLUMNS * spectrogram.FRAMES_PER_COLUMN)
    for samples in songs:
        x128, p96, p128 = paired_frames(samples)
        pick = rng.choice(len(p96), min(FIT_FRAMES_PER_CLIP, len(p96)), replace=False)
        xs.append(x128[pick])
        ys.append(p96[pick])
        peaks += [p128[s:s + clip_frames].max() for s in range(0, len(p128) - clip_frames + 1, clip_frames)]
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys).astype(np.float64)
    unit = 1.0 / (x.sum(axis=1, keepdims=True) + 1e-12)
    x, y = x * unit, y * unit
    weights = np.stack([nnls(x, y[:, j], maxiter=5000)[0] for j in range(y.shape[1])])
    return BandMap(weights.astype(np.float32), float(np.median(peaks)))
