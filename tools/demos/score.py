"""The score model the pieces are written in: notes in beats, tracks, a song with a tempo map.

A :class:`Song` holds General MIDI tracks of notes (:class:`Note`), a tempo map and the
production settings of its mix. Every note passes through the song's humaniser, a
``random.Random`` seeded per piece, so the same seed always gives the same notes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

TAIL_S = 2.0  # reverb / release time kept after the last bar
T = 2.0 / 3.0  # position of the swung "and" inside a beat (triplet feel)

# General MIDI percussion keys (channel 10)
KICK, SIDESTICK, SNARE, CLAP = 36, 37, 38, 39
HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
CRASH, RIDE, TAMBOURINE = 49, 51, 54
TOM_FLOOR, TOM_LOW, TOM_MID, TOM_HIGH = 43, 45, 48, 50

DRUM_CHANNEL = 9  # MIDI channel 10, counted from zero
SUSTAIN = 64  # the MIDI controller of the sustain pedal
STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}  # semitones above C
QUALITY = {"m7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7b5": (0, 3, 6, 10),
           "6": (0, 4, 7, 9), "": (0, 4, 7), "m": (0, 3, 7)}  # chord intervals over the root


def p(name: str) -> int:
    """MIDI note number of a note name: ``'C4'`` -> 60, ``'F#2'`` -> 42, ``'Bb1'`` -> 34."""
    step, rest, acc = STEPS[name[0].upper()], name[1:], 0
    while rest and rest[0] in "#b":
        acc += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + step + acc


def chord_name(name: str) -> tuple[int, tuple[int, ...]]:
    """Root pitch class and intervals of a chord symbol: ``'Bbmaj7'`` -> ``(10, (0, 4, 7, 11))``."""
    root = name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]
    pc = (STEPS[root[0]] + (1 if "#" in root else -1 if len(root) > 1 else 0)) % 12
    return pc, QUALITY[name[len(root):]]


def near(pc: int, lo: int) -> int:
    """The first pitch of pitch class ``pc`` at or above the pitch ``lo``."""
    return lo + (pc - lo) % 12


@dataclass
class Note:
    """One note (or drum hit): start and length in beats, MIDI pitch, velocity."""

    start: float
    dur: float
    pitch: int
    vel: int


@dataclass
class Track:
    """A General MIDI part: its channel, program, mixer settings and what it plays.

    ``controls`` holds ``(beat, controller, value)``; ``bends`` holds the pitch-wheel
    curve as ``(beat, semitones, start of the note it belongs to)``, only on a
    ``bendable`` track (a track's bends move every note sounding on its channel).
    """

    name: str
    channel: int
    program: int
    volume: int = 100  # CC7
    pan: int = 64  # CC10
    reverb: int = 40  # CC91
    chorus: int = 0  # CC93
    bendable: bool = False
    notes: list = field(default_factory=list)
    controls: list = field(default_factory=list)
    bends: list = field(default_factory=list)

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL


class Song:
    """A multi-track arrangement in beats, with a tempo map and humanisation.

    Parameters
    ----------
    slug, title : str
        The file name (``rock`` -> ``rock.mp3``) and the title in the tags and ``demos.json``.
    bpm : float
        The tempo at beat 0; :meth:`tempo` changes it later.
    seed : int
        Seeds the humaniser (and the numpy synthesiser): the same seed, the same notes.
    timing_ms, vel_spread : float
        Standard deviations of the humaniser's timing (ms) and velocity.
    """

    def __init__(self, slug, title, bpm, seed, timing_ms=6.0, vel_spread=5.0):
        self.slug, self.title = slug, title
        self.tempos = [(0.0, float(bpm))]
        self.rng = random.Random(seed)
        self.seed = seed
        self.timing_ms, self.vel_spread = timing_ms, vel_spread
        self.tracks: list[Track] = []
        self.end_beat = 0.0
        self.band = (20.0, 20000.0)  # production: the mix's bandwidth in Hz (see master.tone)
        self.saturation = 0.0  # production: tape/amp saturation of the mix (see master.saturate)
        self.lines: list[tuple[float, float, str]] = []  # spoken lines: (beat, beats, words)
        self.voice = ("en-us+m1", 20, 3.0)  # espeak-ng voice, its pitch, dB over the music's RMS
        self.sung: list[tuple[float, float, int, str, int]] = []  # sung: (beat, beats, pitch, vowel, vel)
        self.singer_db = 0.0  # the sung line's level over the music's RMS (see voice.mix_singer)

    # -- structure ---------------------------------------------------------
    def track(self, name, channel, program, **kw) -> Track:
        """Add and return a :class:`Track` (keyword arguments as its fields)."""
        t = Track(name, channel, program, **kw)
        self.tracks.append(t)
        return t

    def tempo(self, beat, bpm):
        """Change the tempo to ``bpm`` from ``beat`` on."""
        self.tempos = sorted([t for t in self.tempos if t[0] != beat] + [(float(beat), float(bpm))])

    def bpm_at(self, beat):
        """The tempo in force at ``beat``."""
        bpm = self.tempos[0][1]
        for b, t in self.tempos:
            if b <= beat:
                bpm = t
        return bpm

    def seconds(self, beat):
        """The time in seconds of ``beat``, through the tempo map."""
        sec, (prev_b, prev_t) = 0.0, self.tempos[0]
        for b, t in self.tempos[1:]:
            if b >= beat:
                break
            sec += (b - prev_b) * 60.0 / prev_t
            prev_b, prev_t = b, t
        return sec + (beat - prev_b) * 60.0 / prev_t

    @property
    def duration_s(self):
        """Length of the rendered track: up to ``end_beat``, then the tail."""
        return self.seconds(self.end_beat) + TAIL_S

    # -- notes -------------------------------------------------------------
    def _human(self, beat, vel, timing_ms=None):
        ms = self.timing_ms if timing_ms is None else timing_ms
        sd = ms / 1000.0 * self.bpm_at(beat) / 60.0
        # a note at beat 0 stays there (and draws no timing number); none may move before it
        b = max(0.0, beat + self.rng.gauss(0.0, sd)) if beat > 0 else 0.0
        v = int(round(vel + self.rng.gauss(0.0, self.vel_spread)))
        return b, max(1, min(127, v))

    def note(self, tr: Track, beat, dur, pitch, vel, bend=0.0, vibrato=0.0, timing_ms=None):
        """Add a humanised note.

        Parameters
        ----------
        tr : Track
            The part that plays it.
        beat, dur : float
            Start and length in beats.
        pitch, vel : int
            MIDI pitch and velocity (before humanisation).
        bend : float
            Semitones bent up just after the attack (on a ``bendable`` track).
        vibrato : float
            Depth in semitones of a vibrato in the later part of a note longer than 0.6 beats.
        timing_ms : float, optional
            This note's timing spread instead of the song's.
        """
        b, v = self._human(beat, vel, timing_ms)
        tr.notes.append(Note(b, max(0.05, dur), int(pitch), v))
        if tr.bendable:  # pitch-wheel curve of this note: (beat, semitones, note start)
            pts = [(b, 0.0)]
            if bend:
                rise = min(0.25, dur * 0.4)
                pts += [(b + 0.04 + rise * k / 6, bend * k / 6) for k in range(1, 7)]
            if vibrato and dur > 0.6:
                t0, step = b + min(0.35, dur * 0.35), 1 / 32
                x = t0
                while x < b + dur:
                    sec = (x - t0) * 60.0 / self.bpm_at(x)
                    depth = vibrato * min(1.0, sec / 0.25)  # the vibrato swells in over 0.25 s
                    pts.append((x, bend + depth * math.sin(2 * math.pi * 5.5 * sec)))
                    x += step
            tr.bends.extend((x, semis, b) for x, semis in pts)
        self.end_beat = max(self.end_beat, beat + dur)

    def chord(self, tr: Track, beat, dur, pitches, vel, strum=0.0, **kw):
        """Add ``pitches`` together, or strummed upwards ``strum`` beats apart (each a little softer)."""
        for i, pitch in enumerate(pitches):
            self.note(tr, beat + i * strum, dur - i * strum, pitch, vel - 2 * i * (strum > 0), **kw)

    def hit(self, tr: Track, beat, key, vel, timing_ms=None):
        """Add a drum hit; drums are tighter than the band (60 % of the song's timing spread)."""
        b, v = self._human(beat, vel, self.timing_ms * 0.6 if timing_ms is None else timing_ms)
        tr.notes.append(Note(b, 0.25, key, v))

    def cc(self, tr: Track, beat, control, value):
        """Add a control change (e.g. 64, the sustain pedal) at ``beat``."""
        tr.controls.append((float(beat), control, int(value)))


def phrase(song: Song, tr: Track, bar: int, tokens: str, vel: int, swing: bool = False,
           bend_on: tuple = (), vibrato: float = 0.0) -> None:
    """Add a bar of melody written in eighth notes.

    Parameters
    ----------
    song, tr : Song, Track
        Where the notes go.
    bar : int
        The bar (4 beats each).
    tokens : str
        ``'D5:2 C5:1 r:1'``: a note name (or ``r``, a rest) and its length in eighths.
    vel : int
        Velocity; notes on a beat of 1 or 3 get 6 more.
    swing : bool
        Off-beat eighths fall on the triplet (``T``) instead of half way.
    bend_on : tuple of int
        Eighth positions of notes that start a semitone low and bend up to their pitch.
    vibrato : float
        Vibrato depth (semitones) of notes three eighths or longer.
    """
    k = 0
    for tok in tokens.split():
        name, n = tok.split(":")
        n = int(n)
        if name != "r":
            beat = k // 2 + ((T if swing else 0.5) if k % 2 else 0.0)
            end = (k + n) // 2 + ((T if swing else 0.5) if (k + n) % 2 else 0.0)
            bend = 1 if k in bend_on else 0
            accent = 6 if k % 4 == 0 else 0
            # 0.92: a small gap before the next note, so repeated notes are heard as two
            song.note(tr, bar * 4 + beat, (end - beat) * 0.92, p(name) - bend, vel + accent,
                      bend=bend, vibrato=vibrato if n >= 3 else 0.0)
        k += n
