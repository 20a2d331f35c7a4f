"""The image path: the CNN's 128-band dB window (an image or rendered audio) -> a backbone patch.

The 639 GTZAN images are 128 mel bands of 22 050-Hz audio at 12.9 columns a second, in dB
under the loudest bin; musicnn hears 96 bands of 16-kHz audio at 62.5 frames a second, in
absolute log power. Three steps bridge them:

1. dB -> power, times one constant reference (``BandMap.reference``): the images only know
   levels under each window's loudest bin, so a window's loudest bin is given the typical
   loudness of a music window's loudest bin;
2. a linear, non-negative map from the 128 bands to the 96 (``BandMap.weights``), fitted by
   least squares per output band on the clips that exist as audio, against the backbone's
   own front end on the same audio (``genre.training.bands``);
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
