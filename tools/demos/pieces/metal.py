"""Metal: a galloping riff in C minor (E shapes, tuned down) at 150 bpm over double kick."""

from __future__ import annotations

from ..score import (CRASH, DRUM_CHANNEL, KICK, RIDE, SNARE, TOM_FLOOR, TOM_HIGH, TOM_MID, Note, Song,
                     p, phrase)

SEED = 1801
DRIVE_DB = 8.0  # limiter drive in mastering: a brick-walled master, as the genre's records are
DESCRIPTION = ("Galloping palm-muted riff on guitars tuned down to C, over double kick drums; "
               "a tremolo-picked section and a lead.")
TUNE = -4  # semitones the guitars and bass are tuned down: E shapes sound in C

ROOTS = {"E": "E2", "F": "F2", "G": "G2", "F#": "F#2", "Bb": "Bb2", "A": "A2", "C": "C3", "D": "D3",
         "B": "B2"}  # the power chords' roots, as the shapes are fingered
# riffs, a beat each: ("g", chord) a gallop, ("c", (chord, chord)) two eighth-note chords
RIFF_A = [("g", "E"), ("g", "E"), ("g", "E"), ("c", ("G", "F#"))]
RIFF_B = [("g", "E"), ("g", "E"), ("c", ("Bb", "A")), ("c", ("F", "E"))]
TREMOLO = [["E", "E", "F", "F"], ["G", "G", "F#", "F#"], ["E", "E", "C", "C"], ["B", "B", "Bb", "Bb"]]
SOLO = {  # the lead, bar: eighths (see score.phrase)
    18: "E5:3 G5:1 B5:2 A5:2", 19: "G5:2 F#5:2 E5:2 D5:2",
    20: "E5:1 F#5:1 G5:1 A5:1 B5:2 C6:2", 21: "B5:8",
}
FILL = (SNARE, SNARE, TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_FLOOR, TOM_FLOOR)  # sixteenths


def compose(seed: int = SEED, tune: int = TUNE) -> Song:
    """Metal in C minor (E shapes, tuned down), 150 bpm.

    A galloping palm-muted riff over double kick, a tremolo section, a lead; four guitars
    (two distorted, two overdriven) and a hot master.

    Parameters
    ----------
    seed : int
        Seed of the humanisation.
    tune : int
        Semitones the guitars, the bass and the lead are tuned (down, when negative).
    """
    s = Song("metal", "Iron Furnace", 150, seed, timing_ms=3, vel_spread=4)
    gl = s.track("Guitar L", 0, 30, volume=65, pan=12, reverb=20)
    gr = s.track("Guitar R", 1, 30, volume=65, pan=116, reverb=20)
    bass = s.track("Bass", 2, 34, volume=70, pan=64, reverb=10)  # felt more than heard
    lead = s.track("Lead guitar", 3, 30, volume=92, pan=64, reverb=55, bendable=True)
    gl2 = s.track("Guitar L, overdrive", 4, 29, volume=61, pan=30, reverb=20)
    gr2 = s.track("Guitar R, overdrive", 5, 29, volume=61, pan=98, reverb=20)
    dr = s.track("Drums", DRUM_CHANNEL, 16, volume=127, pan=64, reverb=20)  # Power kit, up front
    s.saturation = 6.0  # a driven, brick-walled master, as the genre's records are

    roots = {k: p(n) + tune for k, n in ROOTS.items()}

    def hit(beat, dur, ch, vel, muted=True):
        r = roots[ch]
        for g in (gl, gr, gl2, gr2):
            s.chord(g, beat, dur, [r, r + 7] if muted else [r, r + 7, r + 12], vel)
        s.note(bass, beat, dur, r - 12, vel)

    def gallop(b, ch="E"):  # an eighth and two sixteenths
        hit(b, 0.22, ch, 108)
        hit(b + 0.5, 0.12, ch, 92)
        hit(b + 0.75, 0.12, ch, 96)

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
        riff_bar(bar, RIFF_A if bar % 2 == 0 else RIFF_B)
    for i, bar in enumerate(range(10, 18)):
        tremolo(bar, TREMOLO[i % 4])
    end = 22
    hit(end * 4, 4.0, "E", 120, muted=False)

    for bar, line in SOLO.items():
        phrase(s, lead, bar, line, 100, bend_on=(0,) if bar in (18, 21) else (), vibrato=0.35)
    # the solo is written as fingered, like the riffs; it sounds tuned down with the band
    lead.notes = [Note(n.start, n.dur, n.pitch + tune, n.vel) for n in lead.notes]

    # drums: double kick in sixteenths, snare on two and four (on three in the tremolo part)
    for bar in range(end):
        b0 = bar * 4
        if bar < 2:  # the intro: crash and kick with the stabs
            for beat in (0, 1.5, 3):
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
            for i, key in enumerate(FILL):
                s.hit(dr, b0 + 2 + i / 4, key, 100 + i)
    s.hit(dr, end * 4, CRASH, 124)
    s.hit(dr, end * 4, KICK, 124)

    s.end_beat = end * 4 + 3.0
    return s
