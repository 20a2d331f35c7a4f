"""Pulse clarity: a steady beat scores high, noise and short audio do not."""
import numpy as np

from genre import audio, rhythm

SR = audio.SAMPLE_RATE


def clicks(bpm: float, seconds: float = 12.0) -> np.ndarray:
    y = 0.01 * np.random.default_rng(0).standard_normal(int(seconds * SR)).astype(np.float32)
    for t in np.arange(0, seconds, 60.0 / bpm):
        i = int(t * SR)
        y[i:i + 200] += np.hanning(200).astype(np.float32) * 0.8
    return y


def test_a_steady_beat_has_a_clear_pulse_and_noise_has_none():
    beat = rhythm.pulse_clarity(clicks(120))
    noise = rhythm.pulse_clarity(0.3 * np.random.default_rng(1).standard_normal(12 * SR).astype(np.float32))
    assert 0.0 <= noise < 0.3 < 0.6 < beat <= 1.0


def test_slow_and_fast_tempi_inside_the_range_are_found():
    assert rhythm.pulse_clarity(clicks(60)) > 0.6 and rhythm.pulse_clarity(clicks(180)) > 0.6


def test_too_short_audio_has_no_verdict():
    assert rhythm.pulse_clarity(clicks(120, seconds=4.0)) is None
