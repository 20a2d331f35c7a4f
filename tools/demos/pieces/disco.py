"""Disco: four on the floor in A minor at 120 bpm, drum intro, string-stab groove, a melody section."""

from __future__ import annotations

from ..score import (CLAP, CRASH, DRUM_CHANNEL, HAT, KICK, OPEN_HAT, SNARE, TAMBOURINE, TOM_FLOOR,
                     TOM_HIGH, TOM_LOW, TOM_MID, Song, p)

SEED = 1401
DRIVE_DB = 3.5  # limiter drive in mastering
DESCRIPTION = "Four-on-the-floor kick, open hi-hats on the offbeats, octave synth bass and string stabs."

VOICINGS = {
    "Am7": ["A3", "C4", "E4", "G4"], "Dm7": ["A3", "C4", "D4", "F4"],
    "Fmaj7": ["F3", "A3", "C4", "E4"], "Em7": ["G3", "B3", "D4", "E4"],
    "G": ["G3", "B3", "D4", "G4"], "Cmaj7": ["G3", "B3", "C4", "E4"],
    "E7": ["G#3", "B3", "D4", "E4"],
}
BASS_ROOTS = {"Am7": "A1", "Dm7": "D2", "Fmaj7": "F1", "Em7": "E1", "G": "G1", "Cmaj7": "C2", "E7": "E1"}
SECTION_A = ["Am7", "Am7", "Dm7", "Dm7", "Am7", "Am7", "Fmaj7", "E7"]
SECTION_B = ["Fmaj7", "G", "Em7", "Am7", "Dm7", "G", "Cmaj7", "E7"]
CHORDS = [None, "Am7"] + SECTION_A + SECTION_B + ["Am7", "Am7"]  # bars 0..19; bar 0 is drums alone
# string stabs, (beat, beats), alternating by bar
STAB_A = [(0, 0.3), (1.5, 0.3), (2.5, 0.3), (3, 0.6)]
STAB_B = [(0.5, 0.3), (1.5, 0.3), (2.75, 0.25), (3.5, 0.4)]
MINOR_SCALE = [0, 2, 3, 5, 7, 8, 10]  # natural minor, for the runs
# the string melody of section B: (bar, beat, beats, note)
MELODY = [
    (10, 0, 1.5, "A5"), (10, 1.5, 0.5, "G5"), (10, 2, 1, "A5"), (10, 3, 1, "C6"),
    (11, 0, 3, "B5"), (11, 3, 1, "G5"),
    (12, 0, 1.5, "G5"), (12, 1.5, 0.5, "E5"), (12, 2, 1, "G5"), (12, 3, 1, "B5"),
    (13, 0, 3.5, "A5"),
    (14, 0, 1.5, "F5"), (14, 1.5, 0.5, "E5"), (14, 2, 1, "F5"), (14, 3, 1, "A5"),
    (15, 0, 1.5, "G5"), (15, 1.5, 0.5, "F5"), (15, 2, 1, "G5"), (15, 3, 1, "B5"),
    (16, 0, 3, "C6"), (16, 3, 1, "B5"),
    (17, 0, 2, "B5"), (17, 2, 2, "G#5"),
]


def compose(seed: int = SEED) -> Song:
    """Disco in A minor, 120 bpm: drum intro, string-stab groove, melody section."""
    s = Song("disco", "Mirrorball Strut", 120, seed, timing_ms=4)
    bass = s.track("Synth bass", 0, 38, volume=106, pan=64, reverb=10)
    strings = s.track("String stabs", 1, 48, volume=88, pan=84, reverb=60)
    melody = s.track("String melody", 2, 48, volume=92, pan=44, reverb=65)
    gtr = s.track("Rhythm guitar", 3, 28, volume=76, pan=26, reverb=25)
    ep = s.track("Electric piano", 4, 4, volume=78, pan=100, reverb=40, chorus=40)
    brass = s.track("Brass", 5, 61, volume=86, pan=64, reverb=45)
    dr = s.track("Drums", DRUM_CHANNEL, 0, volume=110, pan=64, reverb=25)

    voic = {k: [p(n) for n in v] for k, v in VOICINGS.items()}
    root = {k: p(n) for k, n in BASS_ROOTS.items()}
    last = len(CHORDS) - 1

    # octave-jumping bass with sixteenth pickups into chord changes
    for bar in range(1, last):
        ch, nxt = CHORDS[bar], CHORDS[bar + 1]
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
    for bar in list(range(2, 10)) + [18]:
        for off, dur in (STAB_A if bar % 2 == 0 else STAB_B):
            s.chord(strings, bar * 4 + off, dur, [n + 12 for n in voic[CHORDS[bar]]], 96)
    for bar in range(10, 18):
        s.chord(strings, bar * 4, 3.9, [n + 12 for n in voic[CHORDS[bar]][:3]], 62)
    s.chord(strings, last * 4, 2.0, [n + 12 for n in voic["Am7"]], 110)

    def rip(beat, lo="A3"):  # a fast scale run up into a downbeat
        start = p(lo)
        for i in range(8):
            pitch = start + 12 * (i // 7) + MINOR_SCALE[i % 7]
            s.note(melody, beat + i / 8, 0.14, pitch + 12, 70 + 5 * i)

    rip(1 * 4 + 3)
    rip(9 * 4 + 3)
    rip(18 * 4 + 3)

    # the melody, doubled an octave below; 0.97: a breath between repeated notes
    for bar, beat, dur, name in MELODY:
        vel = 98 if beat == 0 else 90
        s.note(melody, bar * 4 + beat, dur * 0.97, p(name), vel)
        s.note(melody, bar * 4 + beat, dur * 0.97, p(name) - 12, vel - 12)

    # electric piano bed and chicken-scratch guitar
    for bar in range(2, last):
        v = voic[CHORDS[bar]]
        for off, dur, vel in ((0, 1.4, 64), (1.5, 0.45, 58), (2.5, 1.4, 62)):
            s.chord(ep, bar * 4 + off, dur, v, vel)
        for x in range(16):
            s.chord(gtr, bar * 4 + x / 4, 0.12, [v[2] + 12, v[3] + 12], (62, 36, 86, 40)[x % 4])
    s.chord(ep, last * 4, 2.0, voic["Am7"], 80)

    # brass pushes into the next bar
    for bar in (3, 5, 9, 11, 13, 15, 17):
        nxt = voic[CHORDS[bar + 1]]
        s.chord(brass, bar * 4 + 3.5, 0.4, [n + 12 for n in nxt[1:]], 100)
    for off, dur in ((0, 0.3), (0.75, 0.3), (1.5, 0.6)):
        s.chord(brass, 18 * 4 + off, dur, [n + 12 for n in voic["Am7"][1:]], 96)
    s.chord(brass, last * 4, 2.0, [n + 12 for n in voic["Am7"][1:]], 108)

    # drums: four on the floor, open hats on the offbeats
    for bar in range(0, last):
        b0 = bar * 4
        for beat in range(4):
            s.hit(dr, b0 + beat, KICK, 112)
            if bar >= 1 and beat in (1, 3) and not (bar == 1 and beat == 3):  # bar 1 ends in a roll
                s.hit(dr, b0 + beat, SNARE, 96)
                s.hit(dr, b0 + beat, CLAP, 84)
            if not (beat == 0 and bar in (2, 10, 18)):  # the crash takes these downbeats
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
