"""Decoding: any common audio file (path or bytes) -> mono float32 samples at 22050 Hz.

ffmpeg does the decoding and pydub turns the PCM it writes into samples. ffmpeg is run
here rather than through ``AudioSegment.from_file`` because that call has no timeout,
seeks *after* ``-i`` (decoding everything it skips) and runs ffprobe on untrusted input.
Here the container format is sniffed from the first bytes (``formats``) and forced with ``-f``, only
the ``file`` protocol is allowed, so a playlist or concat list renamed ``.mp3`` is never
followed, and both the decoded duration and ffmpeg's run time are bounded. The PCM comes
back through a pipe; nothing is written but an upload's own bytes, in a file with no name on
Linux (``upload_file``), so a process killed mid-decode leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from pydub import AudioSegment

from .errors import AudioError, FFmpegError, SilentError, TooShortError
from .formats import source_format

SAMPLE_RATE = 22050  # Hz, the rate of the GTZAN training data
CLIP_SECONDS = 3
CLIP_SAMPLES = CLIP_SECONDS * SAMPLE_RATE  # 66150
MIN_SECONDS = 1.0  # shorter audio is refused; 1-3 s is padded to one clip
SILENCE_PEAK = 1e-4  # quieter audio (a peak of about 3 steps of 16-bit PCM) is refused as silent
MAX_SECONDS = 600  # decode at most the first 10 minutes
MAX_BYTES = 200 * 1024 * 1024  # refuse bytes in memory (an upload) over 200 MB (MiB); a file on disk is read
# only as far as MAX_SECONDS of audio need, so an hour of WAV (635 MB) is heard like an hour of MP3
FFMPEG_TIMEOUT = 60  # seconds; a decode of 10 minutes takes about 1 s
OGG_SEEK_BACK = 3.0  # seconds decoded, not sought, before an Ogg start (its seek past the end)
PCM_SCALE = 32768.0  # 16-bit PCM full scale: samples / PCM_SCALE lie in [-1, 1)
RECORDING_SECONDS = (5, 15)  # what a person is asked to record from a microphone
QUIET_RECORDING_DBFS = -50.0  # a recording whose loudest second is quieter than this heard no music
NORMAL_DB = -14.2  # dBFS RMS: GTZAN's median loudest 3-s clip (its 334 audio files; 1st-99th percentile -25.9 to -10.0)
NORMAL_TOLERANCE_DB = 1.0  # a song within 1 dB of that level is heard as it is
LEVEL_FLOOR = 1e-10  # power floor under every level's logarithm
_UPLOAD_INPUT = re.compile(r"file:/dev/fd/(\d+)")  # an ``upload_file`` input, whose descriptor ffmpeg needs

def ffmpeg_path() -> str:
    """The ffmpeg to run: the static build in ``imageio-ffmpeg`` by default, else the system's.

    Measured (``bench/latency.py``): the wheel's static build starts in about 13 ms, where
    Debian's, linked to 215 shared libraries, takes about 85 ms, which is most of a 3-s
    clip's analysis. ``GENRE_FFMPEG`` overrides the choice: ``system`` for the one on PATH,
    ``bundled`` for the wheel's, or a path.
    """
    choice = os.environ.get("GENRE_FFMPEG", "")
    if choice and choice not in ("bundled", "system"):
        return choice
    if choice != "system":
        try:
            import imageio_ffmpeg
            return imageio_ffmpeg.get_ffmpeg_exe()
        except (ImportError, RuntimeError, OSError) as exc:  # the wheel is absent or has no binary here
            if choice == "bundled":
                raise FFmpegError("GENRE_FFMPEG=bundled, but imageio-ffmpeg has no ffmpeg here: "
                                  "`pip install imageio-ffmpeg`, or unset GENRE_FFMPEG.") from exc
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise FFmpegError("ffmpeg was not found: install it (apt-get install ffmpeg) or `pip install imageio-ffmpeg`.")


def decode(source, *, start: float = 0.0, duration: float | None = None) -> np.ndarray:
    """Decode audio to mono float32 samples at ``SAMPLE_RATE``.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A path to an audio file, or the file's bytes (an upload).
    start : float
        Seconds to skip before decoding; ffmpeg seeks there cheaply.
    duration : float, optional
        Seconds to decode at most; never more than ``MAX_SECONDS``.

    Returns
    -------
    numpy.ndarray
        1-D float32 samples in [-1, 1].

    Raises
    ------
    AudioError
        Unreadable, empty, too large, not audio, or no audio at ``start``.
    FFmpegError
        ffmpeg is missing, or ran past ``FFMPEG_TIMEOUT``.
    """
    data, path = read_source(source)
    fmt = source_format(data, path)
    duration = MAX_SECONDS if duration is None else min(duration, MAX_SECONDS)
    if data is None:
        pcm = _decode_pcm(fmt, path, start, duration)
    else:
        with upload_file(data) as path:
            pcm = _decode_pcm(fmt, path, start, duration)
    if not pcm:
        if start > 0:
            raise AudioError(f"The audio ends before {start:g} s.")
        raise AudioError("The file holds no audio that could be decoded.")
    return pcm_samples(pcm)


def pcm_samples(pcm: bytes) -> np.ndarray:
    """ffmpeg's mono 16-bit PCM at ``SAMPLE_RATE`` as float32 samples in [-1, 1), through pydub
    (a torn last byte dropped): the one way decoded bytes become samples, for ``decode`` and ``spread``."""
    segment = AudioSegment(data=pcm[:len(pcm) // 2 * 2], sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    return np.asarray(segment.get_array_of_samples(), dtype=np.float32) / PCM_SCALE


def load_clip(source, start: float = 0.0) -> np.ndarray:
    """Decode ``CLIP_SECONDS`` of audio from ``start``; shorter audio comes back shorter."""
    return decode(source, start=start, duration=CLIP_SECONDS)


def check_length(samples: np.ndarray, start: float = 0.0) -> None:
    """Raise ``TooShortError`` for audio under ``MIN_SECONDS`` (decoded from ``start`` seconds)."""
    seconds = len(samples) / SAMPLE_RATE
    if seconds < MIN_SECONDS:
        shown = int(seconds * 100) / 100  # rounded down: 0.996 s never reads as the 1.00 s needed
        raise TooShortError(f"The audio{_from(start)} lasts {shown:.2f} s; at least {MIN_SECONDS:g} s is needed.")


def _from(start: float) -> str:
    """Where audio a sentence speaks of was decoded from: " from 29.9 s", or nothing for a whole song."""
    return f" from {start:g} s" if start else ""


def check_audible(samples: np.ndarray, start: float = 0.0) -> None:
    """Refuse silence: every window of it renders alike and tells nothing.

    Parameters
    ----------
    samples : numpy.ndarray
        Decoded audio.
    start : float
        Where it was decoded from (seconds), for the sentence.

    Raises
    ------
    SilentError
        Its swing (half of peak to peak) is under ``SILENCE_PEAK``: silence, and a constant offset
        (DC) too, which no loudspeaker makes audible.
    """
    if not len(samples) or float(np.ptp(samples)) / 2 < SILENCE_PEAK:
        raise SilentError(f"The audio{_from(start)} is silent: there is nothing to judge.")


def check_recording(recording: bytes | np.ndarray) -> bytes | np.ndarray:
    """Refuse a microphone recording too short or too quiet to judge; return it as given.

    Parameters
    ----------
    recording : bytes or numpy.ndarray
        The recording as the browser sent it (WAV), or decoded: mono at ``SAMPLE_RATE``.

    Raises
    ------
    TooShortError
        Under ``RECORDING_SECONDS[0]`` seconds.
    SilentError
        Its loudest second is under ``QUIET_RECORDING_DBFS``: room noise, not music.
    """
    samples = recording if isinstance(recording, np.ndarray) else decode(recording)
    seconds = len(samples) / SAMPLE_RATE
    low, high = RECORDING_SECONDS
    if seconds < low:
        raise TooShortError(f"The recording lasts {seconds:.1f} s; please record at least {low} s "
                            f"({low}-{high} s is best) with the music playing.")
    frames = samples[: len(samples) // SAMPLE_RATE * SAMPLE_RATE].reshape(-1, SAMPLE_RATE)
    loudest = float(np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1)).max())
    if 20 * np.log10(max(loudest, LEVEL_FLOOR)) < QUIET_RECORDING_DBFS:
        raise SilentError("The recording is almost silent: hold the microphone close to the speaker, "
                         "turn the music up, and record again.")
    return recording


def level_db(clip: np.ndarray) -> float:
    """A clip's RMS level in dBFS."""
    return float(10 * np.log10(np.mean(np.square(clip, dtype=np.float64)) + LEVEL_FLOOR))


