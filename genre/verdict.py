"""What a verdict is and how it is said: the ten genres, a model's judgement, reasons and wording.

A leaf: it imports nothing from the package, nor numpy, so the models, ``predict``, ``tag`` and
the page share one vocabulary and one set of sentences, and ``import genre`` loads nothing heavy.

Why a song is unsure is a ``reason`` code (for programs) and a sentence (for people):

==================  =========================================================================
reason              when
==================  =========================================================================
``not_music``       the sound is not music (noise, tones, speech, animals)
``outside_ten``     music, but none of the ten genres
``low_confidence``  one of the ten, but the fused confidence is under the validated threshold
``mostly_silence``  too few clips have sound to judge
``no_beat``         called a genre whose training music always had a beat, and has none
==================  =========================================================================
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only named in annotations: importing the vocabulary loads no numpy
    import numpy as np

GENRES = ("blues", "classical", "country", "disco", "hiphop",
          "jazz", "metal", "pop", "reggae", "rock")
DISPLAY_NAMES = {"hiphop": "hip-hop"}  # how the page and the CLI write a genre
NOT_MUSIC, OUTSIDE_TEN, LOW_CONFIDENCE, MOSTLY_SILENCE, NO_BEAT = REASONS = (
    "not_music", "outside_ten", "low_confidence", "mostly_silence", "no_beat")
DESCRIBING_TAGS = {"female vocalists", "female vocalist", "male vocalists", "beautiful", "mellow", "chill",
                   "sexy", "catchy", "happy", "sad", "party", "easy listening", "oldies", "instrumental",
                   "acoustic", "guitar", "60s", "70s", "80s", "90s", "00s"}  # tags that describe, not name
TAG_FLOOR = 0.1  # a tag under this probability is not named (in a sentence, or by ``top_tags``)
VERY_SURE, FAIRLY_SURE = 0.8, 0.6  # confidence words: "very sure" from 80 %, "fairly sure" from 60 %


@dataclass
class Judgement:
    """What a model says of a song's clips: probabilities, tags, and whether (and why) it is unsure."""

    clip_probs: np.ndarray  # (n, genres)
    song_probs: np.ndarray  # (genres,)
    clip_tags: np.ndarray | None = None  # (n, 50)
    song_tags: np.ndarray | None = None  # (50,)
    unsure: bool = False
    why_unsure: str = ""  # a sentence for people, empty when sure
    reason: str | None = None  # one of REASONS, None when sure

    def doubt(self, reason: str, sentence: str) -> None:
        """Mark the judgement unsure for ``reason`` (one of ``REASONS``), said as ``sentence``."""
        if reason not in REASONS:  # a programming error, kept under python -O too
            raise ValueError(f"unknown reason {reason!r}; one of {REASONS}")
        self.unsure, self.why_unsure, self.reason = True, sentence, reason


# --- Sentences: why a verdict is unsure ---------------------------------------------------

def no_beat_sentence(best: str) -> str:
    """Why a genre is doubted for want of a beat; ``best``: the genre the model named."""
    return (f"This does not sound like {display_name(best)} or any other of the ten genres: "
            "it has no steady beat (speech, or sound that is not music?).")


def not_music_sentence(heard: list[str]) -> str:
    """Why a sound is called not music; ``heard``: the backbone's strongest tags, if any."""
    hears = f" The nearest music it hears: {', '.join(t.lower() for t in heard)}." if heard else ""
    return ("This does not sound like music: more like noise, tones, speech or other sounds, "
            "so no genre applies." + hears)


def outside_sentence(heard: list[str]) -> str:
    """Why music is called none of the ten; ``heard``: the backbone's strongest tags, if any."""
    hears = f" It hears {', '.join(t.lower() for t in heard)}." if heard else ""
    return "This does not sound like any of the ten genres this model knows." + hears


def low_confidence_sentence(genres, probs) -> str:
    """Why the verdict is unsure: the two likeliest of ``genres`` under the song's ``probs``."""
    order = sorted(range(len(genres)), key=lambda i: (float(probs[i]), i), reverse=True)
    (a, pa), (b, pb) = [(genres[i], float(probs[i])) for i in order[:2]]
    return f"Not sure: it could be {display_name(a)} ({pa:.0%}) or {display_name(b)} ({pb:.0%})."


def silence_sentence(audible: int, asked: int) -> str:
    """Why a mostly silent song is unsure: only ``audible`` of its ``asked`` clips have sound."""
    return (f"Most of it is silence: only {audible} of its {asked} clips "
            f"{'has' if audible == 1 else 'have'} sound to judge.")


# --- Words for the page --------------------------------------------------------------------

def display_name(genre: str) -> str:
    """A genre as people write it: ``hiphop`` -> ``hip-hop``."""
    return DISPLAY_NAMES.get(genre, genre)


def pct(p: float) -> str:
    """A probability as a whole percentage: 0.456 -> ``46%``."""
    return f"{p:.0%}"


def mmss(seconds: float) -> str:
    """Seconds as minutes and seconds, rounded down: 125.9 -> ``2:05``."""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def span(start: float, end: float, between: str = "–") -> str:
    """A clip's time on the page, its length kept whole: 31.0-33.995 s and 97.6-100.6 s read
    ``0:31–0:34`` and ``1:37–1:40`` (each end rounded alone would make them 2 and 4 seconds)."""
    return f"{mmss(start)}{between}{mmss(int(start) + round(end - start))}"


