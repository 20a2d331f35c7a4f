"""Rock: power chords in E at 118 bpm, intro riff, verse, chorus and ending; a warm 70s mix."""

from __future__ import annotations

from ..score import (CRASH, DRUM_CHANNEL, HAT, KICK, RIDE, SNARE, TOM_FLOOR, TOM_HIGH, TOM_LOW,
                     TOM_MID, Song, p)

SEED = 1301
DRIVE_DB = 4.0  # limiter drive in mastering
DESCRIPTION = ("Distorted power-chord riff in E, driving eighth-note bass and a backbeat with crashes, "
               "mixed warm like a 70s record.")

GUITAR_ROOTS = {c: p(n) for c, n in zip("EGABCD", ("E2", "G2", "A2", "B2", "C3", "D3"))}
BASS_ROOTS = {c: p(n) for c, n in zip("EGABCD", ("E1", "G1", "A1", "B1", "C2", "D2"))}
# riffs, a bar each: (beat, beats, chord, velocity, palm-muted)
CHUG = [(x / 2, 0.22, "E", (98, 74, 86, 74, 88, 74)[x], True) for x in range(6)]
RIFF_A = CHUG + [(3, 0.45, "G", 108, False), (3.5, 0.45, "A", 110, False)]
RIFF_B = CHUG[:4] + [(2, 0.9, "D", 108, False), (3, 0.45, "C", 104, False), (3.5, 0.45, "D", 108, False)]
RIFF_END = CHUG[:4] + [(2, 1.9, "B", 112, False)]
CHORUS = [["A"], ["C", "D"], ["E"], ["E"], ["A"], ["C", "D"], ["B"], ["B"]]  # a bar a list, from bar 10
# lead guitar over the chorus and the last chord: (bar, beat, beats, note, bend, vibrato)
MELODY = [
    (10, 0, 1.5, "C#5", 0, 0), (10, 1.5, 0.5, "B4", 0, 0), (10, 2, 2, "A4", 0, 0.3),
    (11, 0, 2, "C5", 0, 0.3), (11, 2, 2, "D5", 0, 0.3),
    (12, 0, 3, "E5", 0, 0.35), (12, 3, 0.5, "D5", 0, 0), (12, 3.5, 0.5, "B4", 0, 0),
    (13, 0, 2, "G#4", 0, 0.3), (13, 2, 1, "B4", 0, 0), (13, 3, 1, "E5", 0, 0),
    (14, 0, 1.5, "C#5", 0, 0), (14, 1.5, 0.5, "E5", 0, 0), (14, 2, 2, "A5", 0, 0.35),
    (15, 0, 2, "G5", 0, 0.3), (15, 2, 2, "F#5", 0, 0.3),
    (16, 0, 3, "E5", 2, 0.35), (16, 3, 1, "D#5", 0, 0),
    (17, 0, 2, "D#5", 0, 0.3), (17, 2, 2, "F#5", 0, 0.3),
    (19, 0, 3.8, "D5", 2, 0.4),
]


