"""Prediction: a song (path or bytes) -> genre probabilities for the song and for each 3-s clip."""
from __future__ import annotations

import csv
import functools
import io
import math
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from . import audio, rhythm, spectrogram, spread
from .audio import CLIP_SAMPLES, SAMPLE_RATE
from .errors import AudioError
from .verdict import MOSTLY_SILENCE, TAG_FLOOR, Judgement, silence_sentence

MAX_CLIPS = 10  # a longer song is judged on this many clips spread evenly over it (every clip of 30 s)
QUIET_DB = 40.0  # clips this far under the song's loudest clip (RMS) are silence or fades: skipped
MIN_AUDIBLE = 0.5  # a song with fewer audible clips than this share is mostly silence: unsure
GAP_STEPS = 1.5  # clips farther apart than this many clip spacings: a skipped stretch between them


class Model(Protocol):
    """What ``predict`` (and a results row) needs of a model: ``fusion.GenreModel``, or ``cnn.Classifier`` alone."""

    genres: tuple[str, ...]
    tags: tuple[str, ...]  # what else it hears (none for a lone CNN)
    device: str
    kind: str  # "fused" or "cnn"
    version: str

    def judge(self, windows: np.ndarray, clips: list[np.ndarray] | None = None,
              pulse: float | None = None, gain_db: float = 0.0) -> Judgement: ...


@dataclass
class Clip:
    """One analysed 3-s clip: where it is, what the model saw and said."""

    start: float  # seconds
    end: float
    probabilities: dict[str, float]
    mel: np.ndarray = field(repr=False)  # (128, 39) dB, the model's input
    samples: np.ndarray = field(repr=False)  # the audio the model heard
    tags: dict[str, float] = field(default_factory=dict)  # the backbone's 50 tags, in its order

    @property
    def genre(self) -> str:
        """The clip's likeliest genre."""
        return max(self.probabilities, key=self.probabilities.get)

    def top_tags(self, n: int = 5, floor: float = TAG_FLOOR) -> list[tuple[str, float]]:
        """The ``n`` strongest tags at or above ``floor``, strongest first."""
        return top_tags(self.tags, n, floor)

    def to_dict(self) -> dict:
        """The clip as JSON-ready values, probabilities and tags rounded (no mel, no samples)."""
        return {"start": round(self.start, 3), "end": round(self.end, 3), "genre": self.genre,
                "probabilities": {g: round(p, 6) for g, p in self.probabilities.items()},
                "tags": {t: round(p, 6) for t, p in self.tags.items()}}