def normalise(clips: list[np.ndarray]) -> tuple[float, list[np.ndarray]]:
    """A song's clips at the level of the music the models learned from, as a loudness normaliser would.

    The models learned from GTZAN, whose loudest clips sit near ``NORMAL_DB``; heard 20 dB quieter
    or 6 dB louder than that, the same songs are called right far less often, and quiet music is
    not music to the music detector. So one gain for the whole song brings its loudest clip to
    ``NORMAL_DB``, never lifting a peak past full scale; the song's own dynamics are kept.

    Returns
    -------
    (float, list of numpy.ndarray)
        The gain in dB (0 for a song within ``NORMAL_TOLERANCE_DB``, heard as it is) and the
        clips at that level (the same objects when 0).
    """
    loudest = max(level_db(c) for c in clips)
    peak = max(float(np.abs(c).max()) for c in clips)
    gain = min(NORMAL_DB - loudest, -20 * np.log10(max(peak, LEVEL_FLOOR)))
    if abs(gain) < NORMAL_TOLERANCE_DB:
        return 0.0, list(clips)
    return gain, [np.asarray(c * 10 ** (gain / 20), np.float32) for c in clips]


def to_wav_bytes(samples: np.ndarray) -> bytes:
    """Encode mono float samples as a 16-bit WAV file in memory (for playback)."""
    pcm = (np.clip(samples, -1.0, 1.0) * (PCM_SCALE - 1)).astype("<i2").tobytes()  # +1.0 -> 32767, the top
    segment = AudioSegment(data=pcm, sample_width=2, frame_rate=SAMPLE_RATE, channels=1)
    buffer = io.BytesIO()
    segment.export(buffer, format="wav")
    return buffer.getvalue()