def compose(seed: int = SEED) -> Song:
    """Power-chord rock in E, 118 bpm: intro riff, verse, chorus, ending; a warm 70s mix."""
    s = Song("rock", "Overdrive Highway", 118, seed, timing_ms=5)
    s.band = (60.0, 3500.0)  # a warm, mid-heavy record: no sizzle on top
    s.saturation = 3.0  # and driven a little, like tape pushed hard
    gl = s.track("Guitar L", 0, 30, volume=98, pan=20, reverb=30)
    gr = s.track("Guitar R", 1, 30, volume=98, pan=108, reverb=30)
    bass = s.track("Bass", 2, 34, volume=110, pan=64, reverb=12)
    lead = s.track("Lead guitar", 3, 29, volume=90, pan=64, reverb=60, bendable=True)
    dr = s.track("Drums", DRUM_CHANNEL, 16, volume=112, pan=64, reverb=30)  # Power kit

    def power(guitars, beat, dur, ch, vel, muted=False):
        r = GUITAR_ROOTS[ch]
        notes = [r, r + 7] if muted else [r, r + 7, r + 12]
        for g in guitars:
            s.chord(g, beat, dur, notes, vel, strum=0.0 if muted else 0.012)

    def riff_bar(bar, riff, guitars):
        for beat, dur, ch, vel, muted in riff:
            power(guitars, bar * 4 + beat, dur, ch, vel, muted)
        # bass: eighths on whatever the riff is playing
        for x in range(8):
            ch = [c for (b, d, c, v, m) in riff if b <= x / 2][-1]
            s.note(bass, bar * 4 + x / 2, 0.42, BASS_ROOTS[ch], 100 if x % 2 == 0 else 86)

    # intro: guitars and drums; the bass joins in the verse (its intro notes are dropped, but
    # were humanised all the same, which keeps the seed's later numbers where they were)
    riff_bar(0, RIFF_A, [gl, gr])
    riff_bar(1, RIFF_B, [gl, gr])
    bass.notes.clear()
    for bar in range(2, 10):
        riff = RIFF_END if bar == 9 else (RIFF_A if bar % 2 == 0 else RIFF_B)
        riff_bar(bar, riff, [gl, gr])
    for i, ch_list in enumerate(CHORUS):
        bar = 10 + i
        for x in range(8):
            ch = ch_list[0] if x < 4 or len(ch_list) == 1 else ch_list[1]
            s.note(bass, bar * 4 + x / 2, 0.42, BASS_ROOTS[ch], 102 if x % 2 == 0 else 88)
            ring = i in (3, 7) and x == 0  # bars 13 and 17: one chord left ringing
            if i in (3, 7) and x in (1, 2, 3):
                continue
            power([gl, gr], bar * 4 + x / 2, 1.9 if ring else 0.42, ch, 110 if x % 2 == 0 else 94)
    riff_bar(18, RIFF_A, [gl, gr])
    power([gl, gr], 19 * 4, 4.0, "E", 116)
    s.chord(gl, 19 * 4, 4.0, [p("B3"), p("E4")], 96)
    s.note(bass, 19 * 4, 4.0, BASS_ROOTS["E"], 110)

    for bar, beat, dur, name, bend, vib in MELODY:
        s.note(lead, bar * 4 + beat, dur, p(name), 100 if beat % 2 == 0 else 92, bend=bend, vibrato=vib)

    # drums
    def fill(bar, start, keys):
        for i, key in enumerate(keys):
            s.hit(dr, bar * 4 + start + i / 4, key, 92 + 2 * i)

    for bar in range(0, 19):
        b0 = bar * 4
        chorus_bar = 10 <= bar < 18
        fill_from = {9: 2.0, 17: 3.0, 18: 3.0}.get(bar, 4.0)  # the beat a fill takes over
        for x in range(8):
            beat = x / 2
            if beat >= fill_from:
                break
            crash_here = x == 0 and (bar in (0, 2, 18) or (chorus_bar and bar % 2 == 0))
            if crash_here:
                s.hit(dr, b0, CRASH, 112)
            elif chorus_bar:
                s.hit(dr, b0 + beat, RIDE, 96 if x % 2 == 0 else 80)
            else:
                s.hit(dr, b0 + beat, HAT, 92 if x % 2 == 0 else 70)
        kicks = [0, 2, 2.5] + ([1.5] if bar % 2 else []) + ([3.5] if chorus_bar and bar % 2 == 0 else [])
        for k in kicks:
            if k < fill_from:
                s.hit(dr, b0 + k, KICK, 108)
        for sn in (1, 3):
            if sn < fill_from:
                s.hit(dr, b0 + sn, SNARE, 112)
    fill(9, 2.0, [TOM_HIGH, TOM_HIGH, TOM_MID, TOM_MID, TOM_LOW, TOM_LOW, TOM_FLOOR, TOM_FLOOR])
    fill(17, 3.0, [SNARE, TOM_HIGH, TOM_LOW, TOM_FLOOR])
    fill(18, 3.0, [SNARE, SNARE, TOM_MID, TOM_FLOOR])
    s.hit(dr, 19 * 4, CRASH, 120)
    s.hit(dr, 19 * 4, KICK, 118)

    s.end_beat = 19 * 4 + 4
    return s
