#!/usr/bin/env python3
"""Compose and render the demo tracks that ship with the genre app.

Every note of these pieces is written below, in code, by this project: a
power-chord rock song, a four-on-the-floor disco groove, a small classical
piano sonatina, a medium-swing jazz tune, a country two-step, a metal riff
over double kick, a boom-bap hip-hop beat with a rapped verse, and two
drafts the shipped model does not yet name right (a 12-bar blues shuffle
and a rockers reggae; see ``SHIPPED``).  Each piece is arranged for
General MIDI instruments, written to a ``.mid`` file in a temporary
directory with ``mido``, rendered with FluidSynth and the FluidR3 GM
soundfont, produced (a band-limiting EQ, saturation and a rapped voice by
espeak-ng where a piece asks for them; gentle peak limiting; peak normalised
to -1 dBFS) and encoded to MP3 with ffmpeg/libmp3lame (44.1 kHz stereo,
160 kbit/s).

When FluidSynth or the soundfont is missing, a small numpy synthesiser
renders the same arrangements instead (it sounds plainer, but it is the same
music).  Humanisation (timing and velocity) comes from a fixed seed, so a
re-render gives the same notes every time.

Usage (from the repository root)::

    python assets/demo/compose.py                 # the shipped demos
    python assets/demo/compose.py --only rock     # just one
    python assets/demo/compose.py --only blues --out /tmp/drafts   # a draft
    python assets/demo/compose.py --engine numpy  # force the fallback synth

Needs: numpy, mido (pip); fluidsynth, fluid-soundfont-gm, ffmpeg, espeak-ng
(Debian).  This is a build-time step; the app only reads the resulting MP3
files and ``demos.json``.  The audio is released under CC0 1.0.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import random
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SR = 44100
PEAK_DBFS = -1.0
BITRATE = "160k"
TAIL_S = 2.0  # reverb / release time kept after the last bar
FADE_S = 0.8  # raised-cosine fade over the very end of the tail
TICKS_PER_BEAT = 480
SOUNDFONTS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
)

# General MIDI percussion keys (channel 10)
KICK, SIDESTICK, SNARE, CLAP = 36, 37, 38, 39
HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
CRASH, RIDE, TAMBOURINE = 49, 51, 54
TOM_FLOOR, TOM_LOW, TOM_MID, TOM_HIGH = 43, 45, 48, 50

_STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def p(name: str) -> int:
    """MIDI note number of a note name: 'C4' -> 60, 'F#2' -> 42, 'Bb1' -> 34."""
    step, rest, acc = _STEPS[name[0].upper()], name[1:], 0
    while rest and rest[0] in "#b":
        acc += 1 if rest[0] == "#" else -1
        rest = rest[1:]
    return 12 * (int(rest) + 1) + step + acc


# ---------------------------------------------------------------------------
# Arrangement model
# ---------------------------------------------------------------------------


@dataclass
class Note:
    start: float  # beats
    dur: float  # beats
    pitch: int
    vel: int


@dataclass
class Track:
    name: str
    channel: int
    program: int
    volume: int = 100  # CC7
    pan: int = 64  # CC10
    reverb: int = 40  # CC91
    chorus: int = 0  # CC93
    bendable: bool = False
    notes: list = field(default_factory=list)
    controls: list = field(default_factory=list)  # (beat, controller, value)
    bends: list = field(default_factory=list)  # (beat, semitones, owner note start)

    @property
    def is_drums(self) -> bool:
        return self.channel == 9


class Song:
    """A multi-track arrangement in beats, with a tempo map and humanisation."""

    def __init__(self, slug, title, bpm, seed, timing_ms=6.0, vel_spread=5.0):
        self.slug, self.title = slug, title
        self.tempos = [(0.0, float(bpm))]
        self.rng = random.Random(seed)
        self.seed = seed
        self.timing_ms, self.vel_spread = timing_ms, vel_spread
        self.tracks: list[Track] = []
        self.end_beat = 0.0
        self.band = (20.0, 20000.0)  # production: the mix's bandwidth in Hz (see ``tone``)
        self.saturation = 0.0  # production: tape/amp saturation of the mix (see ``saturate``)
        self.lines: list[tuple[float, float, str]] = []  # spoken lines: (beat, beats, words)
        self.voice = ("en-us+m1", 20, 3.0)  # espeak-ng voice, its pitch, dB over the music's RMS

    # -- structure ---------------------------------------------------------
    def track(self, name, channel, program, **kw) -> Track:
        t = Track(name, channel, program, **kw)
        self.tracks.append(t)
        return t

    def tempo(self, beat, bpm):
        self.tempos = sorted([t for t in self.tempos if t[0] != beat] + [(float(beat), float(bpm))])

    def bpm_at(self, beat):
        bpm = self.tempos[0][1]
        for b, t in self.tempos:
            if b <= beat:
                bpm = t
        return bpm

    def seconds(self, beat):
        sec, (prev_b, prev_t) = 0.0, self.tempos[0]
        for b, t in self.tempos[1:]:
            if b >= beat:
                break
            sec += (b - prev_b) * 60.0 / prev_t
            prev_b, prev_t = b, t
        return sec + (beat - prev_b) * 60.0 / prev_t

    @property
    def duration_s(self):
        return self.seconds(self.end_beat) + TAIL_S

    # -- notes -------------------------------------------------------------
    def _human(self, beat, vel, timing_ms=None):
        ms = self.timing_ms if timing_ms is None else timing_ms
        sd = ms / 1000.0 * self.bpm_at(beat) / 60.0
        b = max(0.0, beat + self.rng.gauss(0.0, sd)) if beat > 0 else 0.0
        v = int(round(vel + self.rng.gauss(0.0, self.vel_spread)))
        return b, max(1, min(127, v))

    def note(self, tr: Track, beat, dur, pitch, vel, bend=0.0, vibrato=0.0, timing_ms=None):
        """Add a note.  ``bend``: semitones bent up just after the attack;
        ``vibrato``: depth in semitones of a vibrato in the later part of the note."""
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
                    depth = vibrato * min(1.0, sec / 0.25)
                    pts.append((x, bend + depth * math.sin(2 * math.pi * 5.5 * sec)))
                    x += step
            tr.bends.extend((x, semis, b) for x, semis in pts)
        self.end_beat = max(self.end_beat, beat + dur)

    def chord(self, tr: Track, beat, dur, pitches, vel, strum=0.0, **kw):
        for i, pitch in enumerate(pitches):
            self.note(tr, beat + i * strum, dur - i * strum, pitch, vel - 2 * i * (strum > 0), **kw)

    def hit(self, tr: Track, beat, key, vel, timing_ms=None):
        b, v = self._human(beat, vel, self.timing_ms * 0.6 if timing_ms is None else timing_ms)
        tr.notes.append(Note(b, 0.25, key, v))

    def cc(self, tr: Track, beat, control, value):
        tr.controls.append((float(beat), control, int(value)))


# ---------------------------------------------------------------------------
# The four pieces
# ---------------------------------------------------------------------------

T = 2.0 / 3.0  # position of the swung "and" inside a beat (triplet feel)


def compose_blues(seed=1201) -> Song:
    """12-bar shuffle in A, 72 bpm: one-bar intro on the V, one chorus, ending; overdriven
    rhythm guitar, walking bass, Hammond organ comping, a lead with bends; a warm mix."""
    s = Song("blues", "Shuffle in A", 72, seed, timing_ms=8)
    s.band = (40.0, 5000.0)
    gtr = s.track("Rhythm guitar", 0, 29, volume=96, pan=36, reverb=45)  # overdriven
    bass = s.track("Bass", 1, 33, volume=108, pan=64, reverb=20)
    pno = s.track("Organ", 2, 16, volume=84, pan=92, reverb=50)  # Hammond
    lead = s.track("Lead guitar", 3, 29, volume=88, pan=70, reverb=65, bendable=True)
    dr = s.track("Drums", 9, 32, volume=100, pan=64, reverb=35)  # Jazz kit

    chords = ["E7", "A7", "D7", "A7", "A7", "D7", "D7", "A7", "A7", "E7", "D7", "A7", "E7"]
    end = len(chords)  # bar 13: the final A9

    # rhythm guitar: the two-string shuffle (root-5th / root-6th, a b7 now and then)
    groot = {"A7": p("A2"), "D7": p("D3"), "E7": p("E2")}
    for bar, ch in enumerate(chords):
        r, b0 = groot[ch], bar * 4
        for beat in range(4):
            top = r + (7 if beat % 2 == 0 else 9)
            if bar in (4, 8, 11) and beat == 3:
                top = r + 10
            s.chord(gtr, b0 + beat, 0.55, [r, top], 86)
            s.chord(gtr, b0 + beat + T, 0.28, [r, top], 66)
    s.chord(gtr, end * 4, 3.2, [p("A2"), p("E3"), p("G3"), p("C#4"), p("E4")], 96, strum=0.04)

    # walking bass, chromatic approaches into each change
    walk = [
        "E2 D2 B1 Bb1", "A1 C#2 E2 Eb2", "D2 C2 B1 Bb1", "A1 C#2 E2 F#2",
        "G2 F#2 E2 C#2", "D2 F#2 A2 B2", "D2 F#2 A2 G#2", "A2 G2 E2 C#2",
        "A1 C#2 D2 D#2", "E2 D2 B1 C#2", "D2 F#2 A2 G#2", "A2 G2 E2 F2",
        "E2 D2 B1 Bb1",
    ]
    for bar, line in enumerate(walk):
        pickup = bar in (3, 7, 11)  # a swung ghost note into the next bar
        for beat, name in enumerate(line.split()):
            dur = 0.6 if pickup and beat == 3 else 0.85
            s.note(bass, bar * 4 + beat, dur, p(name), (94, 80, 88, 80)[beat])
        if pickup:
            s.note(bass, bar * 4 + 3 + T, 0.3, p(walk[bar + 1].split()[0]), 60)
    s.note(bass, end * 4, 3.2, p("A1"), 100)

    # piano: dominant-7th/9th voicings, swung comping patterns that change by section
    voic = {"A7": ["G4", "C#5", "E5"], "D7": ["F#4", "C5", "E5"], "E7": ["G#4", "D5", "F#5"]}
    pats = [
        [(1 + T, 0.3, 72), (3 + T, 0.3, 68)],
        [(1, 0.4, 70), (3, 0.4, 70)],
        [(T, 0.3, 62), (1 + T, 0.3, 72), (2 + T, 0.3, 60), (3 + T, 0.3, 74)],
        [(1, 0.3, 64), (1 + T, 0.6, 74), (3, 0.3, 62), (3 + T, 0.6, 72)],
    ]
    which = [None, 0, 0, 1, 0, 3, 3, 1, 0, 2, 2, 3, 2]
    for bar, ch in enumerate(chords):
        if which[bar] is None:
            continue
        for off, dur, vel in pats[which[bar]]:
            s.chord(pno, bar * 4 + off, dur, [p(n) for n in voic[ch]], vel)
    # piano intro: a descending triplet run over the V, then a stab
    run = ["E6", "D6", "B5", "A5", "G5", "E5", "D5", "B4", "A4"]
    for i, name in enumerate(run):
        s.note(pno, i / 3, 0.3, p(name), 78 - i * 2)
    s.chord(pno, 3 + T, 0.3, [p("G#4"), p("D5"), p("F#5")], 76)
    s.chord(pno, end * 4, 3.2, [p("A3"), p("G4"), p("B4"), p("C#5"), p("F#5")], 84, strum=0.03)

    # lead guitar: call and response in A minor pentatonic with bends and vibrato
    # (bar, beat, dur, note, bend, vibrato)
    licks = [
        (1, 0, 0.6, "C5", 1, 0), (1, T, 0.3, "A4", 0, 0), (1, 1, 0.6, "C5", 0, 0),
        (1, 1 + T, 0.3, "D5", 0, 0), (1, 2, 1.5, "E5", 0, 0.3),
        (2, 1 + T, 0.3, "D5", 0, 0), (2, 2, 0.6, "C5", 0, 0), (2, 2 + T, 0.3, "B4", 0, 0),
        (2, 3, 1.6, "A4", 0, 0.3),
        (3, 2 + T, 0.3, "E5", 0, 0), (3, 3, 1.5, "G5", 2, 0.25),
        (4, 1 + T, 0.3, "E5", 0, 0), (4, 2, 0.6, "G5", 0, 0), (4, 2 + T, 0.3, "E5", 0, 0),
        (4, 3, 0.6, "D5", 0, 0), (4, 3 + T, 0.3, "C5", 0, 0),
        (5, 0, 0.6, "A5", 0, 0), (5, T, 0.3, "G5", 0, 0), (5, 1, 0.6, "A5", 0, 0),
        (5, 1 + T, 0.3, "C6", 0, 0), (5, 2, 1.6, "A5", 0, 0.3),
        (6, 1, 0.6, "G5", 2, 0), (6, 1 + T, 0.3, "E5", 0, 0), (6, 2, 0.6, "D5", 0, 0),
        (6, 2 + T, 0.3, "C5", 0, 0), (6, 3, 0.9, "A4", 0, 0.3),
        (7, 0, 1.2, "C5", 1, 0.3), (7, 1 + T, 0.3, "A4", 0, 0), (7, 2, 0.6, "C5", 0, 0),
        (7, 2 + T, 0.3, "A4", 0, 0), (7, 3, 0.9, "G4", 0, 0),
        (8, 0, 2.0, "A4", 0, 0.35),
        (9, T, 0.3, "D5", 0, 0), (9, 1, 0.6, "E5", 0, 0), (9, 1 + T, 0.3, "D5", 0, 0),
        (9, 2, 1.8, "G5", 1, 0.3),
        (10, 0, 0.6, "A5", 0, 0), (10, T, 0.3, "G5", 0, 0), (10, 1, 0.6, "E5", 0, 0),
        (10, 1 + T, 0.3, "D5", 0, 0), (10, 2, 1.6, "C5", 0, 0.3),
        (11, 0, 1 / 3, "A4", 0, 0), (11, 1 / 3, 1 / 3, "C5", 0, 0), (11, T, 1 / 3, "C#5", 0, 0),
        (11, 1, 0.6, "E5", 0, 0), (11, 1 + T, 0.3, "G5", 0, 0), (11, 2, 1.7, "A5", 0, 0.3),
        (13, 0, 3.2, "C5", 1, 0.3),
    ]
    for bar, beat, dur, name, bend, vib in licks:
        s.note(lead, bar * 4 + beat, dur, p(name), 92 if beat % 1 == 0 else 80, bend=bend, vibrato=vib)
    turnaround = ["A5", "G5", "E5", "Eb5", "D5", "C5", "A4", "C5", "A4"]
    for i, name in enumerate(turnaround):
        s.note(lead, 12 * 4 + i / 3, 0.3, p(name), 90 - (i % 3) * 8)
    s.note(lead, 12 * 4 + 3, 0.9, p("B4"), 88)

    # drums: shuffle on hi-hat, then ride for the last four bars
    for bar in range(end):
        b0 = bar * 4
        cym = HAT if bar < 9 else RIDE
        for beat in range(4):
            if bar == 12 and beat == 3:
                continue
            if not (beat == 0 and bar in (1, 9)):
                s.hit(dr, b0 + beat, cym, 74 if beat % 2 == 0 else 66)
            s.hit(dr, b0 + beat + T, cym, 50)
            if cym == RIDE and beat % 2 == 1:
                s.hit(dr, b0 + beat, PEDAL_HAT, 58)
        s.hit(dr, b0, KICK, 90)
        s.hit(dr, b0 + 2, KICK, 80)
        if bar % 2 == 1:
            s.hit(dr, b0 + 1 + T, KICK, 52)
        s.hit(dr, b0 + 1, SNARE, 92)
        if bar != 12:
            s.hit(dr, b0 + 3, SNARE, 96)
        if s.rng.random() < 0.6:
            s.hit(dr, b0 + T, SNARE, 26)
        if s.rng.random() < 0.6:
            s.hit(dr, b0 + 2 + T, SNARE, 30)
        if bar in (4, 8):
            s.hit(dr, b0 + 3 + T, SNARE, 64)
    for bar in (1, 9):
        s.hit(dr, bar * 4, CRASH, 92)
    for i, vel in enumerate((62, 76, 92)):
        s.hit(dr, 12 * 4 + 3 + i / 3, SNARE, vel)
    s.hit(dr, end * 4, CRASH, 108)
    s.hit(dr, end * 4, KICK, 104)

    s.end_beat = end * 4 + 3.5
    return s


def compose_rock(seed=1301) -> Song:
    """Power-chord rock in E, 118 bpm: intro riff, verse, chorus, ending; a warm 70s mix."""
    s = Song("rock", "Overdrive Highway", 118, seed, timing_ms=5)
    s.band = (60.0, 3500.0)  # a warm, mid-heavy record: no sizzle on top
    s.saturation = 3.0  # and driven a little, like tape pushed hard
    gl = s.track("Guitar L", 0, 30, volume=98, pan=20, reverb=30)
    gr = s.track("Guitar R", 1, 30, volume=98, pan=108, reverb=30)
    bass = s.track("Bass", 2, 34, volume=110, pan=64, reverb=12)
    lead = s.track("Lead guitar", 3, 29, volume=90, pan=64, reverb=60, bendable=True)
    dr = s.track("Drums", 9, 16, volume=112, pan=64, reverb=30)  # Power kit

    groot = {c: p(n) for c, n in zip("EGABCD", ("E2", "G2", "A2", "B2", "C3", "D3"))}
    broot = {c: p(n) for c, n in zip("EGABCD", ("E1", "G1", "A1", "B1", "C2", "D2"))}

    def power(guitars, beat, dur, ch, vel, muted=False):
        r = groot[ch]
        notes = [r, r + 7] if muted else [r, r + 7, r + 12]
        for g in guitars:
            s.chord(g, beat, dur, notes, vel, strum=0.0 if muted else 0.012)

    chug = [(x / 2, 0.22, "E", (98, 74, 86, 74, 88, 74)[x], True) for x in range(6)]
    riff_a = chug + [(3, 0.45, "G", 108, False), (3.5, 0.45, "A", 110, False)]
    riff_b = chug[:4] + [(2, 0.9, "D", 108, False), (3, 0.45, "C", 104, False), (3.5, 0.45, "D", 108, False)]
    riff_end = chug[:4] + [(2, 1.9, "B", 112, False)]

    def riff_bar(bar, riff, guitars):
        for beat, dur, ch, vel, muted in riff:
            power(guitars, bar * 4 + beat, dur, ch, vel, muted)
        # bass: eighths on whatever the riff is playing
        for x in range(8):
            ch = [c for (b, d, c, v, m) in riff if b <= x / 2][-1]
            s.note(bass, bar * 4 + x / 2, 0.42, broot[ch], 100 if x % 2 == 0 else 86)

    chorus = [["A"], ["C", "D"], ["E"], ["E"], ["A"], ["C", "D"], ["B"], ["B"]]

    # intro: guitars and drums, the bass joins in the verse
    riff_bar(0, riff_a, [gl, gr])
    riff_bar(1, riff_b, [gl, gr])
    bass.notes.clear()
    for bar in range(2, 10):
        riff = riff_end if bar == 9 else (riff_a if bar % 2 == 0 else riff_b)
        riff_bar(bar, riff, [gl, gr])
    for i, ch_list in enumerate(chorus):
        bar = 10 + i
        for x in range(8):
            ch = ch_list[0] if x < 4 or len(ch_list) == 1 else ch_list[1]
            s.note(bass, bar * 4 + x / 2, 0.42, broot[ch], 102 if x % 2 == 0 else 88)
            ring = i in (3, 7) and x == 0
            if i in (3, 7) and x in (1, 2, 3):
                continue
            power([gl, gr], bar * 4 + x / 2, 1.9 if ring else 0.42, ch, 110 if x % 2 == 0 else 94)
    riff_bar(18, riff_a, [gl, gr])
    power([gl, gr], 19 * 4, 4.0, "E", 116)
    s.chord(gl, 19 * 4, 4.0, [p("B3"), p("E4")], 96)
    s.note(bass, 19 * 4, 4.0, broot["E"], 110)

    # lead guitar melody over the chorus and the last chord
    mel = [
        (10, 0, 1.5, "C#5", 0, 0), (10, 1.5, 0.5, "B4", 0, 0), (10, 2, 2, "A4", 0, 0.3),
        (11, 0, 2, "C5", 0, 0.3), (11, 2, 2, "D5", 0, 0.3),
        (12, 0, 3, "E5", 0, 0.35), (12, 3, 0.5, "D5", 0, 0), (12, 3.5, 0.5, "B4", 0, 0),
        (13, 0, 2, "G#4", 0, 0.3), (13, 2, 1, "B4", 0, 0), (13, 3, 1, "E5", 0, 0),
        (14, 0, 1.5, "C#5", 0, 0), (14, 1.5, 0.5, "E5", 0, 0), (14, 2, 2, "A5", 0, 0.35),
        (15, 0, 2, "G5", 0, 0.3), (15, 2, 2, "F#5", 0, 0.3),
        (16, 0, 3, "E5", 2, 0.35), (16, 3, 1, "D#5", 0, 0),
        (17, 0, 2, "D#5", 0, 0.3), (17, 2, 2, "F#5", 0, 0.3),
        (19, 0, 3.8, "D5", 2, 0.4),
    ]
    for bar, beat, dur, name, bend, vib in mel:
        s.note(lead, bar * 4 + beat, dur, p(name), 100 if beat % 2 == 0 else 92, bend=bend, vibrato=vib)

    # drums
    def fill(bar, start, keys):
        for i, key in enumerate(keys):
            s.hit(dr, bar * 4 + start + i / 4, key, 92 + 2 * i)

    for bar in range(0, 19):
        b0 = bar * 4
        chorus_bar = 10 <= bar < 18
        fill_from = {9: 2.0, 17: 3.0, 18: 3.0}.get(bar, 4.0)
        for x in range(8):
            beat = x / 2
            if beat >= fill_from:
                break
            crash_here = x == 0 and (bar in (0, 2, 18) or (chorus_bar and bar % 2 == 0))
            if crash_here:
                s.hit(dr, b0, CRASH, 112)
            elif chorus_bar:
                s.hit(dr, b0 + beat, RIDE, 96 if x % 2 == 0 else 80)
            else:
                s.hit(dr, b0 + beat, HAT, 92 if x % 2 == 0 else 70)
        kicks = [0, 2, 2.5] + ([1.5] if bar % 2 else []) + ([3.5] if chorus_bar and bar % 2 == 0 else [])
        for k in kicks:
            if k < fill_from:
                s.hit(dr, b0 + k, KICK, 108)
        for sn in (1, 3):
            if sn < fill_from:
                s.hit(dr, b0 + sn, SNARE, 112)
    fill(9, 2.0, [TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_LOW, TOM_LOW, TOM_FLOOR, TOM_FLOOR])
    fill(17, 3.0, [SNARE, TOM_HIGH, TOM_LOW, TOM_FLOOR])
    fill(18, 3.0, [SNARE, SNARE, TOM_MID, TOM_FLOOR])
    s.hit(dr, 19 * 4, CRASH, 120)
    s.hit(dr, 19 * 4, KICK, 118)

    s.end_beat = 19 * 4 + 4
    return s


def compose_disco(seed=1401) -> Song:
    """Disco in A minor, 120 bpm: drum intro, string-stab groove, melody section."""
    s = Song("disco", "Mirrorball Strut", 120, seed, timing_ms=4)
    bass = s.track("Synth bass", 0, 38, volume=106, pan=64, reverb=10)
    strings = s.track("String stabs", 1, 48, volume=88, pan=84, reverb=60)
    melody = s.track("String melody", 2, 48, volume=92, pan=44, reverb=65)
    gtr = s.track("Rhythm guitar", 3, 28, volume=76, pan=26, reverb=25)
    ep = s.track("Electric piano", 4, 4, volume=78, pan=100, reverb=40, chorus=40)
    brass = s.track("Brass", 5, 61, volume=86, pan=64, reverb=45)
    dr = s.track("Drums", 9, 0, volume=110, pan=64, reverb=25)

    voic = {
        "Am7": ["A3", "C4", "E4", "G4"], "Dm7": ["A3", "C4", "D4", "F4"],
        "Fmaj7": ["F3", "A3", "C4", "E4"], "Em7": ["G3", "B3", "D4", "E4"],
        "G": ["G3", "B3", "D4", "G4"], "Cmaj7": ["G3", "B3", "C4", "E4"],
        "E7": ["G#3", "B3", "D4", "E4"],
    }
    voic = {k: [p(n) for n in v] for k, v in voic.items()}
    root = {"Am7": p("A1"), "Dm7": p("D2"), "Fmaj7": p("F1"), "Em7": p("E1"),
            "G": p("G1"), "Cmaj7": p("C2"), "E7": p("E1")}
    sec_a = ["Am7", "Am7", "Dm7", "Dm7", "Am7", "Am7", "Fmaj7", "E7"]
    sec_b = ["Fmaj7", "G", "Em7", "Am7", "Dm7", "G", "Cmaj7", "E7"]
    chords = [None, "Am7"] + sec_a + sec_b + ["Am7", "Am7"]  # bars 0..19
    last = len(chords) - 1

    # octave-jumping bass with sixteenth pickups into chord changes
    for bar in range(1, last):
        ch, nxt = chords[bar], chords[bar + 1]
        r = root[ch]
        for x in range(8):
            beat = bar * 4 + x / 2
            if x == 7 and nxt != ch:
                s.note(bass, beat, 0.2, r + 12, 84)
                s.note(bass, beat + 0.25, 0.2, root[nxt] + 12, 78)
            elif x % 2 == 0:
                s.note(bass, beat, 0.4, r, 104)
            else:
                s.note(bass, beat, 0.22, r + 12, 90)
    s.note(bass, last * 4, 2.0, root["Am7"], 110)

    # strings: syncopated stabs (groove sections), pads under the melody
    stab_a = [(0, 0.3), (1.5, 0.3), (2.5, 0.3), (3, 0.6)]
    stab_b = [(0.5, 0.3), (1.5, 0.3), (2.75, 0.25), (3.5, 0.4)]
    for bar in list(range(2, 10)) + [18]:
        for off, dur in (stab_a if bar % 2 == 0 else stab_b):
            s.chord(strings, bar * 4 + off, dur, [n + 12 for n in voic[chords[bar]]], 96)
    for bar in range(10, 18):
        s.chord(strings, bar * 4, 3.9, [n + 12 for n in voic[chords[bar]][:3]], 62)
    s.chord(strings, last * 4, 2.0, [n + 12 for n in voic["Am7"]], 110)

    def rip(beat, lo="A3"):  # a fast scale run up into a downbeat
        scale = [0, 2, 3, 5, 7, 8, 10]
        start = p(lo)
        for i in range(8):
            pitch = start + 12 * (i // 7) + scale[i % 7]
            s.note(melody, beat + i / 8, 0.14, pitch + 12, 70 + 5 * i)

    rip(1 * 4 + 3)
    rip(9 * 4 + 3)
    rip(18 * 4 + 3)

    # the melody of the second section, doubled an octave below
    mel = [
        (10, 0, 1.5, "A5"), (10, 1.5, 0.5, "G5"), (10, 2, 1, "A5"), (10, 3, 1, "C6"),
        (11, 0, 3, "B5"), (11, 3, 1, "G5"),
        (12, 0, 1.5, "G5"), (12, 1.5, 0.5, "E5"), (12, 2, 1, "G5"), (12, 3, 1, "B5"),
        (13, 0, 3.5, "A5"),
        (14, 0, 1.5, "F5"), (14, 1.5, 0.5, "E5"), (14, 2, 1, "F5"), (14, 3, 1, "A5"),
        (15, 0, 1.5, "G5"), (15, 1.5, 0.5, "F5"), (15, 2, 1, "G5"), (15, 3, 1, "B5"),
        (16, 0, 3, "C6"), (16, 3, 1, "B5"),
        (17, 0, 2, "B5"), (17, 2, 2, "G#5"),
    ]
    for bar, beat, dur, name in mel:
        vel = 98 if beat == 0 else 90
        s.note(melody, bar * 4 + beat, dur * 0.97, p(name), vel)
        s.note(melody, bar * 4 + beat, dur * 0.97, p(name) - 12, vel - 12)

    # electric piano bed and chicken-scratch guitar
    for bar in range(2, last):
        v = voic[chords[bar]]
        for off, dur, vel in ((0, 1.4, 64), (1.5, 0.45, 58), (2.5, 1.4, 62)):
            s.chord(ep, bar * 4 + off, dur, v, vel)
        for x in range(16):
            s.chord(gtr, bar * 4 + x / 4, 0.12, [v[2] + 12, v[3] + 12], (62, 36, 86, 40)[x % 4])
    s.chord(ep, last * 4, 2.0, voic["Am7"], 80)

    # brass pushes into the next bar
    for bar in (3, 5, 9, 11, 13, 15, 17):
        nxt = voic[chords[bar + 1]]
        s.chord(brass, bar * 4 + 3.5, 0.4, [n + 12 for n in nxt[1:]], 100)
    for off, dur in ((0, 0.3), (0.75, 0.3), (1.5, 0.6)):
        s.chord(brass, 18 * 4 + off, dur, [n + 12 for n in voic["Am7"][1:]], 96)
    s.chord(brass, last * 4, 2.0, [n + 12 for n in voic["Am7"][1:]], 108)

    # drums: four on the floor, open hats on the offbeats
    for bar in range(0, last):
        b0 = bar * 4
        for beat in range(4):
            s.hit(dr, b0 + beat, KICK, 112)
            if bar >= 1 and beat in (1, 3) and not (bar == 1 and beat == 3):
                s.hit(dr, b0 + beat, SNARE, 96)
                s.hit(dr, b0 + beat, CLAP, 84)
            if not (beat == 0 and bar in (2, 10, 18)):
                s.hit(dr, b0 + beat, HAT, 70)
            s.hit(dr, b0 + beat + 0.25, HAT, 40)
            s.hit(dr, b0 + beat + 0.5, OPEN_HAT, 88)
            if 10 <= bar < 18:
                for q in (0.25, 0.75):
                    s.hit(dr, b0 + beat + q, TAMBOURINE, 46)
        if bar in (2, 10, 18):
            s.hit(dr, b0, CRASH, 104)
    for i in range(4):
        s.hit(dr, 1 * 4 + 3 + i / 4, SNARE, 70 + 10 * i)
        s.hit(dr, 9 * 4 + 3 + i / 4, SNARE, 80 + 8 * i)
        s.hit(dr, 17 * 4 + 3 + i / 4, (TOM_HIGH, TOM_MID, TOM_LOW, TOM_FLOOR)[i], 96)
    s.hit(dr, last * 4, CRASH, 116)
    s.hit(dr, last * 4, KICK, 116)

    s.end_beat = last * 4 + 2.5
    return s


def compose_classical(seed=1501) -> Song:
    """A small piano sonatina in C major with an Alberti bass, 100 bpm."""
    s = Song("classical", "Sonatina in C", 100, seed, timing_ms=9, vel_spread=3.5)
    pno = s.track("Piano", 0, 0, volume=112, pan=64, reverb=80)

    harmony = [
        [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "G"), (2, "G7")],
        [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "C"), (2, "cad")],
        [(0, "Am")], [(0, "Dm")], [(0, "G7")], [(0, "G7")],
        [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "end")],
    ]
    alberti = {
        "C": "C3 G3 E3 G3", "F": "C3 A3 F3 A3", "C64": "G2 E3 C3 E3",
        "G7": "G2 F3 B2 F3", "G": "G2 D3 B2 D3", "Am": "A2 E3 C3 E3", "Dm": "D3 A3 F3 A3",
    }
    pcs = {"C": {0, 4, 7}, "F": {5, 9, 0}, "C64": {0, 4, 7}, "G7": {7, 11, 2, 5},
           "G": {7, 11, 2}, "Am": {9, 0, 4}, "Dm": {2, 5, 9}, "cad": {0, 4, 7}, "end": {0, 4, 7}}
    melody = [
        "C5:2 E5:1 G5:1", "A5:3 G5:.5 F5:.5", "E5:1 G5:1 D5:1 F5:1",
        "D5:2 G5:.5 F5:.5 E5:.5 D5:.5",
        "C5:2 E5:1 G5:1", "A5:2 C6:1 A5:1", "G5:1 E5:1 F5:.5 E5:.5 D5:1", "C5:3 B4:.5 D5:.5",
        "E5:1.5 D5:.5 C5:1 E5:1", "F5:1.5 E5:.5 D5:1 F5:1", "G5:1.5 F5:.5 E5:1 D5:1",
        "D5:.5 E5:.5 F5:.5 G5:.5 A5:.5 G5:.5 F5:.5 D5:.5",
        "C5:2 E5:1 G5:1", "A5:2 C6:1 A5:1",
        "G5:.5 A5:.5 G5:.5 E5:.5 D5:.5 E5:.5 F5:.5 D5:.5", "C5:4",
    ]
    # dynamics per bar: (melody, accompaniment) velocity
    dyn = [(70, 46)] * 8 + [(72, 48), (76, 50), (80, 53), (84, 56)] + [(84, 54), (86, 55), (80, 52), (74, 48)]

    # tempo: slight broadening at phrase ends, ritardando into the final chord
    s.tempo(7 * 4 + 3, 92)
    s.tempo(8 * 4, 100)
    s.tempo(11 * 4 + 2, 96)
    s.tempo(12 * 4, 100)
    for i, bpm in enumerate((96, 90, 84, 78)):
        s.tempo(14 * 4 + i, bpm)
    s.tempo(15 * 4, 64)

    def chord_at(bar, beat):
        name = harmony[bar][0][1]
        for b, n in harmony[bar]:
            if b <= beat:
                name = n
        return name

    for bar in range(16):
        mv, av = dyn[bar]
        b0 = bar * 4
        # right hand
        beat = 0.0
        for tok in melody[bar].split():
            name, dur = tok.split(":")
            dur = float(dur)
            if name != "-":
                accent = 6 if beat == 0 else 3 if beat == 2 else -4 if beat % 1 else 0
                pitch = p(name)
                hold = dur * (0.97 if dur >= 1 else 0.9)
                s.note(pno, b0 + beat, hold, pitch, mv + accent)
                if 12 <= bar < 15 and dur >= 1:  # second-time thickening: a chord tone below
                    below = next(q for q in range(pitch - 3, pitch - 13, -1) if q % 12 in pcs[chord_at(bar, beat)])
                    s.note(pno, b0 + beat, hold, below, mv - 14)
            beat += dur
        # left hand
        segs = harmony[bar]
        for i, (start, name) in enumerate(segs):
            stop = segs[i + 1][0] if i + 1 < len(segs) else 4
            if name == "cad":  # cadence: low octave under the held tonic
                s.chord(pno, b0 + start, 1.9, [p("C2"), p("C3")], av + 8)
                s.cc(pno, b0 + start + 0.06, 64, 100)
                s.cc(pno, b0 + 3.96, 64, 0)
                continue
            if name == "end":
                s.chord(pno, b0, 4.0, [p("C2"), p("C3"), p("G3")], av + 6, strum=0.05)
                s.chord(pno, b0 + 0.12, 3.9, [p("E4"), p("G4")], mv - 10, strum=0.04)
                s.cc(pno, b0 + 0.05, 64, 127)
                s.cc(pno, b0 + 4.5, 64, 0)
                continue
            pat = [p(n) for n in alberti[name].split()]
            x = start
            while x < stop - 1e-9:
                k = int(round((x - start) * 4)) % 4
                s.note(pno, b0 + x, 0.24, pat[k], av + (5 if k == 0 else 0))
                x += 0.25
            s.cc(pno, b0 + start + 0.06, 64, 100)
            s.cc(pno, b0 + stop - 0.04, 64, 0)

    s.end_beat = 16 * 4 + 0.5
    return s


# ---------------------------------------------------------------------------
# Helpers for the pieces below
# ---------------------------------------------------------------------------

QUALITY = {"m7": (0, 3, 7, 10), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "m7b5": (0, 3, 6, 10),
           "6": (0, 4, 7, 9), "": (0, 4, 7), "m": (0, 3, 7)}


def chord_name(name: str) -> tuple[int, tuple[int, ...]]:
    """'Bbmaj7' -> (pitch class 10, (0, 4, 7, 11))."""
    root = name[:2] if len(name) > 1 and name[1] in "#b" else name[:1]
    pc = (_STEPS[root[0]] + (1 if "#" in root else -1 if len(root) > 1 else 0)) % 12
    return pc, QUALITY[name[len(root):]]


def near(pc: int, lo: int) -> int:
    """The first pitch of pitch class ``pc`` at or above ``lo``."""
    return lo + (pc - lo) % 12


def phrase(song: Song, tr: Track, bar: int, tokens: str, vel: int, swing: bool = False,
           bend_on: tuple = (), vibrato: float = 0.0) -> None:
    """A bar of melody in eighth notes: 'D5:2 C5:1 r:1' (name:eighths, r = rest).
    With ``swing`` the off-beat eighths fall on the triplet; ``bend_on`` lists the
    eighth positions of notes that start a semitone low and bend up."""
    k = 0
    for tok in tokens.split():
        name, n = tok.split(":")
        n = int(n)
        if name != "r":
            beat = k // 2 + ((T if swing else 0.5) if k % 2 else 0.0)
            end = (k + n) // 2 + ((T if swing else 0.5) if (k + n) % 2 else 0.0)
            bend = 1 if k in bend_on else 0
            accent = 6 if k % 4 == 0 else 0
            song.note(tr, bar * 4 + beat, (end - beat) * 0.92, p(name) - bend, vel + accent,
                      bend=bend, vibrato=vibrato if n >= 3 else 0.0)
        k += n


def compose_jazz(seed=1601) -> Song:
    """Medium swing in Bb, 150 bpm: piano-trio intro, tenor-sax head over ii-V-Is, tag ending."""
    s = Song("jazz", "Late Set in B-flat", 150, seed, timing_ms=7)
    bass = s.track("Upright bass", 0, 32, volume=112, pan=56, reverb=30)
    pno = s.track("Piano", 1, 0, volume=86, pan=84, reverb=45)
    sax = s.track("Tenor sax", 2, 66, volume=100, pan=44, reverb=55, bendable=True)
    dr = s.track("Drums", 9, 32, volume=98, pan=64, reverb=40)  # Jazz kit
    s.band = (40.0, 9000.0)  # a warm room, not a bright studio

    bars = (["Cm7", "F7", "Bb6", "G7"]
            + ["Cm7", "F7", "Bbmaj7", "Ebmaj7", "Am7b5", "D7", "Gm7", "Gm7",
               "Cm7", "F7", "Dm7 G7", "Cm7 F7", "Bbmaj7", "Ebmaj7", "Cm7 F7", "Bb6"]
            + ["Cm7 F7", "Dm7 G7", "Cm7 F7", "Bb6"])
    end = len(bars) - 1
    halves = [[c for c in b.split()] for b in bars]

    def chord_at(bar, beat):
        h = halves[bar]
        return h[0] if len(h) == 1 or beat < 2 else h[1]

    # walking bass: root on one, chord tones through the bar, a half step into the next root
    for bar in range(end):
        for beat in range(4):
            pc, q = chord_name(chord_at(bar, beat))
            root = near(pc, p("G1"))
            if beat == 0 or (beat == 2 and len(halves[bar]) == 2):
                pitch = root
            elif beat == 3:
                npc, _ = chord_name(chord_at(bar + 1, 0) if beat == 3 else chord_at(bar, beat + 1))
                target = near(npc, p("G1"))
                pitch = target + (1 if (bar + beat) % 3 else -1)
            else:
                pitch = root + q[(beat if len(halves[bar]) == 1 else 1) % len(q)] + (0 if beat != 2 else 0)
                if beat == 2 and len(halves[bar]) == 1:
                    pitch = root + q[2]
            s.note(bass, bar * 4 + beat, 0.9, pitch, (100, 84, 92, 84)[beat])
    pc, q = chord_name("Bb6")
    s.note(bass, end * 4, 3.5, near(pc, p("G1")), 100)

    # piano: rootless voicings (3rd, 7th, 9th / 5th), Charleston and anticipations
    def voicing(name):
        pc, q = chord_name(name)
        third, seventh = q[1], q[3] if len(q) > 3 else 9
        return sorted(near((pc + i) % 12, p("E3")) for i in (third, seventh, (14 if q[1] == 4 else 7)))

    comp = [[(0, 0.55), (1 + T, 0.3)], [(T, 0.3), (2, 0.55)], [(1 + T, 0.9), (3 + T, 0.3)],
            [(0, 0.3), (2 + T, 0.9)]]
    for bar in range(end):
        for off, dur in comp[(bar * 5 + bar // 4) % 4]:
            s.chord(pno, bar * 4 + off, dur, voicing(chord_at(bar, off)), 62 if off % 1 else 70)
    # the intro's piano fill and the final chord
    for i, name in enumerate(("D5", "F5", "A5", "C6", "Bb5", "G5", "F5", "D5")):
        s.note(pno, 3 * 4 + i / 2 + (T - 0.5) * (i % 2), 0.3, p(name), 70)
    s.chord(pno, end * 4, 3.5, [p("D4"), p("G4"), p("C5"), p("F5")], 74, strum=0.03)

    head = {
        4: "G4:1 Bb4:1 D5:1 F5:1 Eb5:2 D5:1 C5:1", 5: "A4:3 F4:1 Eb4:2 r:2",
        6: "D4:1 F4:1 A4:1 C5:1 Bb4:4", 7: "r:2 G4:1 Bb4:1 D5:2 C5:2",
        8: "Eb5:2 C5:1 A4:1 G4:2 Eb4:2", 9: "F#4:1 A4:1 C5:1 Eb5:1 D5:3 r:1",
        10: "Bb4:2 A4:1 G4:1 F4:1 D4:1 F4:2", 11: "G4:6 r:2",
        12: "C5:1 D5:1 Eb5:1 G5:1 F5:2 Eb5:2", 13: "D5:1 C5:1 A4:1 F4:1 Ab4:2 G4:2",
        14: "F4:1 A4:1 C5:1 E5:1 D5:1 B4:1 G4:2", 15: "Eb4:1 G4:1 Bb4:1 D5:1 C5:1 A4:1 F4:2",
        16: "D5:4 r:2 F4:1 G4:1", 17: "Bb4:2 D5:2 G5:2 F5:2",
        18: "Eb5:1 D5:1 C5:1 Bb4:1 A4:1 C5:1 Eb5:2", 19: "D5:6 r:2",
        20: "F5:2 D5:2 Bb4:2 G4:2", 21: "A4:4 r:4", 22: "C5:2 A4:2 F4:2 Eb4:2", 23: "D5:8",
    }
    for bar, line in head.items():
        phrase(s, sax, bar, line, 88, swing=True, bend_on=(0,) if bar in (5, 11, 19) else (),
               vibrato=0.25)

    # drums: the ride's ding, ding-a ding; hi-hat on two and four; feathered kick, snare comping
    for bar in range(end):
        b0 = bar * 4
        for beat in range(4):
            s.hit(dr, b0 + beat, RIDE, 84 if beat % 2 else 74)
            if beat % 2:
                s.hit(dr, b0 + beat + T, RIDE, 60)
                s.hit(dr, b0 + beat, PEDAL_HAT, 70)
            s.hit(dr, b0 + beat, KICK, 34)
        for off in (T, 1 + T, 2 + T, 3 + T):
            if s.rng.random() < 0.3:
                s.hit(dr, b0 + off, SNARE, s.rng.randint(30, 56))
        if bar in (3, 19):
            s.hit(dr, b0 + 3 + T, SNARE, 84)
            s.hit(dr, b0 + 3 + T, KICK, 80)
    s.hit(dr, end * 4, CRASH, 90)
    s.hit(dr, end * 4, KICK, 84)

    s.end_beat = end * 4 + 3.5
    return s


def compose_country(seed=1701) -> Song:
    """Country two-step in G, 120 bpm: boom-chick bass and strum, Telecaster, fiddle chorus."""
    s = Song("country", "Gravel Road Home", 120, seed, timing_ms=6)
    bass = s.track("Bass", 0, 33, volume=108, pan=64, reverb=20)
    ac = s.track("Acoustic guitar", 1, 25, volume=92, pan=30, reverb=35)
    tele = s.track("Telecaster", 2, 27, volume=96, pan=96, reverb=40, bendable=True)
    fid = s.track("Fiddle", 3, 110, volume=96, pan=70, reverb=50, bendable=True)
    dr = s.track("Drums", 9, 0, volume=96, pan=64, reverb=25)

    chords = ["G", "D"] + ["G", "G", "C", "G", "G", "G", "D", "D"] + \
             ["C", "C", "G", "G", "D", "D", "G", "G"] + ["D", "G"]
    end = len(chords) - 1
    low = {"G": p("G1"), "C": p("C2"), "D": p("D2")}
    shapes = {"G": ["G2", "B2", "D3", "G3", "B3", "G4"], "C": ["C3", "E3", "G3", "C4", "E4"],
              "D": ["D3", "A3", "D4", "F#4"]}

    for bar, ch in enumerate(chords[:end]):
        b0, r = bar * 4, low[ch]
        nxt = chords[bar + 1]
        # bass: root on one, fifth on three, a walk-up into a new chord
        s.note(bass, b0, 0.9, r, 104)
        if nxt != ch and bar >= 1:
            for i, step in enumerate((0, 2, 4)):
                s.note(bass, b0 + 2 + i * 0.5 + (0.5 if i else 0), 0.45, r + step + (0 if i else 7), 90)
        else:
            s.note(bass, b0 + 2, 0.9, r + 7 if r + 7 < p("C3") else r - 5, 96)
        # acoustic guitar: bass note, then strums on the backbeat (boom-chick)
        notes = [p(n) for n in shapes[ch]]
        s.note(ac, b0, 0.45, notes[0], 84)
        s.note(ac, b0 + 2, 0.45, notes[1] if ch != "D" else notes[0] + 7, 80)
        for off, vel in ((1, 80), (1.5, 60), (3, 82), (3.5, 62)):
            s.chord(ac, b0 + off, 0.4, notes[1:], vel, strum=0.012)
    s.chord(ac, end * 4, 3.5, [p(n) for n in shapes["G"]], 90, strum=0.03)
    s.note(bass, end * 4, 3.5, low["G"], 104)

    verse = {
        0: "r:4 D4:1 E4:1 G4:1 A4:1", 1: "B4:2 A4:2 F#4:2 D4:2",
        2: "D4:1 E4:1 G4:2 G4:1 A4:1 B4:2", 3: "D5:3 B4:1 A4:2 G4:2",
        4: "E4:1 G4:1 C5:2 C5:1 B4:1 A4:2", 5: "G4:6 r:2",
        6: "B4:1 D5:1 E5:2 D5:1 B4:1 A4:2", 7: "G4:2 A4:2 B4:2 D5:2",
        8: "F#4:1 A4:1 D5:2 C5:1 A4:1 F#4:2", 9: "A4:4 B4:1 A4:1 F#4:2",
    }
    for bar, line in verse.items():
        phrase(s, tele, bar, line, 92, bend_on=(0, 2) if bar in (3, 6, 9) else ())
    # Telecaster double stops under the chorus
    for bar in range(10, 18):
        ch = chords[bar]
        top = {"C": ["E4", "G4"], "G": ["D4", "G4"], "D": ["F#4", "A4"]}[ch]
        for off in (1.5, 3.5):
            s.chord(tele, bar * 4 + off, 0.3, [p(n) for n in top], 70)
    chorus = {
        10: "E5:3 D5:1 C5:2 E5:2", 11: "G5:4 E5:2 C5:2", 12: "D5:3 B4:1 G4:2 B4:2",
        13: "D5:6 r:2", 14: "F#5:3 E5:1 D5:2 F#5:2", 15: "A5:4 F#5:2 D5:2",
        16: "B5:2 A5:2 G5:2 D5:2", 17: "G5:6 r:2", 18: "A5:2 F#5:2 D5:2 C5:2", 19: "B4:7",
    }
    for bar, line in chorus.items():
        phrase(s, fid, bar, line, 94, bend_on=(0,) if bar in (11, 15) else (), vibrato=0.2)

    # drums: kick on one and three, snare on two and four, light eighths on the hat
    for bar in range(end):
        b0 = bar * 4
        for x in range(8):
            s.hit(dr, b0 + x / 2, HAT, 62 if x % 2 == 0 else 44)
        s.hit(dr, b0, KICK, 96)
        s.hit(dr, b0 + 2, KICK, 90)
        for sn in (1, 3):
            s.hit(dr, b0 + sn, SNARE if bar >= 2 else SIDESTICK, 84)
    s.hit(dr, 2 * 4, CRASH, 90)
    s.hit(dr, 10 * 4, CRASH, 96)
    s.hit(dr, end * 4, CRASH, 100)
    s.hit(dr, end * 4, KICK, 100)

    s.end_beat = end * 4 + 3.5
    return s


def compose_metal(seed=1801, tune=-4) -> Song:
    """Metal in C minor (E shapes, tuned down), 150 bpm: galloping palm-muted riff over double
    kick, tremolo section, a lead; four guitars (two distorted, two overdriven) and a hot master."""
    s = Song("metal", "Iron Furnace", 150, seed, timing_ms=3, vel_spread=4)
    gl = s.track("Guitar L", 0, 30, volume=65, pan=12, reverb=20)
    gr = s.track("Guitar R", 1, 30, volume=65, pan=116, reverb=20)
    bass = s.track("Bass", 2, 34, volume=70, pan=64, reverb=10)  # felt more than heard
    lead = s.track("Lead guitar", 3, 30, volume=92, pan=64, reverb=55, bendable=True)
    gl2 = s.track("Guitar L, overdrive", 4, 29, volume=61, pan=30, reverb=20)
    gr2 = s.track("Guitar R, overdrive", 5, 29, volume=61, pan=98, reverb=20)
    dr = s.track("Drums", 9, 16, volume=127, pan=64, reverb=20)  # Power kit, up front
    s.saturation = 6.0  # a driven, brick-walled master, as the genre's records are

    # tune: semitones the guitars and bass are tuned down (-4: E shapes sound in C)
    roots = {"E": p("E2"), "F": p("F2"), "G": p("G2"), "F#": p("F#2"), "Bb": p("Bb2"), "A": p("A2"),
             "C": p("C3"), "D": p("D3"), "B": p("B2")}
    roots = {k: v + tune for k, v in roots.items()}

    def hit(beat, dur, ch, vel, muted=True):
        r = roots[ch]
        for g in (gl, gr, gl2, gr2):
            s.chord(g, beat, dur, [r, r + 7] if muted else [r, r + 7, r + 12], vel)
        s.note(bass, beat, dur, r - 12, vel)

    def gallop(b, ch="E"):  # an eighth and two sixteenths
        hit(b, 0.22, ch, 108)
        hit(b + 0.5, 0.12, ch, 92)
        hit(b + 0.75, 0.12, ch, 96)

    riff_a = [("g", "E"), ("g", "E"), ("g", "E"), ("c", ("G", "F#"))]
    riff_b = [("g", "E"), ("g", "E"), ("c", ("Bb", "A")), ("c", ("F", "E"))]

    def riff_bar(bar, riff):
        for beat, (kind, ch) in enumerate(riff):
            if kind == "g":
                gallop(bar * 4 + beat, ch)
            else:
                hit(bar * 4 + beat, 0.45, ch[0], 112, muted=False)
                hit(bar * 4 + beat + 0.5, 0.45, ch[1], 110, muted=False)

    def tremolo(bar, chs):
        for beat, ch in enumerate(chs):
            for i in range(4):
                hit(bar * 4 + beat + i / 4, 0.22, ch, 104 if i == 0 else 92, muted=False)

    # 0-1: stabs; 2-9: riff; 10-17: tremolo; 18-21: riff with lead; 22: the last chord
    for beat in (0, 1.5, 3):
        hit(beat, 1.2, "E", 116, muted=False)
    hit(4, 1.2, "F", 116, muted=False)
    hit(5.5, 1.2, "G", 116, muted=False)
    hit(7, 1.0, "F#", 116, muted=False)
    for bar in list(range(2, 10)) + list(range(18, 22)):
        riff_bar(bar, riff_a if bar % 2 == 0 else riff_b)
    trem = [["E", "E", "F", "F"], ["G", "G", "F#", "F#"], ["E", "E", "C", "C"], ["B", "B", "Bb", "Bb"]]
    for i, bar in enumerate(range(10, 18)):
        tremolo(bar, trem[i % 4])
    end = 22
    hit(end * 4, 4.0, "E", 120, muted=False)

    solo = {
        18: "E5:3 G5:1 B5:2 A5:2", 19: "G5:2 F#5:2 E5:2 D5:2",
        20: "E5:1 F#5:1 G5:1 A5:1 B5:2 C6:2", 21: "B5:8",
    }
    for bar, line in solo.items():
        phrase(s, lead, bar, line, 100, bend_on=(0,) if bar in (18, 21) else (), vibrato=0.35)
    lead.notes = [Note(n.start, n.dur, n.pitch + tune, n.vel) for n in lead.notes]

    # drums: double kick in sixteenths, snare on two and four (on three in the tremolo part)
    for bar in range(end):
        b0 = bar * 4
        if bar < 2:
            for beat in (0, 1.5, 3) if bar == 0 else (0, 1.5, 3):
                s.hit(dr, b0 + beat, CRASH, 112)
                s.hit(dr, b0 + beat, KICK, 116)
            continue
        trem_part = 10 <= bar < 18
        for i in range(16):
            s.hit(dr, b0 + i / 4, KICK, 104 if i % 4 == 0 else 92)
        for sn in ((2,) if trem_part else (1, 3)):
            s.hit(dr, b0 + sn, SNARE, 118)
        for beat in range(4):
            if trem_part:
                s.hit(dr, b0 + beat, CRASH if beat % 2 == 0 else RIDE, 100)
            else:
                s.hit(dr, b0 + beat, RIDE, 90)
                s.hit(dr, b0 + beat + 0.5, RIDE, 72)
        if bar % 4 == 2:
            s.hit(dr, b0, CRASH, 116)
        if bar in (9, 17, 21):
            for i, key in enumerate((SNARE, SNARE, TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_FLOOR, TOM_FLOOR)):
                s.hit(dr, b0 + 2 + i / 4, key, 100 + i)
    s.hit(dr, end * 4, CRASH, 124)
    s.hit(dr, end * 4, KICK, 124)

    s.end_beat = end * 4 + 3.0
    return s


def compose_hiphop(seed=1901) -> Song:
    """Boom-bap in D minor, 90 bpm: hard kick and snare, swung hats, sub bass, a Rhodes loop."""
    s = Song("hiphop", "Basement Tape", 90, seed, timing_ms=4)
    sub = s.track("Sub bass", 0, 38, volume=112, pan=64, reverb=5)
    keys = s.track("Rhodes loop", 1, 4, volume=90, pan=50, reverb=35, chorus=30)
    stab = s.track("Horn stab", 2, 61, volume=80, pan=80, reverb=30)
    dr = s.track("Drums", 9, 25, volume=120, pan=64, reverb=10)  # TR-808 kit
    s.band = (30.0, 5000.0)  # a sampled loop: dusty highs
    s.saturation = 2.0

    loop = [("Dm9", ["F3", "A3", "C4", "E4"], p("D1")), ("Bbmaj7", ["F3", "A3", "D4"], p("Bb0")),
            ("Gm9", ["F3", "Bb3", "D4", "A4"], p("G1")), ("A7", ["G3", "C#4", "E4"], p("A1"))]
    bars = 16
    for bar in range(bars):
        name, voicing, root = loop[bar % 4]
        b0 = bar * 4
        for off, dur in ((0, 1.4), (1.75, 0.6), (2.5, 1.2)):
            s.chord(keys, b0 + off, dur, [p(n) for n in voicing], 72 if off == 0 else 60)
        if bar >= 2:  # sub bass: long notes with a pickup
            s.note(sub, b0, 1.4, root + 12, 110)
            s.note(sub, b0 + 1.75, 0.5, root + 12, 96)
            s.note(sub, b0 + 2.5, 1.2, root + 12 + (7 if bar % 2 else 0), 104)
        if bar >= 4 and bar % 4 == 3:
            s.chord(stab, b0 + 3.5, 0.3, [p("A4"), p("C#5"), p("E5")], 96)
        if bar < 1:
            continue
        # drums: kick on one and the "and" of two, snare on two and four, swung sixteenth hats
        for k in (0, 1.75, 2.5) if bar % 2 else (0, 0.75, 2.5):
            s.hit(dr, b0 + k, KICK, 120)
        for sn in (1, 3):
            s.hit(dr, b0 + sn, SNARE, 124)
            s.hit(dr, b0 + sn, CLAP, 90)
        for i in range(8):
            swing = 0.08 if i % 2 else 0.0
            s.hit(dr, b0 + i / 2 + swing, HAT, 88 if i % 2 == 0 else 60)
        if bar % 4 == 3:
            s.hit(dr, b0 + 3.75, OPEN_HAT, 80)
    rhymes = [
        "Late night session, the red light on", "Needle drops and the loop rolls on",
        "Basement tape and the beat goes round", "Eight oh eight with the heavy sound",
        "Dusty keys from a record crate", "Head nod slow and the night runs late",
        "Mic check one two, hear the snare", "Every rhyme hanging in the air",
        "City hums and the train rolls by", "Pen to the pad and I'm aiming high",
        "Kick on the one and the snare on the two", "Old school loop but the words are new",
        "Turn it up, let the speakers knock", "Basement tape, we rock the block",
    ]
    s.lines = [(bar * 4 + 0.0, 3.7, words) for bar, words in enumerate(rhymes, start=2)]
    s.voice = ("en-us+m1", 20, 6.0)  # a low voice, up front
    s.chord(keys, bars * 4, 2.0, [p("F3"), p("A3"), p("C4"), p("E4")], 70)
    s.note(sub, bars * 4, 2.0, p("D2"), 110)
    s.hit(dr, bars * 4, KICK, 120)

    s.end_beat = bars * 4 + 2.0
    return s


def compose_reggae(seed=2001) -> Song:
    """Rockers reggae in G, 84 bpm: kick on every beat with the rim on three, offbeat guitar
    skank, organ bubble, round synth bass, a clean guitar tune."""
    s = Song("reggae", "Sunday Yard", 84, seed, timing_ms=7)
    bass = s.track("Bass", 0, 38, volume=80, pan=64, reverb=10)
    skank = s.track("Skank guitar", 1, 27, volume=86, pan=36, reverb=30)
    organ = s.track("Organ bubble", 2, 17, volume=74, pan=92, reverb=25)
    mel = s.track("Lead guitar", 3, 27, volume=86, pan=64, reverb=50)
    dr = s.track("Drums", 9, 0, volume=104, pan=64, reverb=30)

    prog = [("G", ["G3", "B3", "D4"], p("G1")), ("C", ["G3", "C4", "E4"], p("C2")),
            ("G", ["G3", "B3", "D4"], p("G1")), ("D", ["F#3", "A3", "D4"], p("D2"))]
    lines = [  # the bass line of each chord: (beat, eighths, semitones over the root)
        [(0, 3, 0), (1.5, 1, 7), (2.5, 1, 12), (3, 2, 10)],
        [(0, 3, 0), (1.5, 1, 4), (2.5, 1, 7), (3, 2, 9)],
        [(0, 3, 0), (1.5, 1, 7), (2.5, 1, 12), (3, 2, 14)],
        [(0, 2, 0), (1, 1, 4), (1.5, 1, 7), (2.5, 1, 9), (3, 2, 12)],
    ]
    bars = 12
    for bar in range(bars):
        name, voicing, root = prog[bar % 4]
        b0 = bar * 4
        for off in (1, 3):  # the skank: short chords on two and four ("the offbeat" of the half bar)
            s.chord(skank, b0 + off, 0.22, [p(n) + 12 for n in voicing], 92, strum=0.008)
        for i in range(8):  # organ bubble: left hand on the offbeat eighths
            if i % 2:
                s.chord(organ, b0 + i / 2, 0.2, [p(n) for n in voicing], 64 if i in (1, 5) else 56)
        if bar >= 1:
            for beat, eighths, semis in lines[bar % 4]:
                s.note(bass, b0 + beat, eighths / 2 * 0.9, root + 12 + semis - (12 if semis > 12 else 0), 106)
        if bar >= 1:  # rockers: kick on every beat, the rim on three, straight eighths on the hat
            for beat in range(4):
                s.hit(dr, b0 + beat, KICK, 112 if beat == 2 else 100)
            s.hit(dr, b0 + 2, SIDESTICK, 110)
            for i in range(8):
                s.hit(dr, b0 + i / 2, HAT, 70 if i % 2 == 0 else 50)
            if bar % 4 == 3:
                for i, key in enumerate((SNARE, SNARE, TOM_HIGH, TOM_LOW)):
                    s.hit(dr, b0 + 3 + i / 4, key, 90)
    melody = {
        4: "B4:2 D5:2 D5:1 B4:1 G4:2", 5: "E5:3 D5:1 C5:2 r:2", 6: "B4:2 G4:2 A4:2 B4:2",
        7: "A4:6 r:2", 8: "D5:2 E5:1 D5:1 B4:2 G4:2", 9: "C5:2 E5:2 G5:2 E5:2",
        10: "D5:2 B4:2 G4:2 A4:2", 11: "G4:6 r:2",
    }
    for bar, line in melody.items():
        phrase(s, mel, bar, line, 84)
    s.chord(skank, bars * 4, 2.0, [p("G4"), p("B4"), p("D5")], 84)
    s.note(bass, bars * 4, 2.0, p("G1") + 12, 106)
    s.hit(dr, bars * 4, KICK, 110)
    s.hit(dr, bars * 4, CRASH, 90)

    s.end_beat = bars * 4 + 2.0
    return s


# The demos the app offers, in its order: each one named as its genre by the shipped model
# (tests/test_demo.py checks). The other pieces in COMPOSERS are drafts it names wrong; render
# them with --only and --out elsewhere, and ship one only once the model names it right.
SHIPPED = ("rock", "disco", "classical", "jazz", "country", "metal", "hiphop")

COMPOSERS = {
    "blues": (compose_blues, 2.5,
              "A slow 12-bar shuffle in A: swung eighths, walking bass, overdriven rhythm guitar, "
              "Hammond organ comping and a lead with bends."),
    "rock": (compose_rock, 4.0,
             "Distorted power-chord riff in E, driving eighth-note bass and a backbeat with crashes, "
             "mixed warm like a 70s record."),
    "disco": (compose_disco, 3.5,
              "Four-on-the-floor kick, open hi-hats on the offbeats, octave synth bass and string stabs."),
    "classical": (compose_classical, 0.0,
                  "A small piano sonatina in C major over an Alberti bass, with a ritardando at the end."),
    "jazz": (compose_jazz, 2.0,
             "Medium swing in B-flat: walking upright bass, ride cymbal, piano comping and a tenor-sax head."),
    "country": (compose_country, 2.5,
                "A two-step in G: boom-chick bass and acoustic strum, Telecaster licks and a fiddle chorus."),
    "metal": (compose_metal, 8.0,
              "Galloping palm-muted riff on guitars tuned down to C, over double kick drums; "
              "a tremolo-picked section and a lead."),
    "hiphop": (compose_hiphop, 4.0,
               "Boom-bap at 90 bpm: hard kick and snare, swung hi-hats, an 808 sub bass, a dusty Rhodes "
               "loop and a rapped verse (by a speech synthesiser)."),
    "reggae": (compose_reggae, 3.0,
               "Rockers reggae in G: kick on every beat, rim on three, offbeat guitar skank, organ bubble, "
               "round synth bass and a clean guitar tune."),
}


# ---------------------------------------------------------------------------
# MIDI output
# ---------------------------------------------------------------------------


def _trimmed_notes(track: Track):
    """Notes with same-pitch overlaps cut, so a note-off never ends a newer note."""
    by_pitch: dict[int, list[Note]] = {}
    for n in sorted(track.notes, key=lambda n: (n.pitch, n.start)):
        by_pitch.setdefault(n.pitch, []).append(Note(n.start, n.dur, n.pitch, n.vel))
    out = []
    for notes in by_pitch.values():
        for a, b in zip(notes, notes[1:]):
            if a.start + a.dur > b.start - 0.01:
                a.dur = max(0.02, b.start - a.start - 0.01)
        out.extend(notes)
    return sorted(out, key=lambda n: (n.start, n.pitch))


def write_midi(song: Song, path: Path) -> None:
    import mido

    tick = lambda beat: int(round(beat * TICKS_PER_BEAT))  # noqa: E731
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    end_tick = tick(song.end_beat + TAIL_S * song.bpm_at(song.end_beat) / 60.0)

    def emit(events, name):
        trk = mido.MidiTrack()
        trk.append(mido.MetaMessage("track_name", name=name, time=0))
        now = 0
        for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            trk.append(msg.copy(time=t - now))
            now = t
        trk.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
        mid.tracks.append(trk)

    conductor = [(0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    conductor.append((0, 0, mido.MetaMessage("copyright", text="CC0 1.0 - composed by the genre project")))
    for beat, bpm in song.tempos:
        conductor.append((tick(beat), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    emit(conductor, song.title)

    for tr in song.tracks:
        ch = tr.channel
        ev = [
            (0, 1, mido.Message("program_change", channel=ch, program=tr.program)),
            (0, 1, mido.Message("control_change", channel=ch, control=7, value=tr.volume)),
            (0, 1, mido.Message("control_change", channel=ch, control=10, value=tr.pan)),
            (0, 1, mido.Message("control_change", channel=ch, control=91, value=tr.reverb)),
            (0, 1, mido.Message("control_change", channel=ch, control=93, value=tr.chorus)),
        ]
        for beat, control, value in tr.controls:
            ev.append((tick(beat), 1, mido.Message("control_change", channel=ch, control=control, value=value)))
        starts = sorted(n.start for n in tr.notes)
        for beat, semis, owner in tr.bends:
            nxt = bisect.bisect_right(starts, owner)
            if nxt < len(starts) and beat >= starts[nxt]:
                continue  # the next note has begun: drop the rest of this note's curve
            val = max(-8192, min(8191, int(round(semis / 2.0 * 8191))))
            ev.append((tick(beat), 2, mido.Message("pitchwheel", channel=ch, pitch=val)))
        for n in _trimmed_notes(tr):
            on = tick(n.start)
            off = max(on + 1, tick(n.start + n.dur))
            ev.append((on, 3, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.vel)))
            ev.append((off, 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        emit(ev, tr.name)
    mid.save(str(path))


# ---------------------------------------------------------------------------
# Rendering: FluidSynth, or the numpy fallback
# ---------------------------------------------------------------------------


def find_soundfont(explicit=None):
    for cand in ([explicit] if explicit else []) + list(SOUNDFONTS):
        if cand and Path(cand).is_file():
            return Path(cand)
    return None


def decode_to_array(path: Path, ffmpeg: str) -> np.ndarray:
    """Any audio file -> float32 array (frames, 2) at SR, via ffmpeg."""
    out = run([ffmpeg, "-v", "error", "-i", str(path), "-f", "f32le", "-ac", "2", "-ar", str(SR), "-"]).stdout
    return np.frombuffer(out, dtype="<f4").reshape(-1, 2).astype(np.float64)


def render_fluidsynth(song, workdir: Path, soundfont: Path, fluidsynth: str, ffmpeg: str):
    mid, wav = workdir / f"{song.slug}.mid", workdir / f"{song.slug}.wav"
    write_midi(song, mid)
    run([fluidsynth, "-n", "-i", "-q", "-g", "0.5", "-r", str(SR),
         "-o", "synth.cpu-cores=1", "-o", "audio.file.format=float",
         "-F", str(wav), str(soundfont), str(mid)])
    return decode_to_array(wav, ffmpeg)


def speak(words: str, seconds: float, voice: tuple[str, int], workdir: Path) -> np.ndarray:
    """``words`` spoken by espeak-ng (mono, at SR), sped up until they fit in ``seconds``."""
    espeak = shutil.which("espeak-ng")
    wav, speed = workdir / "line.wav", 165
    for _ in range(4):
        run([espeak, "-v", voice[0], "-p", str(voice[1]), "-s", str(speed), "-w", str(wav), words])
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
        loud = np.flatnonzero(np.abs(x) >= 1e-3)
        x = x[loud[0]:loud[-1] + 1] if len(loud) else x  # no silence before or after the words
        if len(x) / rate <= seconds:
            break
        speed = int(speed * len(x) / rate / seconds * 1.04)
    return np.interp(np.arange(int(len(x) * SR / rate)) * rate / SR, np.arange(len(x)), x)


def mix_voice(raw: np.ndarray, song: Song, workdir: Path) -> np.ndarray:
    """Add the song's spoken ``lines`` (a rapper, by espeak-ng) in the middle of the mix, at
    ``song.voice[2]`` dB against the music's RMS. Without espeak-ng the music comes alone."""
    if not song.lines:
        return raw
    if not shutil.which("espeak-ng"):
        print(f"note: {song.slug}: espeak-ng is missing, so the rapped lines are left out")
        return raw
    vox = np.zeros(len(raw))
    for beat, beats, words in song.lines:
        start = song.seconds(beat)
        x = speak(words, song.seconds(beat + beats) - start, song.voice, workdir)
        i = int(start * SR)
        x = x[: max(0, len(vox) - i)]
        vox[i:i + len(x)] += x
    music_rms = np.sqrt(np.mean(raw ** 2))
    voiced = np.abs(vox) > 1e-3
    vox *= music_rms * 10 ** (song.voice[2] / 20) / max(np.sqrt(np.mean(vox[voiced] ** 2)), 1e-9)
    return raw + vox[:, None] * np.sqrt(0.5)