def read_source(source):
    """Split a source into (bytes, None) or (None, path): bytes no larger than ``MAX_BYTES``, a path a file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > MAX_BYTES:
            raise AudioError(f"The file is larger than {MAX_BYTES // 2**20} MB.")
        return data, None
    path = Path(os.fspath(source))
    try:
        st = path.stat()
    except OSError as exc:
        raise AudioError(f"Cannot read {path.name}: {exc.strerror or exc}.") from exc
    if not stat.S_ISREG(st.st_mode):
        raise AudioError(f"{path.name} is not a file of audio: it is a folder, a device or a pipe.")
    return None, path.resolve()


@contextlib.contextmanager
def upload_file(data: bytes):
    """A path to a file holding ``data``, for ffmpeg, which needs a seekable input (MP4 keeps its
    index at the end, MP3 gapless trimming reads the file's tail, -ss seeks instead of decoding).

    On Linux the file has no name: an unlinked temporary file, opened by ffmpeg as ``/dev/fd/N``
    (``run_ffmpeg`` hands it the descriptor; each open there is a new, independent one), so a
    process killed meanwhile leaves no upload on disk. Elsewhere ``/dev/fd`` shares one offset
    between opens, so the file lives in a private (0700), random folder, removed after.
    """
    if sys.platform.startswith("linux"):
        with tempfile.TemporaryFile(prefix="genre-") as f:
            f.write(data)
            f.flush()
            yield Path(f"/dev/fd/{f.fileno()}")
        return
    with tempfile.TemporaryDirectory(prefix="genre-") as tmp:
        path = Path(tmp) / "upload"
        path.write_bytes(data)
        yield path


def run_ffmpeg(command: list[str]) -> subprocess.CompletedProcess:
    """Run ffmpeg from an argument list (never a shell), bounded by ``FFMPEG_TIMEOUT``; an input
    ``file:/dev/fd/N`` (``upload_file``) gets descriptor N."""
    fds = tuple(int(m.group(1)) for arg in command if (m := _UPLOAD_INPUT.fullmatch(arg)))
    try:
        return subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=FFMPEG_TIMEOUT, check=False, pass_fds=fds)
    except subprocess.TimeoutExpired as exc:
        raise FFmpegError(f"Decoding took longer than {FFMPEG_TIMEOUT} s and was stopped.") from exc
    except OSError as exc:
        raise FFmpegError(f"ffmpeg could not be started: {exc}") from exc


def _decode_pcm(fmt: str, path: Path, start: float, duration: float) -> bytes:
    command = [ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error",
               "-protocol_whitelist", "file", "-f", fmt]
    # Ogg's demuxer, asked to seek past the end, lands on the last page and gives its second of
    # audio; seeking OGG_SEEK_BACK short and decoding the rest of the way leaves nothing there.
    back = min(start, OGG_SEEK_BACK) if fmt == "ogg" else 0.0
    if start > 0:
        command += ["-ss", f"{start - back:.3f}"]  # before -i: a cheap seek
    # "file:" stops ffmpeg reading a path such as "concat:a|b" as a protocol.
    command += ["-i", f"file:{path}", *(["-ss", f"{back:.3f}"] if back else []),
                "-t", f"{duration:.3f}", "-map", "0:a:0", "-vn", "-sn", "-dn",
                "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]
    done = run_ffmpeg(command)
    if done.returncode != 0 and not done.stdout:
        said = done.stderr.decode(errors="replace")
        detail = said.strip().splitlines()
        cause = AudioError(detail[-1] if detail else f"ffmpeg exit {done.returncode}")
        if "matches no streams" in said:  # -map 0:a:0 found no audio: a video or a picture alone
            raise AudioError("The file has no audio track: only video, pictures or data.") from cause
        # ffmpeg may refuse the seek itself (past any length it can hold): then the file's start says
        # what is wrong with it, if anything (decoding it raises that), and the start is too late.
        if start > 0 and _decode_pcm(fmt, path, 0.0, 0.1):
            raise AudioError(f"The audio ends before {start:g} s.") from cause
        raise AudioError("The file could not be decoded: it is corrupt or not audio.") from cause
    return done.stdout
