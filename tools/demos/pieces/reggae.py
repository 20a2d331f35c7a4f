"""Reggae (a draft, not shipped): rockers in G at 84 bpm.

The fused model calls it reggae or blues by a few points, depending on the clips it
samples, so it is rendered only on request (``--only reggae --out /tmp/drafts``).
"""

from __future__ import annotations

from ..score import CRASH, DRUM_CHANNEL, HAT, KICK, SIDESTICK, SNARE, TOM_HIGH, TOM_LOW, Song, p, phrase

SEED = 2001
DRIVE_DB = 3.0  # limiter drive in mastering
DESCRIPTION = ("Rockers reggae in G: kick on every beat, rim on three, offbeat guitar skank, organ bubble, "
               "round synth bass and a clean guitar tune.")

BARS = 12
PROGRESSION = [  # a chord a bar, in a loop: (chord, voicing, bass root)
    ("G", ["G3", "B3", "D4"], "G1"), ("C", ["G3", "C4", "E4"], "C2"),
    ("G", ["G3", "B3", "D4"], "G1"), ("D", ["F#3", "A3", "D4"], "D2"),
]
BASS_LINES = [  # the bass line of each chord: (beat, eighths, semitones over the root)
    [(0, 3, 0), (1.5, 1, 7), (2.5, 1, 12), (3, 2, 10)],
    [(0, 3, 0), (1.5, 1, 4), (2.5, 1, 7), (3, 2, 9)],
    [(0, 3, 0), (1.5, 1, 7), (2.5, 1, 12), (3, 2, 14)],
    [(0, 2, 0), (1, 1, 4), (1.5, 1, 7), (2.5, 1, 9), (3, 2, 12)],
]
MELODY = {  # the clean guitar, bar: eighths (see score.phrase)
    4: "B4:2 D5:2 D5:1 B4:1 G4:2", 5: "E5:3 D5:1 C5:2 r:2", 6: "B4:2 G4:2 A4:2 B4:2",
    7: "A4:6 r:2", 8: "D5:2 E5:1 D5:1 B4:2 G4:2", 9: "C5:2 E5:2 G5:2 E5:2",
    10: "D5:2 B4:2 G4:2 A4:2", 11: "G4:6 r:2",
}


def compose(seed: int = SEED) -> Song:
    """Rockers reggae in G, 84 bpm.

    Kick on every beat with the rim on three, offbeat guitar skank, organ bubble, round
    synth bass, a clean guitar tune.
    """
    s = Song("reggae", "Sunday Yard", 84, seed, timing_ms=7)
    bass = s.track("Bass", 0, 38, volume=80, pan=64, reverb=10)
    skank = s.track("Skank guitar", 1, 27, volume=86, pan=36, reverb=30)
    organ = s.track("Organ bubble", 2, 17, volume=74, pan=92, reverb=25)
    mel = s.track("Lead guitar", 3, 27, volume=86, pan=64, reverb=50)
    dr = s.track("Drums", DRUM_CHANNEL, 0, volume=104, pan=64, reverb=30)

    for bar in range(BARS):
        _, voicing, root_name = PROGRESSION[bar % 4]
        root = p(root_name)
        b0 = bar * 4
        for off in (1, 3):  # the skank: short chords on two and four ("the offbeat" of the half bar)
            s.chord(skank, b0 + off, 0.22, [p(n) + 12 for n in voicing], 92, strum=0.008)
        for i in range(8):  # organ bubble: left hand on the offbeat eighths
            if i % 2:
                s.chord(organ, b0 + i / 2, 0.2, [p(n) for n in voicing], 64 if i in (1, 5) else 56)
        if bar >= 1:  # the bass stays within the octave over its root: a 9th is played as a 2nd
            for beat, eighths, semis in BASS_LINES[bar % 4]:
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
    for bar, line in MELODY.items():
        phrase(s, mel, bar, line, 84)
    s.chord(skank, BARS * 4, 2.0, [p("G4"), p("B4"), p("D5")], 84)
    s.note(bass, BARS * 4, 2.0, p("G1") + 12, 106)
    s.hit(dr, BARS * 4, KICK, 110)
    s.hit(dr, BARS * 4, CRASH, 90)

    s.end_beat = BARS * 4 + 2.0
    return s
