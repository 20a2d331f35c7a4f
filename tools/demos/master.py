"""Production and delivery: EQ, saturation, peak limiting and level, then MP3 by ffmpeg."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .render import SR, run
from .score import Song

PEAK_DBFS = -1.0  # the peak level of every demo
BITRATE = "160k"  # libmp3lame's bit rate
FADE_S = 0.8  # raised-cosine fade over the very end of the tail
LIMIT_BLOCK = 64  # frames a gain step of the limiter covers
LIMIT_RELEASE_S = 0.12
SOURCE = "tools/demos"  # where the MP3's comment says the piece was composed


def dbfs(x: float) -> float:
    """An amplitude in dB against full scale (1.0); silence reads -240 dB, not -inf."""
    return 20 * math.log10(max(x, 1e-12))


def limit(x: np.ndarray, drive_db: float, block: int = LIMIT_BLOCK,
          release_s: float = LIMIT_RELEASE_S) -> np.ndarray:
    """Brick-wall look-ahead peak limiter: peaks above (peak - ``drive_db``) are pulled down.

    The gain is worked out a block at a time from the loudest frame of the block and its
    neighbours (the look-ahead), drops at once and recovers with ``release_s``, and is
    interpolated between block centres, so no step is heard.

    Parameters
    ----------
    x : numpy.ndarray
        Audio, (frames, channels).
    drive_db : float
        How far the peaks are pushed into the limiter; 0 or less returns ``x`` unchanged.
    """
    if drive_db <= 0:
        return x
    thr = np.max(np.abs(x)) * 10 ** (-drive_db / 20)
    env = np.max(np.abs(x), axis=1)
    nb = -(-len(env) // block)
    env = np.pad(env, (0, nb * block - len(env))).reshape(nb, block).max(axis=1)
    env = np.maximum(env, np.concatenate([env[1:], env[-1:]]))
    env = np.maximum(env, np.concatenate([env[:1], env[:-1]]))
    target = np.minimum(1.0, thr / np.maximum(env, 1e-12))
    coef = math.exp(-block / (release_s * SR))
    gain, cur = np.empty(nb), 1.0
    for i, tg in enumerate(target):
        cur = tg if tg < cur else tg + (cur - tg) * coef
        gain[i] = cur
    centres = (np.arange(nb) + 0.5) * block
    return x * np.interp(np.arange(len(x)), centres, gain)[:, None]


def tone(x: np.ndarray, low_hz: float, high_hz: float) -> np.ndarray:
    """Band-limit a mix, as a studio's EQ or an older record does.

    Gentle 12 dB/octave slopes under ``low_hz`` and over ``high_hz``, zero-phase (by FFT),
    so the transients stay where they were. The full band (20 Hz-20 kHz) returns ``x``.
    """
    if low_hz <= 20 and high_hz >= 20000:
        return x
    f = np.fft.rfftfreq(len(x), 1 / SR)
    gain = 1 / (1 + (f / high_hz) ** 4) ** 0.5 / (1 + (low_hz / np.maximum(f, 1e-3)) ** 4) ** 0.5
    return np.fft.irfft(np.fft.rfft(x, axis=0) * gain[:, None], len(x), axis=0)


def saturate(x: np.ndarray, amount: float) -> np.ndarray:
    """Soft clipping of the whole mix (``tanh``), as a driven amp or a hot master.

    ``amount`` is the gain into the curve relative to the peak (0 leaves the mix alone).
    """
    if amount <= 0:
        return x
    return np.tanh(amount * x / np.max(np.abs(x)))


def master(audio: np.ndarray, song: Song, drive_db: float) -> np.ndarray:
    """The song's production, then its level: the finished track, ``song.duration_s`` long.

    Trim or pad to length, remove DC, band-limit (``song.band``), saturate
    (``song.saturation``), limit by ``drive_db``, fade the tail, and set the peak to
    ``PEAK_DBFS``.
    """
    n = int(round(song.duration_s * SR))
    audio = audio[:n]
    if len(audio) < n:
        audio = np.pad(audio, ((0, n - len(audio)), (0, 0)))
    audio = audio - audio.mean(axis=0)
    audio = tone(audio, *song.band)
    audio = saturate(audio, song.saturation)
    audio = limit(audio, drive_db)
    fade = int(FADE_S * SR)
    audio[-fade:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade)))[:, None]
    return audio * (10 ** (PEAK_DBFS / 20) / np.max(np.abs(audio)))


def encode_mp3(audio: np.ndarray, path: Path, song: Song, ffmpeg: str, renderer: str) -> None:
    """Encode ``audio`` as a 44.1 kHz stereo MP3 at ``BITRATE``, with the song's tags.

    The bit-exact flags keep ffmpeg's version out of the file, so a re-render of the same
    audio gives the same bytes.

    Parameters
    ----------
    audio : numpy.ndarray
        The mastered track, (frames, 2) at ``SR``.
    path : Path
        The ``.mp3`` file to write.
    song : Song
        For the title.
    ffmpeg : str
        The program.
    renderer : str
        What rendered it, for the comment tag.
    """
    cmd = [
        ffmpeg, "-v", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", "2", "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", BITRATE, "-ar", str(SR), "-ac", "2",
        "-id3v2_version", "3", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-metadata", f"title={song.title}",
        "-metadata", "artist=genre project (composed in code)",
        "-metadata", "album=genre demo tracks",
        "-metadata", "copyright=CC0 1.0 Universal (public domain dedication)",
        "-metadata", f"comment=Composed in {SOURCE}, rendered with {renderer}",
        str(path),
    ]
    run(cmd, input=audio.astype("<f4").tobytes())