def _pedal_spans(tr: Track):
    spans, down = [], None
    for beat, control, value in sorted(tr.controls):
        if control != 64:
            continue
        if value >= 64 and down is None:
            down = beat
        elif value < 64 and down is not None:
            spans.append((down, beat))
            down = None
    return spans


def _voice(program, pitch, dur_s, vel, rng):
    """One note of the numpy synthesiser (mono)."""
    f = 440.0 * 2 ** ((pitch - 69) / 12.0)
    amp = (vel / 127.0) ** 1.6
    fam = program // 8
    if program in (29, 30):
        kind, nh, roll, rel = "dist", 24, 1.0, 0.08
    elif fam == 4:
        kind, nh, roll, rel = "bass", 8, 1.6, 0.08
    elif fam in (0, 1, 3):
        kind, nh, roll, rel = "pluck", 14, 1.3, 0.25 if fam == 0 else 0.12
    else:
        kind, nh, roll, rel = "bow", 14, 1.1, 0.25
    n = int((dur_s + rel) * SR)
    t = np.arange(n) / SR
    nh = max(1, min(nh, int(SR / 2.5 / f)))
    vib = 0.0
    if kind == "bow":
        vib = 0.004 * f / 5.0 * np.minimum(1.0, t / 0.4) * np.sin(2 * np.pi * 5.0 * t)
    sig = np.zeros(n)
    for k in range(1, nh + 1):
        part = np.sin(2 * np.pi * k * f * t + k * 2 * np.pi * vib + rng.uniform(0, 2 * np.pi)) / k ** roll
        if kind == "pluck":
            part *= np.exp(-t * (1.2 + 0.9 * k) * (f / 262.0) ** 0.4)
        elif kind == "bass":
            part *= np.exp(-t * (1.5 + 1.2 * k))
        sig += part
    if kind == "dist":
        sig = np.tanh(2.5 * sig / np.max(np.abs(sig) + 1e-9)) * np.exp(-t * 0.6)
    attack = {"pluck": 0.004, "bass": 0.006, "dist": 0.006, "bow": 0.06}[kind]
    env = np.minimum(1.0, t / attack)
    gate = int(dur_s * SR)
    tail = np.arange(n) - gate
    env[tail > 0] *= np.maximum(0.0, 1.0 - tail[tail > 0] / (rel * SR))
    return amp * sig * env / max(1.0, math.sqrt(nh) * 0.8)