def mmss_tenths(seconds: float) -> str:
    """Seconds as minutes, seconds and tenths, as the page's other times read: 399.44 -> ``6:39.4``."""
    minutes, tenths = divmod(round(seconds * 10), 600)
    return f"{minutes}:{tenths // 10:02d}.{tenths % 10}"


def sureness(p: float) -> str:
    """How sure a confidence is, in words: "very sure", "fairly sure" or "somewhat sure"."""
    return "very sure" if p >= VERY_SURE else "fairly sure" if p >= FAIRLY_SURE else "somewhat sure"


def ranked(probabilities: dict[str, float]) -> list[tuple[str, float]]:
    """``(genre, probability)`` pairs, likeliest first."""
    return sorted(probabilities.items(), key=lambda item: item[1], reverse=True)


def style_tags(tags: list[tuple[str, float]]) -> list[str]:
    """The (at most two) tags that name a style, strongest first, without repeats:
    [("rock", .7), ("hard rock", .4), ("80s", .3), ("indie", .2)] -> ["rock", "indie"]."""
    style: list[str] = []
    for name in (t.lower() for t, _ in tags if t.lower() not in DESCRIBING_TAGS):
        if not any(name.startswith(other) or other.startswith(name) or other in name.split()
                   or name in other.split() for other in style):
            style.append(name)  # "rock" then "hard rock", "electronic" then "electronica": one is enough
    return style[:2]


def hears(tags: list[tuple[str, float]]) -> str:
    """Tags as a phrase: [("electronic", .8), ("dance", .6), ("80s", .3)] -> 'electronic and dance music'."""
    style = style_tags(tags)
    if not style:
        return "music with " + " and ".join(t.lower() for t, _ in tags[:2])
    return " and ".join(style) + ("" if style[-1].endswith("music") else " music")


def tag_line(tags: list[tuple[str, float]], besides: str | None = None) -> str:
    """Every tag's name in lower case, joined by middle dots: "rock · indie · 80s"; without the tag
    that names the genre ``besides`` (the verdict's: "hiphop" drops "Hip-Hop")."""
    said = {besides, display_name(besides)} if besides else set()
    return " · ".join(t.lower() for t, _ in tags if t.lower() not in said)


@dataclass
class Headline:
    """The top of the page: a title, an optional subtitle, a sentence, and how to show the rest.

    ``nearest`` is True when the genres are only the nearest guesses (not music, or none of
    the ten): the page then labels its genre chart so. ``names_tags`` is True when the headline
    already says what it hears, and ``says_why`` when it already says why it is unsure (the
    verdict's ``why_unsure`` would repeat it), so the page says neither twice.
    """

    title: str
    subtitle: str = ""
    text: str = ""
    warning: bool = False
    nearest: bool = False
    names_tags: bool = False
    says_why: bool = False


def headline(genre: str, confidence: float, probabilities: dict[str, float], unsure: bool,
             tags: list[tuple[str, float]], clips: int, reason: str | None = None) -> Headline:
    """What the page says first about a song, from the package's own decision (``unsure``, ``reason``).

    Not music: it says so first, and what it hears. Music outside the ten: what it hears,
    then the nearest genre. Mostly silence, or no steady beat: that, then the best guess.
    Otherwise unsure: the best guess, then the three best (not the tags first: they may name
    another of the ten, "blues and rock" over "maybe country"). Sure: the genre and how sure.
    Only ``reason`` says "none of the ten": the page never makes a second decision.
    """
    guesses = [f"**{display_name(g)}** ({pct(p)})" for g, p in ranked(probabilities)[:3]]
    unsure_words = f"The model is unsure. Its best guesses are {', '.join(guesses[:-1])} and {guesses[-1]}."
    name = display_name(genre)
    if reason == NOT_MUSIC:
        return Headline("This does not sound like music to the model",
                        f"It hears {tag_line(tags)}" if tags else "",
                        f"So it names no genre. The nearest of the ten would be **{name}** ({pct(confidence)}).",
                        warning=True, nearest=True, names_tags=bool(tags), says_why=True)
    if reason == OUTSIDE_TEN:
        style = f"This sounds like {hears(tags)}, which is" if tags else "This is"
        return Headline(f"{style} not one of the ten genres this model knows",
                        f"Maybe {name}: {pct(confidence)}, the nearest of the ten", unsure_words,
                        warning=True, nearest=True, says_why=True)
    if reason == MOSTLY_SILENCE:
        return Headline("Most of this is silence", f"Maybe {name}: {pct(confidence)}", unsure_words, warning=True)
    if reason == NO_BEAT:
        return Headline("This has no steady beat: speech, or sound that is not music?",
                        f"Maybe {name}: {pct(confidence)}", unsure_words, warning=True)
    if not unsure:
        return Headline(f"It sounds like {name}: {pct(confidence)}",
                        text=f"The model is {sureness(confidence)}: {pct(confidence)} for **{name}**, "
                             f"from {clips} clip{'s' * (clips != 1)} of 3 s.")
    return Headline(f"Maybe {name}: {pct(confidence)}", text=unsure_words, warning=True,
                    says_why=reason in (LOW_CONFIDENCE, None))  # its best guesses are the why
