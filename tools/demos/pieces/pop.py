"""Pop: verse and chorus in C major at 108 bpm over the four chords I-V-vi-IV, a sung lead on top.

The tune is sung by :mod:`tools.demos.voice` (wordless syllables on its notes, double-tracked)
and doubled softly by a square-wave synth; the drums are a programmed TR-808 kit.
"""

from __future__ import annotations

from ..score import CLAP, CRASH, DRUM_CHANNEL, HAT, KICK, OPEN_HAT, SNARE, TAMBOURINE, Song, p, phrase

SEED = 2101
DRIVE_DB = 4.0  # limiter drive in mastering
DESCRIPTION = ("Verse and chorus in C major at 108 bpm on the four chords C-G-Am-F: bright piano, pumping "
               "synth bass, programmed drums with claps on the backbeat and a sung hook (a synthesised voice).")

VOWELS = "aoeaioauoeia"  # the singer's syllables ("la", "lo", "le", ...), in turn
FOUR = ["C", "G", "Am", "F"]
VOICINGS = {"C": ["E4", "G4", "C5"], "G": ["D4", "G4", "B4"], "Am": ["E4", "A4", "C5"], "F": ["F4", "A4", "C5"]}
ROOTS = {"C": "C2", "G": "G1", "Am": "A1", "F": "F1"}
INTRO, VERSE, CHORUS = range(0, 2), range(2, 10), range(10, 18)
END = 18  # the last bar: a C held
MELODY = {  # the sung tune, bar: eighths (see score.phrase)
    2: "E4:1 G4:1 G4:2 A4:1 G4:1 E4:2", 3: "D4:1 D4:1 D4:1 E4:1 D4:2 B3:2",
    4: "C4:1 E4:1 E4:2 G4:1 E4:1 C4:2", 5: "A3:2 C4:2 D4:3 r:1",
    6: "E4:1 G4:1 G4:2 A4:1 G4:1 E4:2", 7: "D4:1 D4:1 D4:1 E4:1 G4:2 B4:2",
    8: "C5:2 B4:1 A4:1 G4:2 E4:2", 9: "F4:2 G4:2 A4:1 B4:1 r:2",
    10: "E5:2 E5:1 D5:1 C5:2 G4:2", 11: "D5:2 D5:1 C5:1 B4:2 G4:2",
    12: "C5:2 C5:1 B4:1 A4:2 E5:2", 13: "D5:3 C5:1 C5:4",
    14: "E5:2 E5:1 D5:1 C5:2 G4:2", 15: "D5:2 D5:1 C5:1 B4:2 G5:2",
    16: "E5:2 E5:1 D5:1 C5:2 A4:2", 17: "D5:2 C5:2 D5:2 E5:2",
    18: "C5:6 r:2",
}


def compose(seed: int = SEED) -> Song:
    """Pop in C, 108 bpm: two bars of intro, an eight-bar verse, an eight-bar chorus, a last C."""
    s = Song("pop", "Four Chord Summer", 108, seed, timing_ms=3)
    s.singer_db = 0.0  # the voice as loud as the band
    piano = s.track("Piano", 0, 1, volume=70, pan=44, reverb=40)  # bright acoustic
    bass = s.track("Synth bass", 1, 39, volume=104, pan=64, reverb=10)
    pad = s.track("Synth pad", 2, 89, volume=74, pan=84, reverb=60, chorus=50)  # warm pad
    lead = s.track("Synth lead", 3, 80, volume=50, pan=64, reverb=50, chorus=20)  # square, under the voice
    bells = s.track("Bells", 4, 9, volume=70, pan=90, reverb=60)  # glockenspiel
    dr = s.track("Drums", DRUM_CHANNEL, 25, volume=108, pan=64, reverb=25)  # TR-808 kit

    for bar in range(END):
        ch = FOUR[bar % 4]
        v, root, b0 = [p(n) for n in VOICINGS[ch]], p(ROOTS[ch]), bar * 4
        chorus = bar in CHORUS
        # piano: driving eighths in the chorus, a lighter on-off pattern in the intro and verse
        offs = range(8) if chorus else (0, 1.5, 2, 3, 3.5)
        for x in offs:
            off = x / 2 if chorus else x
            s.chord(piano, b0 + off, 0.45, v, 86 if off % 1 == 0 else 70)
        s.note(piano, b0, 1.9, root + 24, 80)
        if bar in VERSE or chorus:  # pumping eighth-note bass
            for x in range(8):
                s.note(bass, b0 + x / 2, 0.42, root + 12, 104 if x % 2 == 0 else 86)
        if chorus:
            s.chord(pad, b0, 3.9, [n - 12 for n in v] + [v[0]], 70)
        # drums: kick on one, the "and" of two and three; snare and clap on two and four
        if bar == 0:
            continue
        for beat in range(4):
            if bar in VERSE or chorus:
                if beat in (0, 2):
                    s.hit(dr, b0 + beat, KICK, 112)
                if beat == 1:
                    s.hit(dr, b0 + 1.5, KICK, 96)
            if beat in (1, 3) and bar > 1:
                s.hit(dr, b0 + beat, SNARE, 100)
                s.hit(dr, b0 + beat, CLAP, 104)
            s.hit(dr, b0 + beat, HAT, 76)
            s.hit(dr, b0 + beat + 0.5, OPEN_HAT if chorus and beat == 3 else HAT, 56)
            if chorus:
                for q in (0.25, 0.75):
                    s.hit(dr, b0 + beat + q, TAMBOURINE, 50)
        if bar == 1:  # claps alone into the verse
            for q in (2, 2.5, 3, 3.25, 3.5, 3.75):
                s.hit(dr, b0 + q, CLAP, 80 + int(q * 8))
        if bar == 9:
            for i in range(8):
                s.hit(dr, b0 + 2 + i / 4, SNARE, 60 + 6 * i)
        if bar in (2, 10):
            s.hit(dr, b0, CRASH, 100)

    k = 0
    for bar, line in MELODY.items():
        phrase(s, lead, bar, line, 96)
        pos = 0  # the same tune, sung: a syllable a note, in eighths as score.phrase reads them
        for tok in line.split():
            name, n = tok.split(":")
            if name != "r":
                s.sung.append((bar * 4 + pos / 2, int(n) / 2 * 0.92, p(name), VOWELS[k % len(VOWELS)], 100))
                k += 1
            pos += int(n)
        if bar in CHORUS:
            phrase(s, bells, bar, line, 76)
    # the intro: the chorus hook on the bells
    phrase(s, bells, 0, MELODY[10], 82)
    phrase(s, bells, 1, MELODY[11], 82)

    b0 = END * 4
    s.chord(piano, b0, 3.0, [p(n) for n in VOICINGS["C"]] + [p("C3")], 96)
    s.note(bass, b0, 3.0, p("C2") + 12, 108)
    s.chord(pad, b0, 3.0, [p("C4"), p("E4"), p("G4")], 76)
    s.hit(dr, b0, KICK, 116)
    s.hit(dr, b0, CRASH, 104)
    s.end_beat = b0 + 3.0
    return s
