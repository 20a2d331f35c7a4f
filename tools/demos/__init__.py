"""Compose and render the demo tracks that ship with the genre app.

Every note of these pieces is written in code by this project, one module a piece
under :mod:`tools.demos.pieces`, one for each of the ten genres: a power-chord rock
song, a four-on-the-floor disco groove, a small classical piano sonatina, a
medium-swing jazz tune, a country two-step, a metal riff over double kick, a boom-bap
hip-hop beat with a rapped verse, a one-drop reggae, a four-chord pop song with a sung
hook and a 12-bar blues shuffle (``pieces.SHIPPED``).

The parts, by what each owns:

- :mod:`.score`: the note model (``Note``, ``Track``, ``Song``), note names, drum keys
  and the phrase helpers the pieces write with;
- :mod:`.pieces`: the ten pieces, and which of them ship;
- :mod:`.midi`: a ``Song`` as a General MIDI file (``mido``);
- :mod:`.render`: FluidSynth rendering, the rapped voice (espeak-ng), ffmpeg decoding;
- :mod:`.voice`: the sung line (a small numpy singer: vowels on pitches);
- :mod:`.synth`: the plain numpy synthesiser used when FluidSynth is missing;
- :mod:`.master`: production (EQ, saturation, limiting, peak level) and MP3 encoding;
- ``__main__``: the command line, ``python -m tools.demos``.

Humanisation (timing and velocity) comes from a fixed seed per piece, so a re-render
gives the same notes every time. The audio is released under CC0 1.0.
"""
