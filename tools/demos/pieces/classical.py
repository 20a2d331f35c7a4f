"""Classical: a small piano sonatina in C major over an Alberti bass, 100 bpm, ABA' with a ritardando."""

from __future__ import annotations

from ..score import SUSTAIN, Song, p

SEED = 1501
DRIVE_DB = 0.0  # no limiting: a piano keeps its dynamics
DESCRIPTION = "A small piano sonatina in C major over an Alberti bass, with a ritardando at the end."

# the harmony of each bar: (beat, chord); "cad" and "end" are the cadence and the final chord
HARMONY = [
    [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "G"), (2, "G7")],
    [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "C"), (2, "cad")],
    [(0, "Am")], [(0, "Dm")], [(0, "G7")], [(0, "G7")],
    [(0, "C")], [(0, "F")], [(0, "C64"), (2, "G7")], [(0, "end")],
]
ALBERTI = {  # the left hand's sixteenths: low, high, middle, high
    "C": "C3 G3 E3 G3", "F": "C3 A3 F3 A3", "C64": "G2 E3 C3 E3",
    "G7": "G2 F3 B2 F3", "G": "G2 D3 B2 D3", "Am": "A2 E3 C3 E3", "Dm": "D3 A3 F3 A3",
}
PITCH_CLASSES = {"C": {0, 4, 7}, "F": {5, 9, 0}, "C64": {0, 4, 7}, "G7": {7, 11, 2, 5},
                 "G": {7, 11, 2}, "Am": {9, 0, 4}, "Dm": {2, 5, 9}, "cad": {0, 4, 7}, "end": {0, 4, 7}}
MELODY = [  # a bar a line, note:beats
    "C5:2 E5:1 G5:1", "A5:3 G5:.5 F5:.5", "E5:1 G5:1 D5:1 F5:1",
    "D5:2 G5:.5 F5:.5 E5:.5 D5:.5",
    "C5:2 E5:1 G5:1", "A5:2 C6:1 A5:1", "G5:1 E5:1 F5:.5 E5:.5 D5:1", "C5:3 B4:.5 D5:.5",
    "E5:1.5 D5:.5 C5:1 E5:1", "F5:1.5 E5:.5 D5:1 F5:1", "G5:1.5 F5:.5 E5:1 D5:1",
    "D5:.5 E5:.5 F5:.5 G5:.5 A5:.5 G5:.5 F5:.5 D5:.5",
    "C5:2 E5:1 G5:1", "A5:2 C6:1 A5:1",
    "G5:.5 A5:.5 G5:.5 E5:.5 D5:.5 E5:.5 F5:.5 D5:.5", "C5:4",
]
# dynamics per bar: (melody, accompaniment) velocity; a crescendo through the B section
DYNAMICS = [(70, 46)] * 8 + [(72, 48), (76, 50), (80, 53), (84, 56)] + [(84, 54), (86, 55), (80, 52), (74, 48)]


def compose(seed: int = SEED) -> Song:
    """A small piano sonatina in C major with an Alberti bass, 100 bpm."""
    s = Song("classical", "Sonatina in C", 100, seed, timing_ms=9, vel_spread=3.5)
    pno = s.track("Piano", 0, 0, volume=112, pan=64, reverb=80)

    # tempo: slight broadening at phrase ends, ritardando into the final chord
    s.tempo(7 * 4 + 3, 92)
    s.tempo(8 * 4, 100)
    s.tempo(11 * 4 + 2, 96)
    s.tempo(12 * 4, 100)
    for i, bpm in enumerate((96, 90, 84, 78)):
        s.tempo(14 * 4 + i, bpm)
    s.tempo(15 * 4, 64)

    def chord_at(bar, beat):
        name = HARMONY[bar][0][1]
        for b, n in HARMONY[bar]:
            if b <= beat:
                name = n
        return name

    for bar in range(16):
        mv, av = DYNAMICS[bar]
        b0 = bar * 4
        # right hand
        beat = 0.0
        for tok in MELODY[bar].split():
            name, dur = tok.split(":")
            dur = float(dur)
            if name != "-":
                accent = 6 if beat == 0 else 3 if beat == 2 else -4 if beat % 1 else 0
                pitch = p(name)
                hold = dur * (0.97 if dur >= 1 else 0.9)  # detached short notes, legato long ones
                s.note(pno, b0 + beat, hold, pitch, mv + accent)
                if 12 <= bar < 15 and dur >= 1:  # second-time thickening: a chord tone below
                    below = next(q for q in range(pitch - 3, pitch - 13, -1)
                                 if q % 12 in PITCH_CLASSES[chord_at(bar, beat)])
                    s.note(pno, b0 + beat, hold, below, mv - 14)
            beat += dur
        # left hand
        segs = HARMONY[bar]
        for i, (start, name) in enumerate(segs):
            stop = segs[i + 1][0] if i + 1 < len(segs) else 4
            if name == "cad":  # cadence: low octave under the held tonic
                s.chord(pno, b0 + start, 1.9, [p("C2"), p("C3")], av + 8)
                s.cc(pno, b0 + start + 0.06, SUSTAIN, 100)
                s.cc(pno, b0 + 3.96, SUSTAIN, 0)
                continue
            if name == "end":
                s.chord(pno, b0, 4.0, [p("C2"), p("C3"), p("G3")], av + 6, strum=0.05)
                s.chord(pno, b0 + 0.12, 3.9, [p("E4"), p("G4")], mv - 10, strum=0.04)
                s.cc(pno, b0 + 0.05, SUSTAIN, 127)
                s.cc(pno, b0 + 4.5, SUSTAIN, 0)
                continue
            pat = [p(n) for n in ALBERTI[name].split()]
            x = start
            while x < stop - 1e-9:
                k = int(round((x - start) * 4)) % 4
                s.note(pno, b0 + x, 0.24, pat[k], av + (5 if k == 0 else 0))
                x += 0.25
            # the pedal goes down just after the change and up just before the next, so
            # one harmony never rings into the other
            s.cc(pno, b0 + start + 0.06, SUSTAIN, 100)
            s.cc(pno, b0 + stop - 0.04, SUSTAIN, 0)

    s.end_beat = 16 * 4 + 0.5
    return s
