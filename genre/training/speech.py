"""Speech-like sounds for the music detector: espeak-ng voices, and formant-synthesised babble.

Speech is the non-music the backbone mistakes most readily (it hears "Hip-Hop"). Two unlike
generators make it, so that leaving one out still leaves speech-like sound in training:
``speech`` (espeak-ng, many languages, variants, speeds and pitches, clean, in a room, over noise or
over a quiet chord) and ``babble`` (syllables from a glottal pulse train through moving vowel
formants, with hissed consonants, pauses and falling intonation; one voice or a crowd).
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
from scipy.signal import fftconvolve, lfilter

from ..audio import SAMPLE_RATE
from ..errors import DataError

# espeak-ng voices and variants drawn for training; the tests use others (it, nl, sv; f5, m3)
SPEECH_LANGS = ("en-us", "en-gb", "en-gb-scotland", "en-029", "de", "fr-fr", "es", "pt", "pl", "ru",
                "cs", "fi", "hu", "ro", "tr")
SPEECH_VARIANTS = ("", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "klatt", "klatt2", "croak")
SPEECH_TEXTS = (
    "Good evening. Here is the news. Heavy rain is expected across the north later tonight.",
    "Please hold the line. Your call is important to us and will be answered shortly.",
    "In this chapter we look at how the early settlers built their houses from local stone.",
    "Turn left at the next junction, then continue straight for about two kilometres.",
    "The meeting has been moved to Thursday at half past three in the second floor room.",
    "Welcome back to the show. Today my guest is a scientist who studies deep sea fish.",
    "Mix the flour and the butter, then add the eggs one at a time and stir gently.",
    "Der Zug nach Hamburg fährt heute mit einer Verspätung von etwa zehn Minuten ab.",
    "Le musée sera fermé lundi prochain pour des travaux de rénovation importants.",
    "El próximo vuelo con destino a Madrid saldrá por la puerta número doce.",
    "Bom dia a todos, hoje vamos falar sobre a história da cidade e do seu porto.",
    "Dzisiaj będzie pochmurno, a wieczorem spadnie deszcz w całym kraju.",
)


def bed_noise(n: int, rng) -> np.ndarray:
    """White to brown noise of unit peak, to speak over."""
    spectrum = np.fft.rfft(rng.standard_normal(n)) * np.maximum(np.arange(n // 2 + 1), 1) ** rng.uniform(-1, 0)
    y = np.fft.irfft(spectrum, n)
    return y / (np.abs(y).max() + 1e-12)


def bed_chord(n: int, rng) -> np.ndarray:
    """A quiet held chord (three equal-tempered notes) of unit peak: speech over music in the background."""
    t, root = np.arange(n) / SAMPLE_RATE, 110 * 2 ** (rng.integers(0, 24) / 12)
    y = sum(np.sin(2 * np.pi * root * 2 ** (s / 12) * t) for s in (0, rng.choice([3, 4]), 7))
    return y / 3


def espeak(text: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Speech from espeak-ng (22 050 Hz) as float samples.

    Raises
    ------
    DataError
        espeak-ng is not installed, or it failed (an unknown voice).
    """
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise DataError("espeak-ng is not installed (apt-get install espeak-ng): the detector's speech needs it.")
    try:
        wav = subprocess.run([exe, "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout", text],
                             capture_output=True, check=True).stdout
    except subprocess.CalledProcessError as exc:
        raise DataError(f"espeak-ng failed for voice {voice!r}: {exc.stderr.decode(errors='replace').strip()}") from exc
    return np.frombuffer(wav[44:len(wav) - (len(wav) - 44) % 2], "<i2").astype(np.float64) / 32768


