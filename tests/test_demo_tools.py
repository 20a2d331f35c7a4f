"""The demo composer, ``python -m tools.demos``: every piece, as MIDI read back with mido.

Each piece must last what a demo may (the app's 30-60 s, ``tests/test_demo.py``), agree
with the length ``demos.json`` gives its shipped MP3, and be reproducible: its seed gives
the same notes every time, and another seed other notes (the humanisation is random).
Composing and writing MIDI needs neither FluidSynth nor ffmpeg; the whole file runs in
a second or two.
"""
from __future__ import annotations

import json
from pathlib import Path

import mido
import pytest

from tools.demos.midi import write_midi
from tools.demos.pieces import PIECES, SHIPPED

INDEX = Path(__file__).resolve().parent.parent / "assets" / "demo" / "demos.json"
DEMO_SECONDS = (30.0, 60.0)  # what tests/test_demo.py allows a shipped demo
INDEX_SLACK_S = 0.5  # demos.json rounds to 0.1 s, and the MP3 encoder pads a little


def _midi(song, path: Path) -> mido.MidiFile:
    write_midi(song, path)
    return mido.MidiFile(path)


def _notes(mid: mido.MidiFile) -> list[tuple[int, int, int, int, int]]:
    """Every note-on as (track, tick, channel, pitch, velocity), ticks counted from the start."""
    notes = []
    for i, track in enumerate(mid.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                notes.append((i, tick, msg.channel, msg.note, msg.velocity))
    return notes


@pytest.mark.parametrize("name", sorted(PIECES))
def test_piece_as_midi_has_its_length_and_its_seed_fixes_its_notes(name, tmp_path):
    piece = PIECES[name]
    song = piece.compose(piece.SEED)
    first = _midi(song, tmp_path / "first.mid")

    lo, hi = DEMO_SECONDS
    assert lo <= first.length <= hi, f"{name}: {first.length:.1f} s"
    assert first.length == pytest.approx(song.duration_s, abs=0.01)
    if name in SHIPPED:  # the shipped MP3 was rendered from these very notes
        entry = {e["genre"]: e for e in json.loads(INDEX.read_text(encoding="utf-8"))["demos"]}[name]
        assert abs(first.length - entry["duration_s"]) <= INDEX_SLACK_S
        assert entry["description"] == piece.DESCRIPTION
        assert entry["title"] == song.title

    notes = _notes(first)
    assert len(notes) > 100, f"{name}: only {len(notes)} notes"
    assert _notes(_midi(piece.compose(piece.SEED), tmp_path / "again.mid")) == notes
    assert _notes(_midi(piece.compose(piece.SEED + 1), tmp_path / "other.mid")) != notes