def _drum(key, vel, rng):
    amp = (vel / 127.0) ** 1.6

    def noise(sec):
        x = rng.standard_normal(int(sec * SR))
        return x

    def hp(x):
        return np.diff(x, prepend=0.0)

    if key in (35, 36):
        t = np.arange(int(0.45 * SR)) / SR
        freq = 48 + 110 * np.exp(-t * 30)
        x = np.sin(2 * np.pi * np.cumsum(freq) / SR) * np.exp(-t * 7) + 0.3 * noise(0.45) * np.exp(-t * 300)
    elif key in (38, 40):
        t = np.arange(int(0.3 * SR)) / SR
        x = 0.6 * hp(noise(0.3)) * np.exp(-t * 16) + 0.5 * np.sin(2 * np.pi * 190 * t) * np.exp(-t * 25)
    elif key == SIDESTICK:
        t = np.arange(int(0.08 * SR)) / SR
        x = np.sin(2 * np.pi * 820 * t) * np.exp(-t * 70) + 0.3 * hp(noise(0.08)) * np.exp(-t * 90)
    elif key == CLAP:
        t = np.arange(int(0.25 * SR)) / SR
        bursts = sum(np.exp(-np.clip(t - d, 0, None) * 120) * (t >= d) for d in (0, 0.011, 0.022))
        x = hp(noise(0.25)) * (bursts + 0.5 * np.exp(-t * 14)) * 0.6
    elif key in (42, 44, 46, 54):
        dur, rate = {42: (0.09, 55), 44: (0.08, 60), 46: (0.45, 7), 54: (0.15, 28)}[key]
        t = np.arange(int(dur * SR)) / SR
        x = 0.5 * hp(hp(noise(dur))) * np.exp(-t * rate)
    elif key in (49, 57, 51, 53, 59):
        dur, rate = (2.2, 1.8) if key in (49, 57) else (1.2, 3.5)
        t = np.arange(int(dur * SR)) / SR
        metal = sum(np.sin(2 * np.pi * fr * t) for fr in (3200, 4570, 5310, 6720)) * 0.1
        x = (0.45 * hp(hp(noise(dur))) + metal) * np.exp(-t * rate)
    elif 41 <= key <= 50:
        f0 = 70 + (key - 41) * 18
        t = np.arange(int(0.5 * SR)) / SR
        x = np.sin(2 * np.pi * np.cumsum(f0 * (1 + 0.4 * np.exp(-t * 20))) / SR) * np.exp(-t * 7)
    else:
        t = np.arange(int(0.1 * SR)) / SR
        x = hp(noise(0.1)) * np.exp(-t * 40) * 0.3
    return amp * x