def speech(rng, seconds):
    """espeak-ng reading four of ``SPEECH_TEXTS`` in a drawn voice, speed and pitch, cut to ``seconds``
    (shorter if the reading is); maybe in a room, then clean, over noise or over a quiet chord.

    Raises
    ------
    DataError
        espeak-ng is not installed, or it failed (``espeak``)."""
    variant = SPEECH_VARIANTS[rng.integers(len(SPEECH_VARIANTS))]
    voice = SPEECH_LANGS[rng.integers(len(SPEECH_LANGS))] + (f"+{variant}" if variant else "")
    text = " ".join(SPEECH_TEXTS[i] for i in rng.permutation(len(SPEECH_TEXTS))[:4])
    y = espeak(text, voice, int(rng.uniform(110, 220)), int(rng.uniform(20, 80)))
    start = rng.integers(0, max(len(y) - int(seconds * SAMPLE_RATE), 1))
    y = y[start:start + int(seconds * SAMPLE_RATE)]
    y = y / (np.abs(y).max() + 1e-12)
    if rng.random() < 0.3:  # a room: an exponentially decaying noise tail
        m = int(rng.uniform(0.1, 0.6) * SAMPLE_RATE)
        tail = rng.standard_normal(m) * np.exp(-np.linspace(0, 8, m))
        y = fftconvolve(y, np.r_[1.0, rng.uniform(0.5, 2) * tail / m ** 0.5])[:len(y)]
    under = rng.integers(0, 3)  # clean, over noise, or over a quiet held chord
    if under == 1:
        y = y + 10 ** (-rng.uniform(5, 25) / 20) * bed_noise(len(y), rng)
    elif under == 2:
        y = y + 10 ** (-rng.uniform(15, 30) / 20) * bed_chord(len(y), rng)
    return y


VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410),
          (660, 1720, 2410), (440, 1020, 2240), (490, 1350, 1690))  # Hz: (F1, F2, F3) of eight vowels


def resonator(x: np.ndarray, freq: float, bandwidth: float) -> np.ndarray:
    """A two-pole resonance at ``freq`` (a formant), unit gain at its peak."""
    r = np.exp(-np.pi * bandwidth / SAMPLE_RATE)
    a = [1.0, -2 * r * np.cos(2 * np.pi * freq / SAMPLE_RATE), r * r]
    return lfilter([1 - r], a, x)


def voice(rng, seconds: float) -> np.ndarray:
    """One formant-synthesised talker: syllables, words and pauses, intonation falling per phrase."""
    n, y, t = int(seconds * SAMPLE_RATE), np.zeros(int(seconds * SAMPLE_RATE)), 0.0
    f0, scale = rng.uniform(85, 260), rng.uniform(0.85, 1.2)  # a man, a woman or a child; vocal tract size
    while t < seconds:
        phrase, start = rng.uniform(1, 4), t
        while t < min(start + phrase, seconds):
            m = int(rng.uniform(0.08, 0.3) * SAMPLE_RATE)
            pitch = f0 * (1.15 - 0.3 * (t - start) / phrase) * (1 + 0.02 * rng.standard_normal())
            source = (np.diff(np.floor(np.cumsum(np.full(m + 1, pitch / SAMPLE_RATE)))) > 0).astype(float)
            source += rng.uniform(0.01, 0.1) * rng.standard_normal(m)  # breath
            vowel = VOWELS[rng.integers(len(VOWELS))]
            syl = sum(resonator(source, f * scale, 60 + 40 * i) / (i + 1) for i, f in enumerate(vowel))
            if rng.random() < 0.4:  # a hissed consonant before the vowel: s, sh, f
                k = int(rng.uniform(0.04, 0.12) * SAMPLE_RATE)
                syl = np.r_[0.3 * resonator(rng.standard_normal(k), rng.uniform(2500, 7000), 1500), syl]
            s = int(t * SAMPLE_RATE)
            piece = syl * np.hanning(len(syl)) ** 0.5
            y[s:s + len(piece)] += piece[:max(n - s, 0)]
            t += len(piece) / SAMPLE_RATE + rng.exponential(0.03)
        t += rng.uniform(0.2, 0.9)  # a pause between phrases
    return y / (np.abs(y).max() + 1e-12)


def babble(rng, seconds):
    """One talker, or a crowd of them, maybe in a room."""
    talkers = 1 if rng.random() < 0.6 else rng.integers(2, 8)
    y = sum(voice(rng, seconds) * rng.uniform(0.4, 1) for _ in range(talkers))
    if rng.random() < 0.3:
        m = int(rng.uniform(0.1, 0.6) * SAMPLE_RATE)
        y = fftconvolve(y, np.r_[1.0, rng.standard_normal(m) * np.exp(-np.linspace(0, 8, m)) / m ** 0.5])[:len(y)]
    return y
