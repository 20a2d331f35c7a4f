"""Sounds that are not music, made on the spot in families, to teach and test the music detector.

Every sound is drawn from its family's parameter ranges with its own generator, seeded by
(seed, family, index), so a family's sounds are the same on every run and a cache of their
embeddings stays valid. Lengths run from 1 to 30 s, mostly short (a user's clip, a notification
sound), and levels from quiet to loud, so that neither length nor level tells music apart.

The test suite makes its own sounds with parameters outside these draws (other voices,
languages, pitches, lengths): keep the held-out values below out of the training draws.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..audio import SAMPLE_RATE
from .speech import babble, speech

FAMILIES = ("noise", "tones", "sweeps", "hum", "clicks", "beeps", "speech", "babble", "hiss", "textures",
            "animals")
VERSION = 2  # part of every cached sound's name: raise it when a family changes
PER_FAMILY = 36  # sounds a family: about 1000 backbone patches in all, a few minutes to embed
LENGTHS = ((1.0, 4.0, 0.5), (4.0, 12.0, 0.3), (12.0, 30.0, 0.2))  # (from s, to s, share): mostly short
PEAK_DB = (-30.0, -1.0)  # peak level drawn in dBFS: quiet to loud


@dataclass
class Sound:
    """One generated sound: its name (family-index), family and 22 050 Hz float32 samples."""

    name: str
    family: str
    samples: np.ndarray


def _length(rng) -> float:
    spans = LENGTHS[rng.choice(len(LENGTHS), p=[s for _, _, s in LENGTHS])]
    return float(rng.uniform(spans[0], spans[1]))


def _t(seconds: float) -> np.ndarray:
    return np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE


def coloured_noise(n: int, slope: float, rng) -> np.ndarray:
    """Noise whose power falls as f**slope (0 white, -1 pink, -2 brown, +1 blue), unit peak."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum *= np.maximum(np.arange(len(spectrum)), 1) ** (slope / 2)
    y = np.fft.irfft(spectrum, n)
    return y / (np.abs(y).max() + 1e-12)


