"""Hip-hop: boom-bap in D minor at 90 bpm, a Rhodes loop, sub bass and a rapped verse."""

from __future__ import annotations

from ..score import CLAP, DRUM_CHANNEL, HAT, KICK, OPEN_HAT, SNARE, Song, p

SEED = 1901
DRIVE_DB = 4.0  # limiter drive in mastering
DESCRIPTION = ("Boom-bap at 90 bpm: hard kick and snare, swung hi-hats, an 808 sub bass, a dusty Rhodes "
               "loop and a rapped verse (by a speech synthesiser).")

BARS = 16
LOOP = [  # the four-bar Rhodes loop: (chord, voicing, bass root)
    ("Dm9", ["F3", "A3", "C4", "E4"], "D1"), ("Bbmaj7", ["F3", "A3", "D4"], "Bb0"),
    ("Gm9", ["F3", "Bb3", "D4", "A4"], "G1"), ("A7", ["G3", "C#4", "E4"], "A1"),
]
RHYMES = [  # a line a bar from bar 2, spoken by espeak-ng (see render.mix_voice)
    "Late night session, the red light on", "Needle drops and the loop rolls on",
    "Basement tape and the beat goes round", "Eight oh eight with the heavy sound",
    "Dusty keys from a record crate", "Head nod slow and the night runs late",
    "Mic check one two, hear the snare", "Every rhyme hanging in the air",
    "City hums and the train rolls by", "Pen to the pad and I'm aiming high",
    "Kick on the one and the snare on the two", "Old school loop but the words are new",
    "Turn it up, let the speakers knock", "Basement tape, we rock the block",
]


def compose(seed: int = SEED) -> Song:
    """Boom-bap in D minor, 90 bpm: hard kick and snare, swung hats, sub bass, a Rhodes loop."""
    s = Song("hiphop", "Basement Tape", 90, seed, timing_ms=4)
    sub = s.track("Sub bass", 0, 38, volume=112, pan=64, reverb=5)
    keys = s.track("Rhodes loop", 1, 4, volume=90, pan=50, reverb=35, chorus=30)
    stab = s.track("Horn stab", 2, 61, volume=80, pan=80, reverb=30)
    dr = s.track("Drums", DRUM_CHANNEL, 25, volume=120, pan=64, reverb=10)  # TR-808 kit
    s.band = (30.0, 5000.0)  # a sampled loop: dusty highs
    s.saturation = 2.0

    for bar in range(BARS):
        _, voicing, root_name = LOOP[bar % 4]
        root = p(root_name)
        b0 = bar * 4
        for off, dur in ((0, 1.4), (1.75, 0.6), (2.5, 1.2)):
            s.chord(keys, b0 + off, dur, [p(n) for n in voicing], 72 if off == 0 else 60)
        if bar >= 2:  # sub bass: long notes with a pickup
            s.note(sub, b0, 1.4, root + 12, 110)
            s.note(sub, b0 + 1.75, 0.5, root + 12, 96)
            s.note(sub, b0 + 2.5, 1.2, root + 12 + (7 if bar % 2 else 0), 104)
        if bar >= 4 and bar % 4 == 3:
            s.chord(stab, b0 + 3.5, 0.3, [p("A4"), p("C#5"), p("E5")], 96)
        if bar < 1:  # the loop plays a bar alone before the drums drop
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
    # 3.7 of 4 beats: each line ends a breath before the next bar
    s.lines = [(bar * 4 + 0.0, 3.7, words) for bar, words in enumerate(RHYMES, start=2)]
    s.voice = ("en-us+m1", 20, 6.0)  # a low voice, up front
    s.chord(keys, BARS * 4, 2.0, [p("F3"), p("A3"), p("C4"), p("E4")], 70)
    s.note(sub, BARS * 4, 2.0, p("D2"), 110)
    s.hit(dr, BARS * 4, KICK, 120)

    s.end_beat = BARS * 4 + 2.0
    return s
