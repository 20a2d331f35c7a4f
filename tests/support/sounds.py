"""Sounds made on the spot, and ffmpeg to encode them: no recording is stored in the repository."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np

from genre import audio

SR = audio.SAMPLE_RATE  # 22050 Hz, the model's own rate
SONG_RATE = 44100  # Hz, what a music file usually has


def tone(seconds: float, freq: float = 440.0, sr: int = SR, noise: float = 0.05, seed: int = 0) -> np.ndarray:
    """A tone with a little noise and an amplitude wobble, float32 in [-1, 1]."""
    t = np.arange(int(seconds * sr)) / sr
    rng = np.random.default_rng(seed)
    y = 0.5 * np.sin(2 * np.pi * freq * t) * (0.75 + 0.25 * np.sin(2 * np.pi * 0.5 * t))
    return (y + noise * rng.standard_normal(len(t))).astype(np.float32)


def synth(seconds: float, seed: int, sr: int = SONG_RATE) -> np.ndarray:
    """A distinct little mono piece: a chord on a seed-chosen root, a beat of noise bursts."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    root = 80.0 * 2 ** (rng.integers(0, 24) / 12)
    chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 1.25, 1.5)) * 0.15
    beat = (t * rng.uniform(1.5, 2.5)) % 1
    drums = rng.standard_normal(len(t)) * np.exp(-beat * rng.uniform(10, 40)) * rng.uniform(0.05, 0.4)
    return (chord + drums).astype(np.float32)


def band(seconds: float, bpm: float, roots, decay: float, rng: np.random.Generator,
         sr: int = SONG_RATE) -> np.ndarray:
    """A stereo (frames, 2) song: four chords a bar over ``roots``, a bass line, noise drums."""
    t = np.arange(int(seconds * sr), dtype=np.float64) / sr
    beat = (t * bpm / 60) % 1
    root = np.asarray(roots, np.float64)[(t // (240 / bpm)).astype(int) % len(roots)]
    chord = sum(np.sin(2 * np.pi * root * r * t) for r in (1, 1.26, 1.5, 2)) * 0.1
    drums = rng.standard_normal(len(t)) * np.exp(-beat * decay) * 0.3
    left, right = chord + drums, chord * 0.8 + drums + 0.1 * np.sin(2 * np.pi * root / 2 * t)
    return np.stack([left, right], 1)


def encode(samples: np.ndarray, path: Path, sr: int = SR, args=()) -> Path:
    """Encode float samples, mono or (frames, channels), to ``path`` with ffmpeg; format by suffix."""
    samples = np.asarray(samples)
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", "-f", "s16le", "-ar", str(sr),
                    "-ac", str(channels), "-i", "pipe:0", *args, str(path)], input=pcm, check=True)
    return path


def medley(path: Path, seconds: float, first: int = 0, bitrate: str = "192k") -> Path:
    """A song-like MP3 of real music: the project's demo tracks (CC0, 44.1 kHz stereo) one after
    another from the ``first``-th (wrapping round), cut at ``seconds``, encoded at ``bitrate``.

    For benchmarks that time what a user's song costs: generated chords are, rightly, not music
    to the model, and it hears a not-music song twice ("Two hearings", model/README.md).
    """
    from . import ROOT

    demos = sorted((ROOT / "assets" / "demo").glob("*.mp3"))
    order = [demos[(first + i) % len(demos)] for i in range(len(demos))]
    inputs = [arg for demo in order for arg in ("-i", str(demo))]
    chain = "".join(f"[{i}:a]" for i in range(len(order))) + f"concat=n={len(order)}:v=0:a=1[a]"
    subprocess.run([audio.ffmpeg_path(), "-v", "error", "-y", *inputs, "-filter_complex", chain, "-map", "[a]",
                    "-t", f"{seconds:g}", "-ar", str(SONG_RATE), "-ac", "2", "-b:a", bitrate, str(path)], check=True)
    return path


def music(seconds: float, start: float = 0.0, demo: str = "jazz.mp3") -> np.ndarray:
    """Real music at the model's rate: a stretch of one of the project's own demo tracks (CC0).

    Generated tones and chords are, rightly, "not music" to the model; a test that wants a verdict
    on music uses this.
    """
    from . import ROOT

    return audio.decode(ROOT / "assets" / "demo" / demo, start=start, duration=seconds)
