"""Country: a two-step in G at 120 bpm, boom-chick bass and strum, Telecaster licks, a fiddle chorus."""

from __future__ import annotations

from ..score import CRASH, DRUM_CHANNEL, HAT, KICK, SIDESTICK, SNARE, Song, p, phrase

SEED = 1701
DRIVE_DB = 2.5  # limiter drive in mastering
DESCRIPTION = "A two-step in G: boom-chick bass and acoustic strum, Telecaster licks and a fiddle chorus."

# two bars of intro, an eight-bar verse, an eight-bar chorus, two bars to end on G
CHORDS = (["G", "D"] + ["G", "G", "C", "G", "G", "G", "D", "D"]
          + ["C", "C", "G", "G", "D", "D", "G", "G"] + ["D", "G"])
BASS_ROOTS = {"G": "G1", "C": "C2", "D": "D2"}
SHAPES = {"G": ["G2", "B2", "D3", "G3", "B3", "G4"], "C": ["C3", "E3", "G3", "C4", "E4"],
          "D": ["D3", "A3", "D4", "F#4"]}  # open-position guitar chords, low string first
VERSE = {  # the Telecaster, bar: eighths (see score.phrase)
    0: "r:4 D4:1 E4:1 G4:1 A4:1", 1: "B4:2 A4:2 F#4:2 D4:2",
    2: "D4:1 E4:1 G4:2 G4:1 A4:1 B4:2", 3: "D5:3 B4:1 A4:2 G4:2",
    4: "E4:1 G4:1 C5:2 C5:1 B4:1 A4:2", 5: "G4:6 r:2",
    6: "B4:1 D5:1 E5:2 D5:1 B4:1 A4:2", 7: "G4:2 A4:2 B4:2 D5:2",
    8: "F#4:1 A4:1 D5:2 C5:1 A4:1 F#4:2", 9: "A4:4 B4:1 A4:1 F#4:2",
}
DOUBLE_STOPS = {"C": ["E4", "G4"], "G": ["D4", "G4"], "D": ["F#4", "A4"]}  # Telecaster, in the chorus
CHORUS = {  # the fiddle, bar: eighths
    10: "E5:3 D5:1 C5:2 E5:2", 11: "G5:4 E5:2 C5:2", 12: "D5:3 B4:1 G4:2 B4:2",
    13: "D5:6 r:2", 14: "F#5:3 E5:1 D5:2 F#5:2", 15: "A5:4 F#5:2 D5:2",
    16: "B5:2 A5:2 G5:2 D5:2", 17: "G5:6 r:2", 18: "A5:2 F#5:2 D5:2 C5:2", 19: "B4:7",
}


def compose(seed: int = SEED) -> Song:
    """Country two-step in G, 120 bpm: boom-chick bass and strum, Telecaster, fiddle chorus."""
    s = Song("country", "Gravel Road Home", 120, seed, timing_ms=6)
    bass = s.track("Bass", 0, 33, volume=108, pan=64, reverb=20)
    ac = s.track("Acoustic guitar", 1, 25, volume=92, pan=30, reverb=35)
    tele = s.track("Telecaster", 2, 27, volume=96, pan=96, reverb=40, bendable=True)
    fid = s.track("Fiddle", 3, 110, volume=96, pan=70, reverb=50, bendable=True)
    dr = s.track("Drums", DRUM_CHANNEL, 0, volume=96, pan=64, reverb=25)

    end = len(CHORDS) - 1
    low = {k: p(n) for k, n in BASS_ROOTS.items()}
    for bar, ch in enumerate(CHORDS[:end]):
        b0, r = bar * 4, low[ch]
        nxt = CHORDS[bar + 1]
        # bass: root on one, fifth on three, a walk-up into a new chord
        s.note(bass, b0, 0.9, r, 104)
        if nxt != ch and bar >= 1:
            for i, step in enumerate((0, 2, 4)):
                s.note(bass, b0 + 2 + i * 0.5 + (0.5 if i else 0), 0.45, r + step + (0 if i else 7), 90)
        else:  # the fifth below where the one above would leave the bass's range
            s.note(bass, b0 + 2, 0.9, r + 7 if r + 7 < p("C3") else r - 5, 96)
        # acoustic guitar: bass note, then strums on the backbeat (boom-chick)
        notes = [p(n) for n in SHAPES[ch]]
        s.note(ac, b0, 0.45, notes[0], 84)
        s.note(ac, b0 + 2, 0.45, notes[1] if ch != "D" else notes[0] + 7, 80)
        for off, vel in ((1, 80), (1.5, 60), (3, 82), (3.5, 62)):
            s.chord(ac, b0 + off, 0.4, notes[1:], vel, strum=0.012)
    s.chord(ac, end * 4, 3.5, [p(n) for n in SHAPES["G"]], 90, strum=0.03)
    s.note(bass, end * 4, 3.5, low["G"], 104)

    for bar, line in VERSE.items():
        phrase(s, tele, bar, line, 92, bend_on=(0, 2) if bar in (3, 6, 9) else ())
    for bar in range(10, 18):
        for off in (1.5, 3.5):
            s.chord(tele, bar * 4 + off, 0.3, [p(n) for n in DOUBLE_STOPS[CHORDS[bar]]], 70)
    for bar, line in CHORUS.items():
        phrase(s, fid, bar, line, 94, bend_on=(0,) if bar in (11, 15) else (), vibrato=0.2)

    # drums: kick on one and three, snare on two and four (a side stick in the intro),
    # light eighths on the hat
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
