"""Decoding only what a long song is judged on: its first 30 s and the clips spread over the rest.

A 4-minute MP3 takes ffmpeg 340-470 ms to decode on one core (README, Speed), more than the two networks
need for the ten clips the song is judged on. So a long song is decoded in one ffmpeg
process with one seeking input per span (``-ss`` before ``-i`` seeks without decoding what
it skips) joined by the ``concat`` filter: its first ``LEAD_SECONDS`` whole (the beat check
in ``rhythm.py`` needs continuous audio) and 3 s at each clip start after that.

The song's length comes from the container (``Duration:`` in ffmpeg's header report).
Where it is missing, or the decoded length is not what the spans promise (a VBR MP3 whose
length was estimated from its bitrate, a truncated file), ``decode_spread`` returns None
and the caller decodes the whole song as before: never a wrong clip, at worst the old speed.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import numpy as np

from . import audio, formats, rhythm

SPREAD_MIN_SECONDS = 60.0  # shorter songs are decoded whole: there is little to skip
LEAD_SECONDS = rhythm.PULSE_MAX_SECONDS  # decoded whole from the start: the pulse reads it, and no seam (30 s)
CONTEXT_SECONDS = 0.5  # decoded either side of a clip: the decoder settles after a seek (MP3's bit
# reservoir reaches frames back) and the clip's edge STFT frames reach 1024 samples out
TOLERANCE = 64  # samples of resampler slack allowed on the whole decode
_DURATION = re.compile(rb"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")


def seconds_of(fmt: str, path: Path) -> float | None:
    """The song's length from its container header, or None where ffmpeg reports none."""
    command = [audio.ffmpeg_path(), "-nostdin", "-hide_banner", "-protocol_whitelist", "file",
               "-f", fmt, "-i", f"file:{path}"]
    found = _DURATION.search(audio.run_ffmpeg(command).stderr)
    if not found:
        return None
    h, m, s = found.groups()
    return int(h) * 3600 + int(m) * 60 + float(s)


def decode_spans(fmt: str, path: Path, spans: list[tuple[float, float]]) -> np.ndarray:
    """``(start, seconds)`` spans of one file, decoded by one ffmpeg and concatenated."""
    command = [audio.ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error",
               "-protocol_whitelist", "file"]
    for start, seconds in spans:
        # no -ss for the start: a seek to 0 skips no encoder delay, where a plain decode does
        seek = ["-ss", f"{start:.3f}"] if start > 0 else []
        command += ["-f", fmt, *seek, "-t", f"{seconds:.3f}", "-i", f"file:{path}"]
    joined = "".join(f"[{i}:a:0]" for i in range(len(spans)))
    command += ["-filter_complex", f"{joined}concat=n={len(spans)}:v=0:a=1[out]", "-map", "[out]",
                "-ac", "1", "-ar", str(audio.SAMPLE_RATE), "-f", "s16le", "-acodec", "pcm_s16le", "pipe:1"]
    pcm = audio.run_ffmpeg(command).stdout
    return audio.pcm_samples(pcm)


def decode_spread(source, plan) -> tuple[np.ndarray, list[tuple[float, float]], float] | None:
    """Decode the spans ``plan(seconds)`` chooses for a long song; None to decode it whole.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        As ``audio.decode`` takes it (same checks: size, format from the first bytes).
    plan : callable
        The song's length in seconds -> a list of ``(start, seconds)`` spans, or None.

    Returns
    -------
    (samples, spans, seconds) or None
        The spans' samples one after another, the spans, and the song's length.
    """
    data, path = audio.read_source(source)
    fmt = formats.source_format(data, path)
    # Bytes need a file for ffmpeg (``audio.upload_file``); a path is read where it is.
    with audio.upload_file(data) if data is not None else contextlib.nullcontext(path) as path:
        total = seconds_of(fmt, path)
        if total is None or total < SPREAD_MIN_SECONDS:
            return None
        spans = plan(min(total, audio.MAX_SECONDS))
        if not spans:
            return None
        # A decode that runs out of time raises (FFmpegError): a whole decode would take as long again
        samples = decode_spans(fmt, path, spans)
    expected = sum(round(seconds * audio.SAMPLE_RATE) for _, seconds in spans)  # as the plan counts them
    if abs(len(samples) - expected) > TOLERANCE:
        return None  # the header's length was wrong: decode it whole instead
    samples = np.pad(samples[:expected], (0, max(0, expected - len(samples))))
    return samples, spans, total
