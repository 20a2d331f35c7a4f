"""Music or not: a small detector on what the model has already heard, so noise, tones and speech
come back "not music" instead of a genre.

Its evidence is the backbone's clean-audio embeddings, pooled features and tags that
``GenreModel.branches`` computed anyway, the model's own (n, 128, 39) dB windows, the 3-s clips' samples
and the song's pulse clarity. From these, ``features`` makes one vector per song:

* the mean clip embedding (200), pooled features (1506) and tags (50): what the backbone, trained
  on music, hears. The pooled features hold more than the 200 units squeezed from them for
  last.fm tags; with them, music of artists never heard is called not music a third as often
  (``python -m bench.detector``);
* ``STATS``: cheap signal statistics that music, noise, tones and speech differ in (a few ms).

A logistic head on the standardised vector (and, where the file holds one, a distance to the
nearest genre's Gaussian on the embedding) decides. Its parameters are ``model/detector.npz``,
fitted by ``python -m genre train-detector`` (``genre.training.detector``); without that file the
model has no detector and behaves as before. Audio only: mel images have no samples.

The model hears every song at the level of the music it learned from (``audio.normalise``). If
the detector calls a song whose level was changed not music, it hears it once more as recorded (one
more backbone pass, for those songs only), and says "not music" only if it is not music at both
levels: it learned from GTZAN's music as recorded and from quieter crops of it
(``python -m bench.level``).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import LEVEL_FLOOR, SAMPLE_RATE, level_db
from .backbone import EMBEDDING_UNITS, POOL_UNITS, TAGS
from .errors import ModelError

DETECTOR_FILE = "detector.npz"
STATS = ("flatness", "flatness_spread", "flux", "loudness_spread", "peakiness", "gaps", "syllabic",
         "clip_variety", "clip_level_spread", "pulse", "no_pulse")
FRAME = SAMPLE_RATE // 50  # 441 samples: 20-ms frames for the clip's loudness envelope
GAP_DB = 30.0  # a frame this far under the clip's loudest is a pause (speech pauses, music rarely does)
SYLLABIC_HZ = (2.0, 8.0)  # loudness modulation of syllables, against all of 0.5-20 Hz
FEATURES = EMBEDDING_UNITS + POOL_UNITS + len(TAGS) + len(STATS)  # 200 + 1506 + 50 + 11 = 1767


@dataclass
class Hearing:
    """The detector's view of one song: how likely it is not music, and its decision."""

    score: float  # the logistic head's probability that it is not music
    distance: float | None  # Mahalanobis distance to the nearest genre's Gaussian, where used
    not_music: bool
    gain_db: float = 0.0  # how much louder than recorded the model heard the song (``audio.normalise``)
    recorded_score: float | None = None  # ``score`` as recorded, where the song was heard again