def render_numpy(song: Song) -> np.ndarray:
    """The plain fallback synthesiser: additive voices, noise drums, a small reverb."""
    rng = np.random.default_rng(song.seed)
    n_total = int((song.duration_s + 1.0) * SR)
    dry = np.zeros((n_total, 2))
    send = np.zeros(n_total)
    for tr in song.tracks:
        buf = np.zeros(n_total)
        pedals = _pedal_spans(tr)
        for note in tr.notes:
            start = song.seconds(note.start)
            if tr.is_drums:
                x = _drum(note.pitch, note.vel, rng)
            else:
                end_beat = note.start + note.dur
                for a, b in pedals:
                    if a <= end_beat < b:
                        end_beat = b
                x = _voice(tr.program, note.pitch, song.seconds(end_beat) - start, note.vel, rng)
            i = int(start * SR)
            x = x[: max(0, n_total - i)]
            buf[i: i + len(x)] += x
        gain = (tr.volume / 127.0) ** 2
        theta = tr.pan / 127.0 * math.pi / 2
        dry[:, 0] += buf * gain * math.cos(theta)
        dry[:, 1] += buf * gain * math.sin(theta)
        send += buf * gain * tr.reverb / 127.0
    # reverb: convolution with decaying noise (different per channel for width)
    ir_t = np.arange(int(1.6 * SR)) / SR
    size = 1 << int(math.ceil(math.log2(n_total + len(ir_t))))
    spec = np.fft.rfft(send, size)
    for c in range(2):
        ir = rng.standard_normal(len(ir_t)) * np.exp(-6.9 * ir_t / 1.6)
        ir[: int(0.012 * SR)] = 0.0
        ir /= np.sqrt(np.sum(ir ** 2)) * 2.5
        dry[:, c] += np.fft.irfft(spec * np.fft.rfft(ir, size), size)[:n_total]
    return dry


