"""Jazz: medium swing in B-flat at 150 bpm, piano-trio intro, a tenor-sax head over ii-V-Is, tag ending."""

from __future__ import annotations

from ..score import CRASH, DRUM_CHANNEL, KICK, PEDAL_HAT, RIDE, SNARE, T, Song, chord_name, near, p, phrase

SEED = 1601
DRIVE_DB = 2.0  # limiter drive in mastering
DESCRIPTION = "Medium swing in B-flat: walking upright bass, ride cymbal, piano comping and a tenor-sax head."

# four bars of intro, the sixteen-bar head, a four-bar tag; "Dm7 G7": two beats each
BARS = (["Cm7", "F7", "Bb6", "G7"]
        + ["Cm7", "F7", "Bbmaj7", "Ebmaj7", "Am7b5", "D7", "Gm7", "Gm7",
           "Cm7", "F7", "Dm7 G7", "Cm7 F7", "Bbmaj7", "Ebmaj7", "Cm7 F7", "Bb6"]
        + ["Cm7 F7", "Dm7 G7", "Cm7 F7", "Bb6"])
# piano comping rhythms, (beat, beats): the Charleston and anticipations
COMP = [[(0, 0.55), (1 + T, 0.3)], [(T, 0.3), (2, 0.55)], [(1 + T, 0.9), (3 + T, 0.3)],
        [(0, 0.3), (2 + T, 0.9)]]
INTRO_FILL = ("D5", "F5", "A5", "C6", "Bb5", "G5", "F5", "D5")  # swung eighths in bar 3
HEAD = {  # the tenor sax, bar: eighths (see score.phrase)
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


def compose(seed: int = SEED) -> Song:
    """Medium swing in Bb, 150 bpm: piano-trio intro, tenor-sax head over ii-V-Is, tag ending."""
    s = Song("jazz", "Late Set in B-flat", 150, seed, timing_ms=7)
    bass = s.track("Upright bass", 0, 32, volume=112, pan=56, reverb=30)
    pno = s.track("Piano", 1, 0, volume=86, pan=84, reverb=45)
    sax = s.track("Tenor sax", 2, 66, volume=100, pan=44, reverb=55, bendable=True)
    dr = s.track("Drums", DRUM_CHANNEL, 32, volume=98, pan=64, reverb=40)  # Jazz kit
    s.band = (40.0, 9000.0)  # a warm room, not a bright studio

    end = len(BARS) - 1
    halves = [b.split() for b in BARS]

    def chord_at(bar, beat):
        h = halves[bar]
        return h[0] if len(h) == 1 or beat < 2 else h[1]

    # walking bass: root on one (and on three under a second chord), chord tones through the
    # bar, and a half step above or below the next bar's root on four
    for bar in range(end):
        for beat in range(4):
            pc, q = chord_name(chord_at(bar, beat))
            root = near(pc, p("G1"))
            if beat == 0 or (beat == 2 and len(halves[bar]) == 2):
                pitch = root
            elif beat == 3:
                npc, _ = chord_name(chord_at(bar + 1, 0))
                pitch = near(npc, p("G1")) + (1 if (bar + beat) % 3 else -1)
            else:
                pitch = root + q[beat]  # the third on two, the fifth on three
            s.note(bass, bar * 4 + beat, 0.9, pitch, (100, 84, 92, 84)[beat])
    pc, _ = chord_name("Bb6")
    s.note(bass, end * 4, 3.5, near(pc, p("G1")), 100)

    # piano: rootless voicings (3rd, 7th, and the 9th on major-third chords, else the 5th)
    def voicing(name):
        pc, q = chord_name(name)
        third, seventh = q[1], q[3] if len(q) > 3 else 9
        return sorted(near((pc + i) % 12, p("E3")) for i in (third, seventh, (14 if q[1] == 4 else 7)))

    for bar in range(end):
        for off, dur in COMP[(bar * 5 + bar // 4) % 4]:  # shifted each four bars: no audible loop
            s.chord(pno, bar * 4 + off, dur, voicing(chord_at(bar, off)), 62 if off % 1 else 70)
    for i, name in enumerate(INTRO_FILL):
        s.note(pno, 3 * 4 + i / 2 + (T - 0.5) * (i % 2), 0.3, p(name), 70)
    s.chord(pno, end * 4, 3.5, [p("D4"), p("G4"), p("C5"), p("F5")], 74, strum=0.03)

    for bar, line in HEAD.items():
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
        if bar in (3, 19):  # a snare-and-kick push into the head and the tag
            s.hit(dr, b0 + 3 + T, SNARE, 84)
            s.hit(dr, b0 + 3 + T, KICK, 80)
    s.hit(dr, end * 4, CRASH, 90)
    s.hit(dr, end * 4, KICK, 84)

    s.end_beat = end * 4 + 3.5
    return s
