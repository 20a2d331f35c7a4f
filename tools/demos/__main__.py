"""Compose and render the demo tracks that ship with the genre app.

Each piece is written to a General MIDI file in a temporary directory, rendered with
FluidSynth and the FluidR3 GM soundfont, produced (a band-limiting EQ, saturation, a
rapped voice by espeak-ng and a sung line by ``voice`` where a piece asks for them; gentle peak limiting; peak
normalised to -1 dBFS) and encoded to MP3 with ffmpeg/libmp3lame (44.1 kHz stereo,
160 kbit/s); ``demos.json`` is rewritten to list the shipped ones. Without FluidSynth or
the soundfont, a small numpy synthesiser renders the same arrangements instead.

Usage (from the repository root)::

    python -m tools.demos                            # the shipped demos, into assets/demo
    python -m tools.demos --only rock                # just one
    python -m tools.demos --only blues --out /tmp/drafts   # elsewhere, to try a change
    python -m tools.demos --engine numpy             # force the fallback synth

Needs: numpy, mido (pip); fluidsynth, fluid-soundfont-gm, ffmpeg, espeak-ng (Debian).
This is a build-time step; the app only reads the resulting MP3 files and ``demos.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from .master import PEAK_DBFS, SOURCE, dbfs, encode_mp3, master
from .midi import write_midi
from .pieces import PIECES, SHIPPED
from .render import SR, decode_to_array, find_soundfont, mix_voice, render_fluidsynth
from .synth import render_numpy
from .voice import mix_singer

DEMO_DIR = Path(__file__).resolve().parents[2] / "assets" / "demo"  # what the app reads
# the MP3 may overshoot the mastered peak (a squared-off, saturated mix does); past this
# margin in dB the track is re-levelled and encoded again
OVERSHOOT_DB = 0.5
CLIPPED = 0.999  # a decoded sample at or over this counts as clipped


def _args(argv):
    ap = argparse.ArgumentParser(prog="python -m tools.demos", description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", choices=sorted(PIECES),
                    help="render just these pieces (default: the shipped demos)")
    ap.add_argument("--out", type=Path, default=DEMO_DIR, help="output directory (default: assets/demo)")
    ap.add_argument("--engine", choices=("auto", "fluidsynth", "numpy"), default="auto")
    ap.add_argument("--soundfont", help="path to a GM soundfont (default: FluidR3_GM.sf2)")
    ap.add_argument("--keep-midi", type=Path, help="also copy the .mid files into this directory")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Render the pieces asked for, print their levels, and rewrite ``demos.json``.

    Returns
    -------
    int
        0, or 2 when a program the engine needs is missing.
    """
    args = _args(argv)
    ffmpeg = shutil.which("ffmpeg")
    if not ffmpeg:
        print("ffmpeg is needed to encode MP3 (apt-get install ffmpeg)", file=sys.stderr)
        return 2
    fluidsynth, soundfont = shutil.which("fluidsynth"), find_soundfont(args.soundfont)
    engine = args.engine
    if engine == "auto":
        engine = "fluidsynth" if fluidsynth and soundfont else "numpy"
    if engine == "fluidsynth" and not (fluidsynth and soundfont):
        print("fluidsynth and a GM soundfont are needed (apt-get install fluidsynth fluid-soundfont-gm)",
              file=sys.stderr)
        return 2
    if engine == "numpy":
        print("note: rendering with the plain numpy synthesiser (no fluidsynth/soundfont)")
    renderer = "FluidSynth + FluidR3_GM" if engine == "fluidsynth" else "the numpy fallback synth"

    args.out.mkdir(parents=True, exist_ok=True)
    index_path = args.out / "demos.json"
    entries = {}
    if index_path.exists():  # pieces not rendered this time keep their entries
        entries = {e["genre"]: e for e in json.loads(index_path.read_text())["demos"]}

    names = args.only or list(SHIPPED)
    print(f"{'file':16} {'dur s':>6} {'size kB':>8} {'peak dBFS':>10} {'RMS dBFS':>9} {'clipped':>8}")
    with tempfile.TemporaryDirectory(prefix="genre-demo-") as tmp:
        tmp = Path(tmp)
        for name in names:
            piece = PIECES[name]
            song = piece.compose()
            if engine == "fluidsynth":
                raw = render_fluidsynth(song, tmp, soundfont, fluidsynth, ffmpeg)
            else:
                raw = render_numpy(song)
            raw = mix_singer(mix_voice(raw, song, tmp), song)
            if args.keep_midi:
                args.keep_midi.mkdir(parents=True, exist_ok=True)
                write_midi(song, args.keep_midi / f"{name}.mid")
            audio = master(raw, song, piece.DRIVE_DB)
            mp3 = args.out / f"{name}.mp3"
            encode_mp3(audio, mp3, song, ffmpeg, renderer)
            check = decode_to_array(mp3, ffmpeg)
            peak = np.max(np.abs(check))
            if dbfs(peak) > PEAK_DBFS + OVERSHOOT_DB:
                audio = audio * 10 ** ((PEAK_DBFS - dbfs(peak)) / 20)
                encode_mp3(audio, mp3, song, ffmpeg, renderer)
                check = decode_to_array(mp3, ffmpeg)
                peak = np.max(np.abs(check))

            dur = len(check) / SR
            rms = math.sqrt(float(np.mean(check ** 2)))
            clipped = int(np.sum(np.abs(check) >= CLIPPED))
            print(f"{mp3.name:16} {dur:6.1f} {mp3.stat().st_size / 1000:8.0f} "
                  f"{dbfs(peak):10.2f} {dbfs(rms):9.1f} {clipped:8d}")
            if name not in SHIPPED:
                continue  # a draft: rendered, not listed
            entries[name] = {
                "file": mp3.name,
                "title": song.title,
                "genre": name,
                "duration_s": round(dur, 1),
                "description": piece.DESCRIPTION,
            }

    index = {
        "license": "CC0-1.0",
        "source": f"composed in {SOURCE}; rendered with FluidSynth and the FluidR3 GM soundfont",
        "demos": [entries[g] for g in SHIPPED if g in entries],
    }
    index_path.write_text(json.dumps(index, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