@dataclass
class Prediction:
    """The verdict on a song. With the fused model, each branch reads the song's clips together
    (their mean features), then the branches are fused and calibrated for songs: not the mean of
    the clips' probabilities (calibrated for 3-s clips), so a song's figure and its clips' differ.
    A lone CNN's verdict is the mean of its clips'."""

    genre: str
    confidence: float
    probabilities: dict[str, float]  # every genre, in model order
    clips: list[Clip]
    device: str
    duration: float  # the song's length in seconds, at most audio.MAX_SECONDS; with ``start``, the audio from there
    short: bool = False  # under 3 s: one clip, filled by repetition
    truncated: bool = False  # longer than audio.MAX_SECONDS: only the start was analysed
    tags: dict[str, float] = field(default_factory=dict)  # the backbone's 50 tags for the song
    unsure: bool = False  # not confidently one of the ten genres (see ``why_unsure``)
    why_unsure: str = ""  # a sentence for people, empty when sure
    reason: str | None = None  # why it is unsure, for programs: one of verdict.REASONS, None when sure

    def top_tags(self, n: int = 5, floor: float = TAG_FLOOR) -> list[tuple[str, float]]:
        """The ``n`` strongest tags at or above ``floor``, strongest first."""
        return top_tags(self.tags, n, floor)

    def notes(self) -> list[str]:
        """Sentences on how the song was heard, when not whole and as it is (the page and the CLI say them)."""
        start = self.clips[0].start if self.clips else 0.0  # predict(start=...): the audio from there
        short = (f"The audio from {start:g} s lasts {self.duration:.1f} s" if start else
                 f"The song is shorter than {audio.CLIP_SECONDS:g} s")
        return [f"{short}, so it was repeated to fill one clip."] * self.short + \
            [f"Only the first {audio.MAX_SECONDS // 60} minutes were analysed ({len(self.clips)} clips of "
             f"{audio.CLIP_SECONDS:g} s spread over them)."] * self.truncated

    def timeline(self) -> list[tuple[int, float, str, float]]:
        """``(stretch, second, genre, probability)`` points of the verdict across the song.

        Each clip is a point at its middle, or, alone in its stretch, points at its start and
        end. Clips further apart than 1.5 times the song's clip spacing (``window_starts``) have
        a clip skipped as silence between them: they are numbered apart, so a chart draws nothing
        over it.
        """
        planned = window_starts(round(self.duration * SAMPLE_RATE), CLIP_SAMPLES)  # where clips were asked for
        step = min((b - a for a, b in zip(planned, planned[1:])), default=CLIP_SAMPLES) / SAMPLE_RATE
        stretches: list[list[Clip]] = []
        for clip in self.clips:
            if not stretches or clip.start - stretches[-1][-1].start > GAP_STEPS * step:
                stretches.append([])
            stretches[-1].append(clip)
        return [(n, t, genre, p) for n, run in enumerate(stretches) for c in run
                for t in ([(c.start + c.end) / 2] if len(run) > 1 else [c.start, c.end])
                for genre, p in c.probabilities.items()]

    def to_dict(self) -> dict:
        """The verdict as JSON-ready values, its clips included, figures rounded."""
        return {"genre": self.genre, "confidence": round(self.confidence, 6),
                "probabilities": {g: round(p, 6) for g, p in self.probabilities.items()},
                "tags": {t: round(p, 6) for t, p in self.tags.items()}, "unsure": self.unsure,
                "why_unsure": self.why_unsure, "reason": self.reason,
                "clips": [c.to_dict() for c in self.clips], "device": self.device,
                "duration": round(self.duration, 3), "short": self.short, "truncated": self.truncated}

    def to_csv(self) -> str:
        """One row for the song and one a clip: scope, start, end, genre, the song's ``unsure`` and
        ``reason`` (the decision is the song's: empty on clips), and every probability."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["scope", "start", "end", "genre", "unsure", "reason", *self.probabilities])
        rows = [("song", 0.0, self.duration, self.genre, self.unsure, self.reason or "", self.probabilities)]
        rows += [("clip", c.start, c.end, c.genre, "", "", c.probabilities) for c in self.clips]
        for scope, start, end, genre, unsure, reason, probs in rows:
            writer.writerow([scope, round(start, 4), round(end, 4), genre, unsure, reason,
                             *(round(p, 4) for p in probs.values())])
        return out.getvalue()


def top_tags(tags: dict[str, float], n: int = 5, floor: float = TAG_FLOOR) -> list[tuple[str, float]]:
    """The ``n`` strongest of ``tags`` at or above ``floor``, strongest first."""
    ranked = sorted(tags.items(), key=lambda item: item[1], reverse=True)
    return [(t, p) for t, p in ranked[:n] if p >= floor]


def window_starts(total: int, width: int, max_count: int = MAX_CLIPS) -> list[int]:
    """Starts of the windows that cover ``total`` units: consecutive, or ``max_count`` spread evenly.

    Works in samples (songs) and in columns (mel images) alike.
    """
    if total <= width:
        return [0]
    count = total // width
    if count <= max_count:
        return [i * width for i in range(count)]
    return np.linspace(0, total - width, max_count).round().astype(int).tolist()


@functools.lru_cache(maxsize=1)
def default_model() -> Model:
    """The shipped model, loaded once per process."""
    from .fusion import load_model

    return load_model()


def audible_starts(samples: np.ndarray, starts: list[int]) -> list[int]:
    """Drop the clips that are silence or a fade far under the rest of the song.

    Each window is judged relative to its own loudest bin, so a near-silent clip would be
    judged on its noise floor; a song's verdict should not lean on its silent ending.
    """
    rms = np.array([np.sqrt(np.mean(samples[s:s + CLIP_SAMPLES] ** 2)) for s in starts])
    keep = rms >= rms.max() * 10 ** (-QUIET_DB / 20)
    return [s for s, k in zip(starts, keep) if k]


def clip_windows(samples: np.ndarray, starts: list[int] | None = None,
                 offset: float = 0.0) -> tuple[list[int], np.ndarray]:
    """The audible clips among ``starts`` (by default all of the song's) and their model inputs.

    Raises ``TooShortError`` or ``SilentError`` (both ``RefusedError``) for audio too short or silent to judge.
    """
    audio.check_length(samples, offset)
    audio.check_audible(samples, offset)
    if starts is None:
        starts = window_starts(len(samples), CLIP_SAMPLES)
    starts = audible_starts(samples, starts)
    return starts, np.stack([spectrogram.render(samples, s) for s in starts])


def heard_clips(samples: np.ndarray, starts: list[int]) -> tuple[float, list[np.ndarray]]:
    """The 3-s clips of ``samples`` at ``starts`` as the models hear them, in training as here: the
    song at the level of the music they learned from (``audio.normalise``), and the gain in dB that
    took it there. The dB windows are under their own loudest bin and the pulse is a correlation:
    neither changes with the level, so only the clips do."""
    return audio.normalise([samples[s:s + CLIP_SAMPLES] for s in starts])


def judge_samples(samples: np.ndarray, model: Model, starts: list[int] | None = None,
            offset: float = 0.0, times: dict[int, float] | None = None,
            seconds: float | None = None) -> Prediction:
    """Classify the clips of ``samples`` that begin at ``starts`` (samples) in one batch.

    ``times`` maps a start to its second in the song where ``samples`` holds only parts of
    it (``spread.decode_spread``); ``seconds`` is then the song's whole length.
    """
    asked = len(starts) if starts is not None else len(window_starts(len(samples), CLIP_SAMPLES))
    starts, windows = clip_windows(samples, starts, offset)
    times = times or {s: offset + s / SAMPLE_RATE for s in starts}
    seconds = len(samples) / SAMPLE_RATE if seconds is None else seconds
    gain_db, pieces = heard_clips(samples, starts)
    verdict = model.judge(windows, pieces, pulse=rhythm.pulse_clarity(samples), gain_db=gain_db)
    # too little sound to judge: the likelier why of any doubt (a beat not found, a 2-s snippet heard as not
    # music or as none of the ten), and a doubt where the model was sure
    if len(starts) < MIN_AUDIBLE * asked:
        verdict.doubt(MOSTLY_SILENCE, silence_sentence(len(starts), asked))
    tag_names = model.tags
    clips = []
    for i, (s, p, w, piece) in enumerate(zip(starts, verdict.clip_probs, windows, pieces)):
        tags = dict(zip(tag_names, verdict.clip_tags[i].tolist())) if verdict.clip_tags is not None else {}
        clips.append(Clip(times[s], times[s] + len(piece) / SAMPLE_RATE,
                          dict(zip(model.genres, p.tolist())), w, piece, tags))
    mean = verdict.song_probs
    best = int(mean.argmax())
    song_tags = dict(zip(tag_names, verdict.song_tags.tolist())) if verdict.song_tags is not None else {}
    return Prediction(model.genres[best], float(mean[best]), dict(zip(model.genres, mean.tolist())),
                      clips, model.device, min(seconds, audio.MAX_SECONDS),
                      short=seconds * SAMPLE_RATE < CLIP_SAMPLES,
                      truncated=seconds >= audio.MAX_SECONDS,
                      tags=song_tags, unsure=verdict.unsure, why_unsure=verdict.why_unsure,
                      reason=verdict.reason)


def predict(source, model: Model | None = None, *, start: float | None = None) -> Prediction:
    """Tell the genre of a song.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        An audio file (MP3, WAV, FLAC, OGG/Opus, M4A) or its bytes.
    model : Model, optional
        From ``load_model`` (a ``GenreModel``, or a lone CNN ``Classifier``); the shipped model by default.
    start : float, optional
        Analyse only the 3-s clip from this second. By default the whole song (up to
        ``audio.MAX_SECONDS``) is analysed, ``MAX_CLIPS`` clips at most, and judged as one.

    Returns
    -------
    Prediction
        Top genre, its probability, all probabilities, the device, and per-clip results.

    Raises
    ------
    GenreError
        With a message a person understands (subclasses: ``AudioError``, and of it ``RefusedError``
        for audio too short or silent to judge; ``FFmpegError``, ``ModelError``).
    """
    model = model or default_model()
    if start is not None:
        if not (math.isfinite(start) and start >= 0):
            raise AudioError(f"The start must be a number of seconds, 0 or more (not {start!r}).")
        samples = audio.load_clip(source, start)
        return judge_samples(samples, model, [0], offset=start)
    decoded = spread.decode_spread(source, spread_plan)
    if decoded is None:
        return judge_samples(audio.decode(source), model)
    samples, _, seconds = decoded
    positions = spread_layout(min(seconds, audio.MAX_SECONDS))[1]
    return judge_samples(samples, model, list(positions), times=positions, seconds=seconds)


def spread_layout(seconds: float) -> tuple[list[tuple[float, float]], dict[int, float]]:
    """The spans a long song is judged on, and where each clip lies in their decoded samples.

    The first ``spread.LEAD_SECONDS`` are one span; each later clip is a span of its own with
    ``spread.CONTEXT_SECONDS`` either side, so its edge frames see the audio around it, as in
    a whole decode. Returns the ``(start, seconds)`` spans and {position in the samples:
    second in the song} for every clip.
    """
    lead = round(spread.LEAD_SECONDS * SAMPLE_RATE)
    context = round(spread.CONTEXT_SECONDS * SAMPLE_RATE)
    total = int(seconds * SAMPLE_RATE)
    spans, positions, offset = [(0.0, spread.LEAD_SECONDS)], {}, lead
    for s in window_starts(total, CLIP_SAMPLES):
        if s + CLIP_SAMPLES <= lead:
            positions[s] = s / SAMPLE_RATE
            continue
        first, last = s - context, min(s + CLIP_SAMPLES + context, total)
        spans.append((first / SAMPLE_RATE, (last - first) / SAMPLE_RATE))
        positions[offset + context] = s / SAMPLE_RATE
        offset += last - first
    return spans, positions


def spread_plan(seconds: float) -> list[tuple[float, float]]:
    """``spread_layout``'s spans (what ``spread.decode_spread`` asks for)."""
    return spread_layout(seconds)[0]
