"""A :class:`~tools.demos.score.Song` as a type-1 General MIDI file, written with ``mido``."""

from __future__ import annotations

import bisect
from pathlib import Path

from .score import TAIL_S, Note, Song, Track

TICKS_PER_BEAT = 480
PITCH_BEND_RANGE = 2.0  # semitones at full wheel: the General MIDI default, which FluidSynth keeps
COPYRIGHT = "CC0 1.0 - composed by the genre project"


def _trimmed_notes(track: Track) -> list[Note]:
    """Notes with same-pitch overlaps cut, so a note-off never ends a newer note."""
    by_pitch: dict[int, list[Note]] = {}
    for n in sorted(track.notes, key=lambda n: (n.pitch, n.start)):
        by_pitch.setdefault(n.pitch, []).append(Note(n.start, n.dur, n.pitch, n.vel))
    out = []
    for notes in by_pitch.values():
        for a, b in zip(notes, notes[1:]):
            if a.start + a.dur > b.start - 0.01:
                a.dur = max(0.02, b.start - a.start - 0.01)
        out.extend(notes)
    return sorted(out, key=lambda n: (n.start, n.pitch))


def write_midi(song: Song, path: Path) -> None:
    """Write ``song`` to ``path``: a conductor track (metre, tempo map), then one track a part.

    Each part sets its program and mixer controllers at tick 0, then plays its control
    changes, pitch-wheel curve and notes. Every track ends at the song's end plus the
    tail, so a renderer keeps the reverb's release.

    Parameters
    ----------
    song : Song
        The arrangement.
    path : Path
        The ``.mid`` file to write.
    """
    # imported here, not at the top: the numpy synthesiser renders without MIDI, so the
    # tool runs without mido unless FluidSynth or --keep-midi asks for a file
    import mido

    def tick(beat):
        return int(round(beat * TICKS_PER_BEAT))

    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    end_tick = tick(song.end_beat + TAIL_S * song.bpm_at(song.end_beat) / 60.0)

    def emit(events, name):
        # events: (tick, order, message); at one tick, note-offs (0) come before
        # controllers (1), bends (2) and note-ons (3), so a repeated note is struck again
        trk = mido.MidiTrack()
        trk.append(mido.MetaMessage("track_name", name=name, time=0))
        now = 0
        for t, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            trk.append(msg.copy(time=t - now))
            now = t
        trk.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
        mid.tracks.append(trk)

    conductor = [(0, 0, mido.MetaMessage("time_signature", numerator=4, denominator=4))]
    conductor.append((0, 0, mido.MetaMessage("copyright", text=COPYRIGHT)))
    for beat, bpm in song.tempos:
        conductor.append((tick(beat), 1, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    emit(conductor, song.title)

    for tr in song.tracks:
        ch = tr.channel
        ev = [
            (0, 1, mido.Message("program_change", channel=ch, program=tr.program)),
            (0, 1, mido.Message("control_change", channel=ch, control=7, value=tr.volume)),
            (0, 1, mido.Message("control_change", channel=ch, control=10, value=tr.pan)),
            (0, 1, mido.Message("control_change", channel=ch, control=91, value=tr.reverb)),
            (0, 1, mido.Message("control_change", channel=ch, control=93, value=tr.chorus)),
        ]
        for beat, control, value in tr.controls:
            ev.append((tick(beat), 1, mido.Message("control_change", channel=ch, control=control, value=value)))
        starts = sorted(n.start for n in tr.notes)
        for beat, semis, owner in tr.bends:
            nxt = bisect.bisect_right(starts, owner)
            if nxt < len(starts) and beat >= starts[nxt]:
                continue  # the next note has begun: drop the rest of this note's curve
            val = max(-8192, min(8191, int(round(semis / PITCH_BEND_RANGE * 8191))))
            ev.append((tick(beat), 2, mido.Message("pitchwheel", channel=ch, pitch=val)))
        for n in _trimmed_notes(tr):
            on = tick(n.start)
            off = max(on + 1, tick(n.start + n.dur))
            ev.append((on, 3, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.vel)))
            ev.append((off, 0, mido.Message("note_off", channel=ch, note=n.pitch, velocity=0)))
        emit(ev, tr.name)
    mid.save(str(path))
