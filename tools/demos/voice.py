"""A small sung voice in numpy: vowels on pitches, for a piece's lead vocal line.

Each sung note is a glottal-like harmonic series at its pitch (with a scoop up into the
note and a vibrato that swells in), shaped by the formants of its vowel, entered from an
"l"-like consonant, and given a short attack and release. Two takes a few cents and
milliseconds apart are layered (a double-tracked vocal) and sent through a small
reverb. It sings wordless syllables ("la", "oh", "ee"), not words: no speech is
synthesised. Deterministic: the same notes give the same samples.
"""

from __future__ import annotations

import numpy as np

from .render import SR

# formants (Hz) and their bandwidths and levels, of a female singer's vowels
VOWELS = {
    "a": ((850, 1220, 2810), (90, 110, 170), (1.0, 0.55, 0.25)),
    "e": ((600, 2000, 2800), (80, 110, 160), (1.0, 0.45, 0.3)),
    "i": ((330, 2700, 3300), (60, 120, 170), (1.0, 0.35, 0.3)),
    "o": ((500, 880, 2800), (80, 90, 160), (1.0, 0.65, 0.15)),
    "u": ((380, 950, 2650), (70, 90, 160), (1.0, 0.4, 0.1)),
}
CONSONANT = ((350, 1250, 2700), (80, 120, 180), (0.6, 0.3, 0.15))  # an "l"-like onset
ONSET_S = 0.05  # the consonant's glide into the vowel
TOP_HZ = 7000.0  # harmonics above this are left out
VIBRATO_HZ, VIBRATO_SEMI = 5.4, 0.25
SCOOP_SEMI, SCOOP_S = -0.7, 0.07  # each note starts this far below its pitch and slides up


def _envelope(freq: np.ndarray, formants) -> np.ndarray:
    """The vocal tract's gain at ``freq``: a sum of resonances."""
    centres, widths, levels = formants
    gain = np.zeros_like(freq)
    for f, b, g in zip(centres, widths, levels):
        gain += g / np.sqrt(1.0 + ((freq - f) / (b / 2)) ** 2)
    return gain


def _note(dur_s: float, pitch: float, vowel: str, cents: float) -> np.ndarray:
    """One sung note, ``dur_s`` long (its release rings 0.08 s past it)."""
    n = int((dur_s + 0.08) * SR)
    t = np.arange(n) / SR
    semis = SCOOP_SEMI * np.exp(-t / SCOOP_S * 3)  # the scoop up into the pitch
    swell = np.clip((t - 0.18) / 0.25, 0.0, 1.0)  # the vibrato swells in after the attack
    semis = semis + VIBRATO_SEMI * swell * np.sin(2 * np.pi * VIBRATO_HZ * t) + cents / 100
    f0 = 440.0 * 2 ** ((pitch - 69 + semis) / 12)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    glide = np.clip(t / ONSET_S, 0.0, 1.0)[:, None]  # consonant -> vowel
    target = VOWELS[vowel]
    out = np.zeros(n)
    for k in range(1, int(TOP_HZ / f0.min()) + 1):
        fk = k * f0
        gain = (1 - glide[:, 0]) * _envelope(fk, CONSONANT) + glide[:, 0] * _envelope(fk, target)
        out += np.where(fk < TOP_HZ, gain / k ** 1.1, 0.0) * np.sin(k * phase)
    attack = np.clip(t / 0.03, 0.0, 1.0)
    release = np.clip((dur_s + 0.08 - t) / 0.08, 0.0, 1.0)
    return out * attack * release


def _reverb(x: np.ndarray, seconds: float = 1.2, wet: float = 0.18) -> np.ndarray:
    """A plain reverb: the signal convolved with decaying noise (a fixed seed)."""
    m = int(seconds * SR)
    tail = np.random.default_rng(7).standard_normal(m) * np.exp(-np.arange(m) / SR * 6.9 / seconds)
    tail /= np.sqrt(np.sum(tail ** 2))
    size = 1 << int(np.ceil(np.log2(len(x) + m)))
    wetx = np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(tail, size), size)[:len(x)]
    return x + wet * wetx


def sing(song, frames: int) -> np.ndarray:
    """The song's ``sung`` notes as a mono track ``frames`` long (silence where it has none).

    ``song.sung`` holds ``(beat, beats, MIDI pitch, vowel, velocity)``.
    """
    out = np.zeros(frames)
    for cents, delay_s, level in ((0.0, 0.0, 1.0), (7.0, 0.018, 0.6)):  # two takes
        for beat, beats, pitch, vowel, vel in song.sung:
            start = song.seconds(beat) + delay_s
            x = _note(song.seconds(beat + beats) - song.seconds(beat), pitch, vowel, cents)
            i = int(start * SR)
            x = x[: max(0, frames - i)]
            out[i:i + len(x)] += x * level * (vel / 100) ** 2
    return _reverb(out)


def mix_singer(raw: np.ndarray, song) -> np.ndarray:
    """Add the song's sung line in the middle of the mix, ``song.singer_db`` over the music's RMS."""
    if not song.sung:
        return raw
    vox = sing(song, len(raw))
    voiced = np.abs(vox) > 1e-3 * np.max(np.abs(vox))
    music_rms = np.sqrt(np.mean(raw ** 2))
    vox *= music_rms * 10 ** (song.singer_db / 20) / max(np.sqrt(np.mean(vox[voiced] ** 2)), 1e-9)
    return raw + vox[:, None] * np.sqrt(0.5)  # centre pan at equal power