# ---------------------------------------------------------------------------
# Levelling and encoding
# ---------------------------------------------------------------------------


def limit(x: np.ndarray, drive_db: float, block=64, release_s=0.12) -> np.ndarray:
    """Brick-wall look-ahead peak limiter: peaks above (peak - drive_db) are pulled down."""
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
    """Band-limit a mix, as a studio's EQ or an older record does: gentle
    12 dB/octave slopes under ``low_hz`` and over ``high_hz`` (zero-phase, by FFT)."""
    if low_hz <= 20 and high_hz >= 20000:
        return x
    f = np.fft.rfftfreq(len(x), 1 / SR)
    gain = 1 / (1 + (f / high_hz) ** 4) ** 0.5 / (1 + (low_hz / np.maximum(f, 1e-3)) ** 4) ** 0.5
    return np.fft.irfft(np.fft.rfft(x, axis=0) * gain[:, None], len(x), axis=0)


def saturate(x: np.ndarray, amount: float) -> np.ndarray:
    """Soft clipping of the whole mix (``tanh``), as a driven amp or a hot master: ``amount``
    is the gain into the curve relative to the peak (0 leaves the mix alone)."""
    if amount <= 0:
        return x
    return np.tanh(amount * x / np.max(np.abs(x)))


def master(audio: np.ndarray, song: Song, drive_db: float) -> np.ndarray:
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


