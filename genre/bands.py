"""The image path: the CNN's 128-band dB window (an image or rendered audio) -> a backbone patch.

The 639 GTZAN images are 128 mel bands of 22 050-Hz audio at 12.9 columns a second, in dB
under the loudest bin; musicnn hears 96 bands of 16-kHz audio at 62.5 frames a second, in
absolute log power. Three steps bridge them:

1. dB -> power, times one constant reference (``BandMap.reference``): the images only know
   levels under each window's loudest bin, so a window's loudest bin is given the typical
   loudness of a music window's loudest bin;
2. a linear, non-negative map from the 128 bands to the 96 (``BandMap.weights``), fitted by
   least squares per output band on the clips that exist as audio, against the backbone's
   own front end on the same audio;
3. each column repeated over the backbone frames it covers (39 columns -> 187 frames).

The same function serves images and audio (audio goes through ``spectrogram.render`` first),
so the image-path head sees one representation whatever the input.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import backbone, spectrogram
from .audio import SAMPLE_RATE

FIT_FRAMES_PER_CLIP = 400  # backbone frames sampled from each fitting clip (of about 1875)
FIT_SEED = 0


def column_of_frame() -> np.ndarray:
    """For each of the backbone's 187 frames, the image column (of 39) nearest in time."""
    column_times = spectrogram.column_frames(spectrogram.CLIP_COLUMNS) * spectrogram.HOP_LENGTH / SAMPLE_RATE
    frame_times = np.arange(backbone.PATCH_FRAMES) * backbone.PATCH_HOP / backbone.PATCH_RATE
    return np.abs(frame_times[:, None] - column_times[None]).argmin(axis=1)


_COLUMNS = column_of_frame()


@dataclass(frozen=True)
class BandMap:
    """128 -> 96 band weights (96, 128), non-negative, and the reference power of 0 dB."""

    weights: np.ndarray
    reference: float

    def patch(self, window_db: np.ndarray) -> np.ndarray:
        """A (128, 39) dB window -> the backbone's (187, 96) log-mel patch."""
        power = 10.0 ** (np.asarray(window_db, np.float32) / 10.0) * self.reference  # (128, 39)
        mel96 = (self.weights @ power).T  # (39, 96)
        return backbone.compress(mel96[_COLUMNS])

    def patches(self, windows_db: np.ndarray) -> np.ndarray:
        """Many windows (n, 128, 39) -> patches (n, 187, 96)."""
        return np.stack([self.patch(w) for w in windows_db])

    def save(self, path) -> None:
        """Write the map to ``path`` as JSON (weights rounded to 8 decimals), for ``load``."""
        Path(path).write_text(json.dumps({"reference": self.reference,
                                          "weights": np.round(self.weights, 8).tolist()}) + "\n")

    @classmethod
    def load(cls, path) -> "BandMap":
        """The map that ``save`` wrote to ``path``."""
        info = json.loads(Path(path).read_text())
        return cls(np.asarray(info["weights"], np.float32), float(info["reference"]))


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
