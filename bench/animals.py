"""Real recorded animal calls, never seen in training: does the shipped model say they are not music?

Prints figures; asserts nothing. Run: ``python -m bench.animals [MODEL_DIR]``.

The music detector learned animal calls from synthetic chirps, trills, croaks and calls only
(``genre/training/sounds.py``). Real ones come from the package registry, as the backbone's
weights do: three bioacoustics packages ship field and lab recordings in their source
distributions, fetched by pinned version and checked against the registry's sha256:

- ``pykanto==0.1.8`` (MIT): great tit songs from Wytham Woods (1.7-5 s each), two Bengalese
  finch song bouts, two European storm petrel recordings from xeno-canto;
- ``vocalpy==0.11.1`` (BSD): a Bengalese finch song (Bengalese Finch Song Repository), four
  zebra finch songs (Sound Analysis Pro's examples), a fruit-fly courtship song;
- ``opensoundscape==0.13.2`` (MIT): ten seconds of a bird chorus.

Each is judged as an upload would be. Recordings under 1 s (the app refuses them) and ultrasonic
ones (mouse and bat calls sampled above 96 kHz, silence to a 16-kHz model) are left out. Nothing
is kept: the sources and the recordings live in a temporary folder.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path

from bench import sources
from bench.sources import extract_recordings, fetch, judge_all

SOURCES = ("pykanto==0.1.8", "vocalpy==0.11.1", "opensoundscape==0.13.2")
HIGHEST_RATE = 96_000  # Hz: recordings sampled faster hold ultrasonic calls a 16-kHz model cannot hear
AUDIO = (".wav",)


def recordings(archive: Path, folder: Path) -> list[Path]:
    """The audible recordings of 1 s or longer in a source distribution, extracted into ``folder``."""
    def name(member: str) -> str:
        parts = Path(member).parts  # package-version/.../species/recording.wav
        return f"{parts[0].rsplit('-', 1)[0]}_{parts[-2]}_{parts[-1]}"

    return extract_recordings(archive, folder, lambda m: m.lower().endswith(AUDIO), name, HIGHEST_RATE)


def collect(folder: Path) -> list[Path]:
    """Every recording of every source, in ``folder``."""
    return [path for source in SOURCES for path in recordings(fetch(source, folder), folder)]


def main() -> None:
    sources.main(__doc__, list(SOURCES), collect, partial(judge_all, what="real animal recordings"))


if __name__ == "__main__":
    main()