def run(cmd, **kw):
    """subprocess.run with an argument list; on failure show the tool's own error output."""
    try:
        return subprocess.run(cmd, check=True, capture_output=True, **kw)
    except subprocess.CalledProcessError as err:
        sys.stderr.write(err.stderr.decode(errors="replace")[-3000:])
        raise


def encode_mp3(audio: np.ndarray, path: Path, song: Song, ffmpeg: str, renderer: str) -> None:
    cmd = [
        ffmpeg, "-v", "error", "-y", "-f", "f32le", "-ar", str(SR), "-ac", "2", "-i", "pipe:0",
        "-c:a", "libmp3lame", "-b:a", BITRATE, "-ar", str(SR), "-ac", "2",
        "-id3v2_version", "3", "-fflags", "+bitexact", "-flags:a", "+bitexact",
        "-metadata", f"title={song.title}",
        "-metadata", "artist=genre project (composed in code)",
        "-metadata", "album=genre demo tracks",
        "-metadata", "copyright=CC0 1.0 Universal (public domain dedication)",
        "-metadata", f"comment=Composed in assets/demo/compose.py, rendered with {renderer}",
        str(path),
    ]
    run(cmd, input=audio.astype("<f4").tobytes())


def dbfs(x: float) -> float:
    return 20 * math.log10(max(x, 1e-12))