def band_noise(n: int, low: float, high: float, rng) -> np.ndarray:
    """White noise with every frequency outside ``low``-``high`` Hz removed, unit peak."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    spectrum[(f < low) | (f > high)] = 0
    y = np.fft.irfft(spectrum, n)
    return y / (np.abs(y).max() + 1e-12)


def _bursts(n: int, rate: float, length: float, rng, shape=None) -> np.ndarray:
    """Random events at ``rate`` a second, each an enveloped ``shape`` (default noise) ``length`` s long."""
    out = np.zeros(n)
    m = max(int(length * SAMPLE_RATE), 8)
    for start in rng.integers(0, max(n - m, 1), int(rate * n / SAMPLE_RATE) + 1):
        piece = shape(m) if shape else rng.standard_normal(m)
        out[start:start + m] += piece[:n - start] * np.exp(-np.arange(m) / (m / 5))[:n - start] * rng.uniform(0.2, 1)
    return out


def noise(rng, seconds):
    """Coloured noise, brown to blue, sometimes swelling slowly as a fan or the sea."""
    y = coloured_noise(int(seconds * SAMPLE_RATE), rng.uniform(-2.2, 2.0), rng)
    if rng.random() < 0.3:  # slow swells, as a fan or the sea
        y *= 0.6 + 0.4 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * _t(seconds) + rng.uniform(0, 6))
    return y


def tones(rng, seconds):
    """A held chord, or a pure or mixed tone, maybe with vibrato and a little noise."""
    t = _t(seconds)
    if rng.random() < 0.4:  # a held chord of equal-tempered notes
        root = 110 * 2 ** (rng.integers(0, 36) / 12)
        freqs = [root * 2 ** (s / 12) for s in rng.choice([0, 3, 4, 7, 10, 12, 16], rng.integers(2, 5), replace=False)]
    else:  # a pure or mixed tone, partials at random ratios
        freqs = list(np.exp(rng.uniform(np.log(80), np.log(4000), 1 + rng.poisson(0.8))))
    vib = rng.uniform(0, 0.006) * np.sin(2 * np.pi * rng.uniform(3, 7) * t) if rng.random() < 0.3 else 0
    y = sum(np.sin(2 * np.pi * f * t * (1 + vib) + rng.uniform(0, 6)) * rng.uniform(0.3, 1) for f in freqs)
    return y + rng.uniform(0, 0.3) * coloured_noise(len(t), rng.uniform(-2, 0), rng) * rng.integers(0, 2)


def sweeps(rng, seconds):
    """A sine sweeping up or down, evenly in octaves or in hertz, once or repeated."""
    lo, hi = np.exp(rng.uniform(np.log(20), np.log(500))), np.exp(rng.uniform(np.log(2000), np.log(16000)))
    period = seconds / rng.choice([1, 1, 2, 3])  # one sweep, or repeated
    phase = (_t(seconds) % period) / period
    if rng.random() < 0.5:
        phase = 1 - phase  # downwards
    f = lo * (hi / lo) ** phase if rng.random() < 0.6 else lo + (hi - lo) * phase
    return np.sin(2 * np.pi * np.cumsum(f) / SAMPLE_RATE)


def hum(rng, seconds):
    """Mains hum at 50 or 60 Hz with harmonics, sometimes rectified into a buzz, over a little noise."""
    t, base = _t(seconds), rng.choice([50.0, 60.0]) * rng.uniform(0.99, 1.01)
    y = sum(rng.uniform(0, 1) / k ** rng.uniform(0.3, 1.5) * np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6))
            for k in range(1, rng.integers(2, 12)))
    if rng.random() < 0.3:
        y = np.abs(y)  # rectified: a buzz
    return y / (np.abs(y).max() + 1e-12) + rng.uniform(0.01, 0.3) * coloured_noise(len(t), rng.uniform(-1, 0.5), rng)


def clicks(rng, seconds):
    """Clicks (impulses, tone blips or noise): a metronome, maybe accented, or irregular ticks."""
    n = int(seconds * SAMPLE_RATE)
    y = np.zeros(n)
    kind = rng.integers(0, 3)
    m = int(rng.uniform(0.002, 0.04) * SAMPLE_RATE)
    click = (np.sin(2 * np.pi * rng.uniform(800, 4000) * np.arange(m) / SAMPLE_RATE) if kind == 1
             else rng.standard_normal(m) if kind == 2 else np.r_[1.0, np.zeros(m - 1)])
    click = click * np.exp(-np.arange(m) / (m / 4))
    if rng.random() < 0.75:  # a metronome, maybe with an accented first beat
        step, bar = 60 / rng.uniform(40, 240), rng.choice([1, 3, 4])
        starts = [(int(i * step * SAMPLE_RATE), 1.0 if i % bar == 0 else 0.5) for i in range(int(seconds / step) + 1)]
    else:  # irregular ticks, a counter or a clock's escapement gone wrong
        starts = [(int(s), 1.0) for s in rng.uniform(0, n, int(seconds * rng.uniform(1, 15)))]
    for s, gain in starts:
        y[s:s + m] += gain * click[:max(n - s, 0)]
    return y + rng.uniform(0, 0.05) * rng.standard_normal(n)


DTMF_LOW, DTMF_HIGH = (697, 770, 852, 941), (1209, 1336, 1477)


def beeps(rng, seconds):
    """Telephone and device sounds: DTMF dialling, ringing or busy tones, an alarm, or a beeping device."""
    t, kind = _t(seconds), rng.integers(0, 4)
    if kind == 0:  # dialling: DTMF digits
        digit = (t * rng.uniform(3, 8)).astype(int)
        low, high = np.array(DTMF_LOW)[digit * 7 % 4], np.array(DTMF_HIGH)[digit * 5 % 3]
        gate = ((t * rng.uniform(3, 8)) % 1) < 0.6
        return gate * (np.sin(2 * np.pi * low * t) + np.sin(2 * np.pi * high * t))
    if kind == 1:  # ringing or busy tones: two tones, on and off
        f1 = rng.choice([350, 400, 425, 440, 480])
        cadence = rng.uniform(0.5, 6)
        return ((t % cadence) < cadence * rng.uniform(0.3, 0.7)) * (np.sin(2 * np.pi * f1 * t)
                                                                    + np.sin(2 * np.pi * f1 * 1.09 * t))
    if kind == 2:  # an alarm: alternating tones
        f1, f2, rate = rng.uniform(500, 3000), rng.uniform(500, 3000), rng.uniform(1, 8)
        return np.sin(2 * np.pi * np.where((t * rate) % 1 < 0.5, f1, f2) * t)
    f, rate = rng.uniform(400, 4000), rng.uniform(0.5, 6)  # a beeping device
    return (((t * rate) % 1) < rng.uniform(0.1, 0.6)) * np.sin(2 * np.pi * f * t)


def hiss(rng, seconds):
    """Very quiet hiss (peak -65 to -45 dBFS), sometimes with rare faint crackles; ``make`` keeps its level."""
    n = int(seconds * SAMPLE_RATE)
    y = coloured_noise(n, rng.uniform(-1.5, 0.5), rng) * 10 ** (rng.uniform(-65, -45) / 20)
    return y + (rng.random() < 0.3) * _bursts(n, 0.2, 0.005, rng) * 10 ** (-rng.uniform(40, 60) / 20)


def textures(rng, seconds):
    """Rain, wind, applause or a crackling fire, from filtered noise and bursts."""
    n, kind = int(seconds * SAMPLE_RATE), rng.integers(0, 4)
    if kind == 0:  # rain: dense droplets over a wash
        drops = _bursts(n, rng.uniform(50, 400), rng.uniform(0.002, 0.01), rng)
        return drops + rng.uniform(0.1, 0.5) * band_noise(n, 500, 8000, rng)
    if kind == 1:  # wind: low noise with a slowly moving loudness
        swell = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.05, 0.4) * _t(seconds) + rng.uniform(0, 6))
        return band_noise(n, 20, rng.uniform(300, 1500), rng) * (0.2 + swell)
    if kind == 2:  # applause: many hand claps, smoothed (low-passed) by a short window
        claps = _bursts(n, rng.uniform(20, 150), rng.uniform(0.005, 0.02), rng)
        return np.convolve(claps, np.hanning(int(rng.uniform(3, 15))), "same")
    return _bursts(n, rng.uniform(2, 30), 0.003, rng) + 0.05 * band_noise(n, 100, 3000, rng)  # crackling fire


def animals(rng, seconds):
    """Calls with silences between them: bird chirps, trills or crickets, or low croaks and barks."""
    n, kind = int(seconds * SAMPLE_RATE), rng.integers(0, 4)
    y, t = np.zeros(n), 0.0
    while t < seconds:  # calls with silences between them
        m = int(rng.uniform(0.05, 0.6) * SAMPLE_RATE)
        u = np.arange(m) / SAMPLE_RATE
        f0 = rng.uniform(1500, 7000) if kind in (0, 1) else rng.uniform(80, 400)
        if kind == 0:  # a bird's chirp: a fast glide, maybe with a harmonic
            f = f0 * (1 + rng.uniform(-0.5, 0.5) * u / u[-1])
        elif kind == 1:  # a trill or a cricket: a carrier warbling fast
            f = f0 * (1 + 0.05 * np.sin(2 * np.pi * rng.uniform(20, 60) * u))
        else:  # a frog's croak or a bark-like call: low, rough, pulsed
            f = f0 * (1 + 0.1 * np.sign(np.sin(2 * np.pi * rng.uniform(15, 40) * u)))
        phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
        call = np.sin(phase) + rng.uniform(0, 0.5) * np.sin(2 * phase)
        if kind >= 2:
            call += 0.4 * rng.standard_normal(m)
        s = int(t * SAMPLE_RATE)
        y[s:s + m] += (call * np.hanning(m))[:n - s]
        t += m / SAMPLE_RATE + rng.exponential(0.4 if kind < 2 else 0.8)
    return y + rng.uniform(0, 0.05) * coloured_noise(n, -1, rng)


MAKERS = {"noise": noise, "tones": tones, "sweeps": sweeps, "hum": hum, "clicks": clicks, "beeps": beeps,
          "speech": speech, "babble": babble, "hiss": hiss, "textures": textures, "animals": animals}


def make(family: str, index: int, seed: int = 0) -> Sound:
    """The ``index``-th sound of ``family`` for ``seed``: the same samples on every run."""
    rng = np.random.default_rng([seed, FAMILIES.index(family), index])
    seconds = _length(rng)
    y = np.asarray(MAKERS[family](rng, seconds), np.float64)[:int(seconds * SAMPLE_RATE)]
    if family != "hiss":  # hiss keeps its own (very low) level
        y = y / (np.abs(y).max() + 1e-12) * 10 ** (rng.uniform(*PEAK_DB) / 20)
    return Sound(f"{family}-{index:03d}", family, np.clip(y, -1, 1).astype(np.float32))
