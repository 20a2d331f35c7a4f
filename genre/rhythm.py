"""Pulse: how steady a beat a song has, the one thing speech never has and dance music always does.

The backbone was trained on music only; it hears speech as "Hip-Hop" and the heads follow
it. A classic speech/music cue settles it: music with a beat repeats its onsets at a
steady period, speech does not. ``pulse_clarity`` is the highest normalised
autocorrelation of the onset-strength envelope at periods of 0.25-1.5 s (40-240 bpm).
Measured on the GTZAN whole clips: hip-hop 0.30-0.76, disco 0.51+, reggae 0.59+, pop 0.27+;
synthetic speech (espeak-ng) 0.12-0.25. Jazz and classical often have little (0.07+), so
the check only doubts a verdict of a genre whose training music always had a beat.
"""
from __future__ import annotations

import numpy as np

from .audio import SAMPLE_RATE

ONSET_HOP = 512  # onset envelope at 43 frames a second
MIN_PERIOD, MAX_PERIOD = 0.25, 1.5  # seconds: 240 to 40 bpm
PULSE_MIN_SECONDS = 6.0  # shorter audio holds too few periods to judge
PULSE_MAX_SECONDS = 30.0  # the first 30 s say enough, at about 20 ms of work


def pulse_clarity(samples: np.ndarray) -> float | None:
    """Beat strength in [0, 1] of the first 30 s of ``samples`` (22 050 Hz), or None if under 6 s."""
    import librosa

    samples = np.asarray(samples[:int(PULSE_MAX_SECONDS * SAMPLE_RATE)], np.float32)
    if len(samples) < PULSE_MIN_SECONDS * SAMPLE_RATE:
        return None
    envelope = librosa.onset.onset_strength(y=samples, sr=SAMPLE_RATE, hop_length=ONSET_HOP)
    envelope = envelope - envelope.mean()
    ac = librosa.autocorrelate(envelope)
    if ac[0] <= 0:
        return 0.0
    fps = SAMPLE_RATE / ONSET_HOP
    return float((ac[int(MIN_PERIOD * fps):int(MAX_PERIOD * fps) + 1] / ac[0]).max())