def _clip_stats(window: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Seven statistics of one clip: from its dB window (128, 39) and its samples."""
    power = np.maximum(10 ** (window / 10.0), LEVEL_FLOOR)  # (bands, frames)
    log_flat = np.log(power).mean(axis=0) - np.log(power.mean(axis=0))  # 0 for white, very negative for a tone
    frame_db = 10 * np.log10(power.mean(axis=0))
    flux = np.abs(np.diff(window, axis=1)).mean() / 10 if window.shape[1] > 1 else 0.0
    peak = (window.max(axis=0) - np.median(window, axis=0)).mean() / 10
    frames = np.asarray(clip[:len(clip) // FRAME * FRAME], np.float64).reshape(-1, FRAME)
    rms_db = 10 * np.log10((frames ** 2).mean(axis=1) + LEVEL_FLOOR)
    gaps = float((rms_db < rms_db.max() - GAP_DB).mean())
    envelope = 10 ** (rms_db / 20)
    spectrum = np.abs(np.fft.rfft(envelope - envelope.mean())) ** 2
    f = np.fft.rfftfreq(len(envelope), FRAME / SAMPLE_RATE)
    total = spectrum[(f >= 0.5) & (f <= 20)].sum()
    syllabic = spectrum[(f >= SYLLABIC_HZ[0]) & (f <= SYLLABIC_HZ[1])].sum() / total if total > 0 else 0.0
    return np.array([log_flat.mean(), log_flat.std(), flux, frame_db.std() / 10, peak, gaps, syllabic])


def features(embedding: np.ndarray, pool: np.ndarray, tags: np.ndarray, windows: np.ndarray,
             clips: list[np.ndarray], pulse: float | None) -> np.ndarray:
    """One song's detector features: mean embedding (200), pooled features (1506), tags (50), ``STATS``.

    Parameters
    ----------
    embedding, pool, tags : numpy.ndarray
        The backbone's clean-audio (n, 200) embeddings, (n, 1506) pooled features and (n, 50) tags
        of the song's clips (``backbone.Heard``).
    windows : numpy.ndarray
        The (n, 128, 39) dB windows of the same clips.
    clips : list of numpy.ndarray
        The clips' samples (22 050 Hz; a short song's one clip is shorter than 3 s), at the level
        the heads hear them (``audio.normalise``) or, heard again, as recorded (``GenreModel.hear``).
    pulse : float or None
        ``rhythm.pulse_clarity`` of the song, None under 6 s.
    """
    embedding = np.asarray(embedding, np.float64)
    per_clip = np.stack([_clip_stats(w, c) for w, c in zip(windows, clips)])
    levels = [level_db(c) for c in clips]
    song = [embedding.std(axis=0).mean(), np.std(levels) / 10,
            0.0 if pulse is None else pulse, float(pulse is None)]
    return np.concatenate([embedding.mean(axis=0), np.asarray(pool, np.float64).mean(axis=0),
                           np.asarray(tags, np.float64).mean(axis=0), per_clip.mean(axis=0), song])


@dataclass
class Detector:
    """Fitted parameters: a logistic head on standardised features, and optionally genre Gaussians."""

    mean: np.ndarray  # (d,) feature standardisation
    scale: np.ndarray  # (d,)
    coef: np.ndarray  # (d,) logistic weights on standardised features; positive leans "not music"
    bias: float
    threshold: float  # not music when the score is above this
    # the Gaussian distance reads the first 200 features (the mean embedding):
    centres: np.ndarray | None = None  # (genres, 200) mean embeddings, for the Gaussian distance
    precision: np.ndarray | None = None  # (200, 200) inverse of the shrunk pooled covariance
    distance_above: float = np.inf  # not music when the nearest genre is farther than this

    def score(self, x: np.ndarray) -> np.ndarray:
        """Probability of "not music" for features ``x`` (d,) or (m, d)."""
        z = (np.asarray(x, np.float64) - self.mean) / self.scale
        return 1 / (1 + np.exp(-np.clip(z @ self.coef + self.bias, -50, 50)))

    def distance(self, x: np.ndarray) -> np.ndarray | None:
        """Mahalanobis distance of the mean embedding (first 200 features) to the nearest genre."""
        if self.centres is None:
            return None
        e = np.atleast_2d(np.asarray(x, np.float64))[:, :self.centres.shape[1]]
        d = e[:, None, :] - self.centres[None]
        return np.sqrt(np.einsum("mgi,ij,mgj->mg", d, self.precision, d).min(axis=1))

    def hear(self, x: np.ndarray) -> Hearing:
        """The decision on one song's features."""
        score = float(self.score(x))
        distance = None if self.centres is None else float(self.distance(x)[0])
        far = distance is not None and distance > self.distance_above
        return Hearing(score, distance, score > self.threshold or far)

    def hear_as_recorded(self, heard: Hearing, x: np.ndarray, gain: float) -> Hearing:
        """``heard`` (a song heard ``gain`` dB louder than recorded, or quieter where negative) with
        the decision on ``x``, its features as recorded: not music only if it is not music at both levels."""
        again = self.hear(x)
        return Hearing(heard.score, heard.distance, heard.not_music and again.not_music, gain, again.score)


def save(detector: Detector, path) -> Path:
    """Write ``detector`` to ``path`` (an ``.npz``)."""
    arrays = {k: np.asarray(v, np.float64) for k, v in vars(detector).items() if v is not None}
    np.savez(path, **arrays)
    return Path(path)


def load(folder) -> Detector | None:
    """The detector in ``folder`` (``DETECTOR_FILE``), or None where there is none (detector off)."""
    path = Path(folder) / DETECTOR_FILE
    if not path.exists():
        return None
    with np.load(path) as z:
        found = {k: z[k] for k in z.files}
    for key in ("bias", "threshold", "distance_above"):
        if key in found:
            found[key] = float(found[key])
    if found["mean"].shape != (FEATURES,):
        raise ModelError(f"{path} reads {found['mean'].shape[0]} features, this code makes {FEATURES}: "
                         "retrain it with `python -m genre train-detector --data DATA --out "
                         f"{Path(folder)}` (the command is in detector.json).")
    return Detector(**found)
