"""Blues: a 12-bar shuffle in A at 100 bpm, a boogie bass riff, distorted guitar, organ, harmonica."""

from __future__ import annotations

from ..score import CRASH, DRUM_CHANNEL, HAT, KICK, PEDAL_HAT, RIDE, SNARE, T, Song, p

SEED = 1201
DRIVE_DB = 2.5  # limiter drive in mastering
DESCRIPTION = ("A 12-bar shuffle in A at 100 bpm: swung eighths, a boogie bass riff, distorted rhythm "
               "guitar, Hammond organ comping and a harmonica lead with bends and blue notes.")

# one bar of intro on the V, then the twelve bars; bar 13 is the final A9
CHORDS = ["E7", "A7", "D7", "A7", "A7", "D7", "D7", "A7", "A7", "E7", "D7", "A7", "E7"]
GUITAR_ROOTS = {"A7": p("A2"), "D7": p("D3"), "E7": p("E2")}
ORGAN_VOICINGS = {"A7": ["G4", "C#5", "E5"], "D7": ["F#4", "C5", "E5"], "E7": ["G#4", "D5", "F#5"]}
# organ comping patterns, (beat, beats, velocity); COMP_BY_BAR picks one a bar (None: rest)
COMP_PATTERNS = [
    [(1 + T, 0.3, 72), (3 + T, 0.3, 68)],
    [(1, 0.4, 70), (3, 0.4, 70)],
    [(T, 0.3, 62), (1 + T, 0.3, 72), (2 + T, 0.3, 60), (3 + T, 0.3, 74)],
    [(1, 0.3, 64), (1 + T, 0.6, 74), (3, 0.3, 62), (3 + T, 0.6, 72)],
]
COMP_BY_BAR = [None, 0, 0, 1, 0, 3, 3, 1, 0, 2, 2, 3, 2]
INTRO_RUN = ["E6", "D6", "B5", "A5", "G5", "E5", "D5", "B4", "A4"]  # in triplets over the V
# the lead (harmonica), call and response in A minor pentatonic: (bar, beat, beats, note, bend, vibrato)
LICKS = [
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
BASS_ROOTS = {"A7": "A1", "D7": "D2", "E7": "E2"}
BOOGIE = (0, 4, 7, 9, 10, 9, 7, 4)  # the bass riff in swung eighths over each chord: 1 3 5 6 b7 6 5 3
TURNAROUND = ["A5", "G5", "E5", "Eb5", "D5", "C5", "A4", "C5", "A4"]  # bar 12, in triplets


def compose(seed: int = SEED) -> Song:
    """12-bar shuffle in A, 100 bpm: one-bar intro on the V, one chorus, ending.

    Overdriven rhythm guitar, a boogie bass riff, Hammond organ comping, a lead with bends; a warm mix.
    """
    s = Song("blues", "Shuffle in A", 100, seed, timing_ms=8)
    s.band = (40.0, 5000.0)
    gtr = s.track("Rhythm guitar", 0, 30, volume=96, pan=36, reverb=45)  # distorted
    bass = s.track("Bass", 1, 33, volume=108, pan=64, reverb=20)
    organ = s.track("Organ", 2, 16, volume=84, pan=92, reverb=50)  # Hammond
    lead = s.track("Harmonica", 3, 22, volume=88, pan=70, reverb=65, bendable=True)
    dr = s.track("Drums", DRUM_CHANNEL, 0, volume=100, pan=64, reverb=35)
    end = len(CHORDS)

    # rhythm guitar: the two-string shuffle (root-5th / root-6th, a b7 now and then)
    for bar, ch in enumerate(CHORDS):
        r, b0 = GUITAR_ROOTS[ch], bar * 4
        for beat in range(4):
            top = r + (7 if beat % 2 == 0 else 9)
            if bar in (4, 8, 11) and beat == 3:
                top = r + 10
            s.chord(gtr, b0 + beat, 0.55, [r, top], 86)
            s.chord(gtr, b0 + beat + T, 0.28, [r, top], 66)
    s.chord(gtr, end * 4, 3.2, [p("A2"), p("E3"), p("G3"), p("C#4"), p("E4")], 96, strum=0.04)

    for bar, ch in enumerate(CHORDS):  # the boogie riff, a chord's shape under each bar
        r = p(BASS_ROOTS[ch])
        for i, semis in enumerate(BOOGIE):
            beat = bar * 4 + i // 2 + (T if i % 2 else 0)
            s.note(bass, beat, 0.55 if i % 2 == 0 else 0.3, r + semis, 96 if i % 2 == 0 else 78)
    s.note(bass, end * 4, 3.2, p("A1"), 100)

    # organ: dominant-7th/9th voicings, swung comping patterns that change by section
    for bar, ch in enumerate(CHORDS):
        if COMP_BY_BAR[bar] is None:
            continue
        for off, dur, vel in COMP_PATTERNS[COMP_BY_BAR[bar]]:
            s.chord(organ, bar * 4 + off, dur, [p(n) for n in ORGAN_VOICINGS[ch]], vel)
    # the organ's intro: a descending triplet run over the V, then a stab
    for i, name in enumerate(INTRO_RUN):
        s.note(organ, i / 3, 0.3, p(name), 78 - i * 2)
    s.chord(organ, 3 + T, 0.3, [p("G#4"), p("D5"), p("F#5")], 76)
    s.chord(organ, end * 4, 3.2, [p("A3"), p("G4"), p("B4"), p("C#5"), p("F#5")], 84, strum=0.03)

    for bar, beat, dur, name, bend, vib in LICKS:
        s.note(lead, bar * 4 + beat, dur, p(name), 92 if beat % 1 == 0 else 80, bend=bend, vibrato=vib)
    for i, name in enumerate(TURNAROUND):
        s.note(lead, 12 * 4 + i / 3, 0.3, p(name), 90 - (i % 3) * 8)
    s.note(lead, 12 * 4 + 3, 0.9, p("B4"), 88)

    # drums: shuffle on hi-hat, then ride for the last four bars
    for bar in range(end):
        b0 = bar * 4
        cym = HAT if bar < 9 else RIDE
        for beat in range(4):
            if bar == 12 and beat == 3:
                continue
            if not (beat == 0 and bar in (1, 9)):  # the crash takes these downbeats
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
        if s.rng.random() < 0.6:  # ghost notes, not in every bar
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
