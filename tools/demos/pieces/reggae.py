"""Reggae: a one-drop in A at 78 bpm, offbeat skank, organ bubble, deep bass, a melodica tune."""

from __future__ import annotations

from ..score import (CRASH, DRUM_CHANNEL, HAT, KICK, OPEN_HAT, SIDESTICK, SNARE, TOM_HIGH, TOM_LOW,
                     TOM_MID, Song, p)

SEED = 2001
DRIVE_DB = 3.0  # limiter drive in mastering
DESCRIPTION = ("A one-drop in A at 78 bpm: kick and rim together on three, offbeat guitar and piano skank, "
               "organ bubble, a deep synth bass and a melodica-like lead.")

BPM = 78
BARS = 14  # bar 0: the skank alone, with a drum pickup; 1..12 the groove; 13: the end
LOOP = [  # a chord a bar: (skank voicing, organ voicing, bass root)
    (["A3", "C#4", "E4"], ["E3", "A3", "C#4"], "A1"),
    (["A3", "D4", "F#4"], ["D3", "F#3", "A3"], "D2"),
    (["A3", "C#4", "E4"], ["E3", "A3", "C#4"], "A1"),
    (["G#3", "B3", "E4"], ["E3", "G#3", "B3"], "E2"),
]
# the bass line of each chord, (beat, beats, semitones over the root)
BASS = [
    [(0, 0.75, 0), (1.5, 0.4, 0), (2, 0.4, -3), (2.5, 1.3, 0)],
    [(0, 0.75, 0), (1.5, 0.4, 0), (2, 0.4, 4), (2.5, 0.45, 2), (3, 0.9, 0)],
    [(0, 0.75, 0), (1.5, 0.4, 0), (2, 0.4, -3), (2.5, 0.9, 0), (3.5, 0.4, 4)],
    [(0, 0.75, 0), (1.5, 0.4, 0), (2, 0.4, 4), (2.5, 0.4, 5), (3, 0.9, 7)],
]
# the melodica's tune, in A major pentatonic, from bar 5: (bar, beat, beats, note)
TUNE = [
    (5, 0.5, 0.5, "E5"), (5, 1, 0.5, "F#5"), (5, 1.5, 1.4, "A5"), (5, 3, 0.5, "F#5"), (5, 3.5, 0.5, "E5"),
    (6, 0, 1.5, "F#5"), (6, 1.5, 0.5, "E5"), (6, 2, 1.9, "D5"),
    (7, 0.5, 0.5, "E5"), (7, 1, 0.5, "F#5"), (7, 1.5, 1.4, "A5"), (7, 3, 0.5, "C#6"), (7, 3.5, 0.5, "A5"),
    (8, 0, 3.5, "B5"),
    (9, 0.5, 0.5, "C#6"), (9, 1, 0.5, "B5"), (9, 1.5, 1.4, "A5"), (9, 3, 0.5, "F#5"), (9, 3.5, 0.5, "E5"),
    (10, 0, 1.5, "F#5"), (10, 1.5, 0.5, "A5"), (10, 2, 1.9, "F#5"),
    (11, 0.5, 0.5, "E5"), (11, 1, 0.5, "C#5"), (11, 1.5, 1.4, "E5"), (11, 3, 0.5, "F#5"), (11, 3.5, 0.5, "E5"),
    (12, 0, 3.5, "B4"),
]

def compose(seed: int = SEED) -> Song:
    """One-drop reggae in A, 78 bpm: a bar of skank, twelve bars of groove, an ending."""
    s = Song("reggae", "Sunday Yard", BPM, seed, timing_ms=7)
    bass = s.track("Bass", 0, 39, volume=118, pan=64, reverb=5)  # a round synth bass
    skank = s.track("Skank guitar", 1, 27, volume=84, pan=34, reverb=25)
    piano = s.track("Piano skank", 2, 1, volume=78, pan=94, reverb=30)
    organ = s.track("Organ bubble", 3, 17, volume=72, pan=80, reverb=30)
    melodica = s.track("Melodica", 4, 80, volume=100, pan=54, reverb=55)  # a square lead, reedy
    dr = s.track("Drums", DRUM_CHANNEL, 0, volume=104, pan=64, reverb=30)
    last = BARS - 1

    for bar in range(last):
        voicing, bubble, root_name = LOOP[bar % 4]
        root, b0 = p(root_name), bar * 4
        for off in (1, 3):  # the skank: short, bright chords on two and four
            s.chord(skank, b0 + off, 0.18, [p(n) + 12 for n in voicing], 94, strum=0.006)
            s.chord(piano, b0 + off, 0.2, [p(n) for n in voicing], 80)
        if bar == 0:
            continue
        for off in (0.5, 1.5, 2.5, 3.5):  # the bubble: organ on the offbeat eighths, a low note before
            s.chord(organ, b0 + off, 0.22, [p(n) for n in bubble], 62)
            s.note(organ, b0 + off - 0.25, 0.2, p(bubble[0]) - 12, 48)
        for beat, dur, semis in BASS[bar % 4]:
            s.note(bass, b0 + beat, dur, root + semis, 112 if beat in (0, 2.5) else 100)
        # one-drop: kick and rim together on three, nothing on one; eighth-note hats
        s.hit(dr, b0 + 2, KICK, 116)
        s.hit(dr, b0 + 2, SIDESTICK, 112)
        for beat in range(4):
            s.hit(dr, b0 + beat, HAT, 72)
            s.hit(dr, b0 + beat + 0.5, OPEN_HAT if beat == 3 and bar % 2 else HAT, 50)
        if bar % 4 == 0 and bar > 1:
            s.hit(dr, b0, CRASH, 70)
        if bar % 4 == 3 or bar == 12:  # a fill into the next four bars
            for i, key in enumerate((SNARE, SNARE, TOM_HIGH, TOM_MID, TOM_LOW, TOM_LOW)):
                s.hit(dr, b0 + 3 + i / 6, key, 86 + 3 * i)
    # a pickup into bar 1: rim and toms
    for i, key in enumerate((SNARE, TOM_HIGH, TOM_MID, TOM_LOW)):
        s.hit(dr, 3 + i / 4, key, 80 + 6 * i)

    for bar, beat, dur, name in TUNE:
        s.note(melodica, bar * 4 + beat, dur * 0.92, p(name), 92 if beat % 1 == 0 else 84)

    end = last * 4
    s.note(bass, end, 2.5, p("A1"), 116)
    s.chord(skank, end, 2.5, [p(n) + 12 for n in LOOP[0][0]], 90, strum=0.01)
    s.chord(organ, end, 2.5, [p(n) for n in LOOP[0][1]], 70)
    s.note(melodica, end, 2.5, p("A5"), 90)
    s.hit(dr, end, KICK, 112)
    s.hit(dr, end, CRASH, 96)

    s.end_beat = end + 2.5
    return s
