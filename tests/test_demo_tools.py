"""The demo composer, ``python -m tools.demos``: every piece, as MIDI read back with mido.

Each piece must last what a demo may (the app's 30-60 s, ``tests/test_demo.py``), agree
with the length ``demos.json`` gives its shipped MP3, and be reproducible: its seed gives
the same notes every time, and another seed other notes (the humanisation is random).
The shipped pieces are one for each of the ten genres, and the sung line some pieces carry
(``tools.demos.voice``, mixed in after FluidSynth) sings the pitches it is given.
Composing and writing MIDI needs neither FluidSynth nor ffmpeg; the whole file runs in
a second or two.
"""
from __future__ import annotations

import json
from pathlib import Path

import mido
import numpy as np
import pytest

from tools.demos.midi import write_midi
from tools.demos.pieces import PIECES, SHIPPED
from tools.demos.render import SR
from tools.demos.score import Song, p
from tools.demos.voice import mix_singer, sing

INDEX = Path(__file__).resolve().parent.parent / "assets" / "demo" / "demos.json"
DEMO_SECONDS = (30.0, 60.0)  # what tests/test_demo.py allows a shipped demo
INDEX_SLACK_S = 0.5  # demos.json rounds to 0.1 s, and the MP3 encoder pads a little
GENRES = {"blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock"}


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


def test_one_shipped_piece_for_each_of_the_ten_genres():
    assert len(SHIPPED) == len(set(SHIPPED)) == 10
    assert set(SHIPPED) == GENRES
    assert set(SHIPPED) <= set(PIECES)


@pytest.mark.parametrize("name", ["A3", "A4", "E5"])
def test_the_singer_sings_the_pitch_it_is_given_and_the_same_every_time(name):
    song = Song("test", "Test", 120, 1)
    song.sung = [(0.0, 2.0, p(name), "a", 100)]  # one second
    voice = sing(song, 2 * SR)
    assert np.array_equal(voice, sing(song, 2 * SR))
    held = voice[int(0.3 * SR):int(0.9 * SR)]  # past the scoop, around the vibrato's centre
    spectrum = np.abs(np.fft.rfft(held * np.hanning(len(held))))
    peak_hz = np.argmax(spectrum) * SR / len(held)
    f0 = 440.0 * 2 ** ((p(name) - 69) / 12)
    k = max(1, round(peak_hz / f0))  # the strongest partial is a harmonic (the vowel's formant picks which)
    assert abs(peak_hz - k * f0) < 0.03 * k * f0, f"{peak_hz:.0f} Hz for {f0:.0f} Hz"
    fundamental = spectrum[int(f0 * 0.97 * len(held) / SR):int(f0 * 1.03 * len(held) / SR) + 1].max()
    assert fundamental > 0.05 * spectrum.max()


def test_a_piece_without_a_sung_line_is_left_as_it_is():
    raw = np.random.default_rng(0).standard_normal((SR, 2)) * 0.1
    assert mix_singer(raw, Song("test", "Test", 120, 1)) is raw