# ---------------------------------------------------------------------------


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(COMPOSERS),
                    help="render just these pieces (default: the shipped demos)")
    ap.add_argument("--out", type=Path, default=HERE, help="output directory (default: next to this script)")
    ap.add_argument("--engine", choices=("auto", "fluidsynth", "numpy"), default="auto")
    ap.add_argument("--soundfont", help="path to a GM soundfont (default: FluidR3_GM.sf2)")
    ap.add_argument("--keep-midi", type=Path, help="also copy the .mid files into this directory")
    args = ap.parse_args(argv)

    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        print("ffmpeg is needed to encode MP3 (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    fluidsynth, soundfont = shutil.which("fluidsynth"), find_soundfont(args.soundfont)
    engine = args.engine
    if engine == "auto":
        engine = "fluidsynth" if fluidsynth and soundfont else "numpy"
    if engine == "fluidsynth" and not (fluidsynth and soundfont):
        print("fluidsynth and a GM soundfont are needed (apt-get install fluidsynth fluid-soundfont-gm)",
              file=sys.stderr)
        return 2
    if engine == "numpy":
        print("note: rendering with the plain numpy synthesiser (no fluidsynth/soundfont)")

    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "demos.json"
    entries = {}
    if index_path.exists():
        entries = {e["genre"]: e for e in json.loads(index_path.read_text())["demos"]}

    names = args.only or list(SHIPPED)
    print(f"{'file':16} {'dur s':>6} {'size kB':>8} {'peak dBFS':>10} {'RMS dBFS':>9} {'clipped':>8}")
    with tempfile.TemporaryDirectory(prefix="genre-demo-") as tmp:
        tmp = Path(tmp)
        for name in names:
            compose, drive, description = COMPOSERS[name]
            song = compose()
            if engine == "fluidsynth":
                raw = render_fluidsynth(song, tmp, soundfont, fluidsynth, ffmpeg)
            else:
                raw = render_numpy(song)
            raw = mix_voice(raw, song, tmp)
            if args.keep_midi:
                args.keep_midi.mkdir(parents=True, exist_ok=True)
                write_midi(song, args.keep_midi / f"{name}.mid")
            audio = master(raw, song, drive)
            mp3 = args.out / f"{name}.mp3"
            renderer = "FluidSynth + FluidR3_GM" if engine == "fluidsynth" else "the numpy fallback synth"
            encode_mp3(audio, mp3, song, ffmpeg, renderer)
            check = decode_to_array(mp3, ffmpeg)
            peak = np.max(np.abs(check))
            if dbfs(peak) > PEAK_DBFS + 0.5:  # a squared-off (saturated) mix overshoots in MP3
                audio = audio * 10 ** ((PEAK_DBFS - dbfs(peak)) / 20)
                encode_mp3(audio, mp3, song, ffmpeg, renderer)
                check = decode_to_array(mp3, ffmpeg)
                peak = np.max(np.abs(check))

            dur = len(check) / SR
            rms = math.sqrt(float(np.mean(check ** 2)))
            clipped = int(np.sum(np.abs(check) >= 0.999))
            print(f"{mp3.name:16} {dur:6.1f} {mp3.stat().st_size / 1000:8.0f} "
                  f"{dbfs(peak):10.2f} {dbfs(rms):9.1f} {clipped:8d}")
            if name not in SHIPPED:
                continue  # a draft: rendered, not listed
            entries[name] = {
                "file": mp3.name,
                "title": song.title,
                "genre": name,
                "duration_s": round(dur, 1),
                "description": description,
            }

    order = [g for g in SHIPPED if g in entries]
    index = {
        "license": "CC0-1.0",
        "source": "composed in assets/demo/compose.py; rendered with FluidSynth and the FluidR3 GM soundfont",
        "demos": [entries[g] for g in order],
    }
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
